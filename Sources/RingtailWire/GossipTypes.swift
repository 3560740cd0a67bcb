// The values gossip carries between nodes: heartbeat state, versioned
// application values, endpoint states and SYN digests. They live in the wire
// layer because they are message contents; GossipState (RingtailCluster)
// holds and merges them.
import RingtailCore

/// Heartbeat state a node gossips about itself: `generation` changes at
/// each restart (so a restarted node's state supersedes the old), `version`
/// grows while it runs.
public struct HeartbeatState: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var generation: Int64
    public var version: Int64

    public init(generation: Int64, version: Int64 = 0) {
        self.generation = generation
        self.version = version
    }

    /// Ordered by generation, then version: the larger is newer.
    public static func < (a: HeartbeatState, b: HeartbeatState) -> Bool {
        a.generation != b.generation ? a.generation < b.generation : a.version < b.version
    }

    public var description: String { "\(generation):\(version)" }
}

/// An application value with the version at which it was set.
public struct VersionedValue: Hashable, Sendable {
    public var value: String
    public var version: Int64
    public init(_ value: String, version: Int64) {
        self.value = value
        self.version = version
    }
}

/// Everything gossiped about one node.
public struct EndpointState: Hashable, Sendable {
    public var heartbeat: HeartbeatState
    public var application: [String: VersionedValue]

    public init(heartbeat: HeartbeatState, application: [String: VersionedValue] = [:]) {
        self.heartbeat = heartbeat
        self.application = application
    }

    /// The largest version anywhere in the state (heartbeat or a value).
    public var maxVersion: Int64 {
        application.values.reduce(heartbeat.version) { max($0, $1.version) }
    }

    /// The part of this state newer than `version` (same generation).
    public func newer(than version: Int64) -> EndpointState {
        EndpointState(heartbeat: heartbeat, application: application.filter { $0.value.version > version })
    }
}

/// A node's (generation, max version) as carried in a SYN.
public struct GossipDigest: Hashable, Sendable {
    public var node: NodeID
    public var generation: Int64
    public var maxVersion: Int64
    public init(node: NodeID, generation: Int64, maxVersion: Int64) {
        self.node = node
        self.generation = generation
        self.maxVersion = maxVersion
    }
}

