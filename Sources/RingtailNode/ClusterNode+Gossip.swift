// Gossip rounds and failure detection: every gossip interval a node beats
// its heartbeat and sends a SYN to one random live peer, and, with the
// chance Cassandra uses (down / (live + 1)), to one peer held down, so a
// returning node is noticed; a node that knows no live peer gossips to a
// seed. A peer's heartbeat advancing in a received state is a heartbeat
// arrival for the phi-accrual detector, and its gossiped tokens, datacenter
// and rack place it in this node's ring.
import RingtailCore
import RingtailWire
import RingtailCluster

extension ClusterNode {
    /// Gossip rounds between two updates of the gossiped load.
    static let loadEveryRounds = 10

    func gossipRound() -> [NodeEffect] {
        gossip.beat()
        if gossipRounds % Self.loadEveryRounds == 0 { gossip.set("load", String(storageLoadBytes)) }
        gossipRounds += 1
        let now = clock.now()
        let syn = WireCodec.encode(Envelope(source: id, message: .gossipSyn(GossipSyn(
            clusterName: configuration.clusterName, digests: gossip.digests()))))
        guard !peers.isEmpty else { return [.gossipToSeed(frame: syn)] }
        let live = peers.filter { detector.isAlive($0, at: now) }
        let down = peers.filter { !detector.isAlive($0, at: now) }
        var effects: [NodeEffect] = []
        if !live.isEmpty {
            effects.append(.send(to: live[entropy.next(below: live.count)], frame: syn))
        } else {
            effects.append(.gossipToSeed(frame: syn))
        }
        if !down.isEmpty && entropy.next(below: live.count + 1) < down.count {
            effects.append(.send(to: down[entropy.next(below: down.count)], frame: syn))
        }
        return effects
    }

    func receiveSyn(_ syn: GossipSyn, from source: NodeID) -> [NodeEffect] {
        guard syn.clusterName == configuration.clusterName else {
            statistics.framesRejected += 1
            statistics.lastRejection = "gossip from \(source) of cluster \"\(syn.clusterName)\", this is \"\(configuration.clusterName)\""
            return []
        }
        let (requests, deltas) = gossip.examine(syn.digests)
        return [send(.gossipAck(GossipAck(requests: requests, states: deltas)), to: source)]
    }

    func receiveAck(_ ack: GossipAck, from source: NodeID) -> [NodeEffect] {
        let effects = merge(ack.states)
        let reply = gossip.deltas(for: ack.requests)
        return effects + [send(.gossipAck2(GossipAck2(states: reply)), to: source)]
    }

    /// Merges received states, feeds heartbeat arrivals to the detector,
    /// places new or moved tokens in the ring, and pulls a differing schema.
    func merge(_ states: [NodeID: EndpointState]) -> [NodeEffect] {
        let before = snapshotHeartbeats(states.keys)
        let changed = gossip.apply(states)
        guard !changed.isEmpty else { return [] }
        noteGossip(changed, before: before)
        // A peer that announced its shutdown is down now, not after the
        // conviction delay; its next generation's heartbeat brings it back.
        for node in changed where node != id && gossip.endpoints[node]?.application["status"]?.value == NodeStatus.shutdown {
            detector.remove(node)
        }
        refreshRing(changed, before: before)
        return pullSchemaIfNeeded(changed)
    }

    /// Bytes this node stores (SSTables and memtables), as gossiped load.
    var storageLoadBytes: Int {
        let s = engine.statistics
        return s.liveSSTableBytes + s.memtableBytes
    }

    static func format(tokens: [Int64]) -> String { tokens.map(String.init).joined(separator: ",") }

    /// Tokens as gossiped; nil if malformed, empty, over 4096, repeated, or
    /// holding the reserved minimum token.
    static func parse(tokens text: String) -> [Int64]? {
        var out: [Int64] = []
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            guard let t = Int64(part), t != Murmur3.minimumToken, out.count < 4096 else { return nil }
            out.append(t)
        }
        out.sort()
        for i in out.indices.dropFirst() where out[i] == out[i - 1] { return nil }
        return out.isEmpty ? nil : out
    }

    /// The (generation, version) of what places a peer in the ring: its
    /// tokens, datacenter and rack values. Unchanged means nothing to redo.
    static func placementVersion(_ state: EndpointState) -> HeartbeatState {
        let versions = ["tokens", "dc", "rack"].map { state.application[$0]?.version ?? -1 }
        return HeartbeatState(generation: state.heartbeat.generation, version: versions.max()!)
    }

    /// Places nodes whose gossiped tokens or location changed since they
    /// were last placed (most merges carry only heartbeats: nothing to do).
    /// New endpoints (no heartbeat `before` the merge) join `peers`.
    func refreshRing(_ changed: [NodeID], before: [NodeID: HeartbeatState]) {
        var moved = false
        for node in changed where node != id {
            guard let state = gossip.endpoints[node] else { continue }
            if before[node] == nil, !peers.contains(node) {
                peers.append(node)
                peers.sort()
            }
            let version = Self.placementVersion(state)
            guard placedVersions[node] != version else { continue }
            placedVersions[node] = version
            guard let text = state.application["tokens"]?.value, let tokens = Self.parse(tokens: text),
                  let dc = state.application["dc"]?.value, let rack = state.application["rack"]?.value else { continue }
            let location = NodeLocation(datacenter: dc, rack: rack)
            if ring.location(of: node) == location && ring.tokens(of: node) == tokens { continue }
            let (placed, refused) = ring.placing(node, at: location, tokens: tokens)
            statistics.tokenConflicts += refused
            ring = placed
            moved = true
        }
        if moved { adoptRing() }
    }

    /// After the ring changed: datacenters, routes, counters.
    func adoptRing() {
        datacenters = [:]
        for n in ring.nodes { datacenters[n] = ring.location(of: n)?.datacenter }
        statistics.ringChanges += 1
        rebuildRoutes()
    }

    /// This node is stopping: its gossip status says so, and every live
    /// peer is told at once, so they hint and route around it without
    /// waiting for the failure detector (Cassandra's shutdown announcement).
    public func announceShutdown() -> [NodeEffect] {
        gossip.set("status", NodeStatus.shutdown)
        let frame = WireCodec.encode(Envelope(source: id, message: .gossipAck2(GossipAck2(states: [id: gossip.endpoints[id]!]))))
        return peers.filter { isAlive($0) }.map { .send(to: $0, frame: frame) }
    }

    /// Takes `tokens` as this node's own (a node that started without
    /// tokens, once it has learned the ring) and gossips them.
    public func assign(tokens: [Int64]) {
        precondition(!isJoined, "\(id) already has tokens")
        ring = ring.placing(id, at: configuration.location, tokens: tokens).ring
        adoptRing()
        gossip.set("tokens", Self.format(tokens: ring.tokens(of: id)))
        gossip.set("status", NodeStatus.normal)
    }

    func snapshotHeartbeats(_ nodes: some Collection<NodeID>) -> [NodeID: HeartbeatState] {
        var out: [NodeID: HeartbeatState] = [:]
        for n in nodes { out[n] = gossip.endpoints[n]?.heartbeat }
        return out
    }

    /// Feeds heartbeat arrivals to the failure detector for nodes whose
    /// heartbeat moved forward in the last merge.
    func noteGossip(_ changed: [NodeID], before: [NodeID: HeartbeatState]) {
        let now = clock.now()
        for node in changed where node != id {
            guard let after = gossip.endpoints[node]?.heartbeat else { continue }
            if before[node].map({ after > $0 }) ?? true {
                detector.heartbeat(from: node, at: now)
            }
        }
    }
}
