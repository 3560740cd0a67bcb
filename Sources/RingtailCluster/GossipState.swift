// Gossip's state, as Cassandra's Gossiper keeps it: for every node, a
// heartbeat (generation, version) and versioned application values (dc,
// rack, tokens, status, schema, load). Nodes exchange digests (SYN), answer
// with what the peer lacks and what they lack (ACK), and complete with what
// was asked for (ACK2). Pure: the exchange of messages is the caller's.
import RingtailCore
import RingtailWire

/// One node's view of the cluster's gossip state.
///
/// Versions come from one counter per node (the local node's), so every
/// change the local node makes to its own state gets a larger version.
public struct GossipState: Sendable {
    public let local: NodeID
    public private(set) var endpoints: [NodeID: EndpointState]
    private var nextVersion: Int64 = 1

    /// - Parameter generation: changes at every restart (e.g. the start time in seconds).
    public init(local: NodeID, generation: Int64) {
        self.local = local
        endpoints = [local: EndpointState(heartbeat: HeartbeatState(generation: generation, version: 0))]
    }

    /// Advances the local heartbeat (once per gossip round).
    public mutating func beat() {
        endpoints[local]!.heartbeat.version = takeVersion()
    }

    /// Sets a local application value (dc, rack, tokens, status, …).
    public mutating func set(_ key: String, _ value: String) {
        endpoints[local]!.application[key] = VersionedValue(value, version: takeVersion())
    }

    private mutating func takeVersion() -> Int64 {
        defer { nextVersion += 1 }
        return nextVersion
    }

    /// The SYN: a digest of every known node, sorted by node.
    public func digests() -> [GossipDigest] {
        endpoints.keys.sorted().map { id in
            let s = endpoints[id]!
            return GossipDigest(node: id, generation: s.heartbeat.generation, maxVersion: s.maxVersion)
        }
    }

    /// Handles a peer's SYN: returns what to ask the peer for (digests
    /// carrying our version) and what the peer lacks (state deltas).
    public func examine(_ remote: [GossipDigest]) -> (requests: [GossipDigest], deltas: [NodeID: EndpointState]) {
        var requests: [GossipDigest] = []
        var deltas: [NodeID: EndpointState] = [:]
        var mentioned = Set<NodeID>()
        for digest in remote {
            mentioned.insert(digest.node)
            guard let mine = endpoints[digest.node] else {
                requests.append(GossipDigest(node: digest.node, generation: digest.generation, maxVersion: 0))
                continue
            }
            let myGeneration = mine.heartbeat.generation
            if digest.generation > myGeneration {
                requests.append(GossipDigest(node: digest.node, generation: digest.generation, maxVersion: 0))
            } else if digest.generation < myGeneration {
                deltas[digest.node] = mine
            } else if digest.maxVersion > mine.maxVersion {
                requests.append(GossipDigest(node: digest.node, generation: myGeneration, maxVersion: mine.maxVersion))
            } else if digest.maxVersion < mine.maxVersion {
                deltas[digest.node] = mine.newer(than: digest.maxVersion)
            }
        }
        // Nodes the peer did not mention at all: send them whole.
        for (id, state) in endpoints where !mentioned.contains(id) { deltas[id] = state }
        return (requests, deltas)
    }

    /// Answers requests (from an ACK): our state newer than each requested version.
    public func deltas(for requests: [GossipDigest]) -> [NodeID: EndpointState] {
        var out: [NodeID: EndpointState] = [:]
        for r in requests {
            guard let mine = endpoints[r.node] else { continue }
            if mine.heartbeat.generation > r.generation {
                out[r.node] = mine
            } else if mine.heartbeat.generation == r.generation, mine.maxVersion > r.maxVersion {
                out[r.node] = mine.newer(than: r.maxVersion)
            }
        }
        return out
    }

    /// Merges received deltas; returns the nodes whose state changed. A newer
    /// generation replaces a node's state; within a generation, only newer
    /// versions are taken; older generations are ignored. The local node's
    /// own state is never overwritten by others.
    @discardableResult
    public mutating func apply(_ deltas: [NodeID: EndpointState]) -> [NodeID] {
        var changed: [NodeID] = []
        for (id, incoming) in deltas.sorted(by: { $0.key < $1.key }) where id != local {
            guard var mine = endpoints[id] else {
                endpoints[id] = incoming
                changed.append(id)
                continue
            }
            if incoming.heartbeat.generation > mine.heartbeat.generation {
                endpoints[id] = incoming
                changed.append(id)
                continue
            }
            guard incoming.heartbeat.generation == mine.heartbeat.generation else { continue }
            var updated = false
            if incoming.heartbeat.version > mine.heartbeat.version {
                mine.heartbeat = incoming.heartbeat
                updated = true
            }
            for (key, value) in incoming.application where value.version > (mine.application[key]?.version ?? -1) {
                mine.application[key] = value
                updated = true
            }
            if updated {
                endpoints[id] = mine
                changed.append(id)
            }
        }
        return changed
    }
}
