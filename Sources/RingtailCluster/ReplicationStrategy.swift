// How many copies of each token range a keyspace keeps, and where: the
// replication strategies of Cassandra (SimpleStrategy and
// NetworkTopologyStrategy). Placement itself is in ReplicaWalker.swift.
import RingtailCore

/// A keyspace's replication settings.
///
/// - `simple(replicationFactor:)`: walk the ring clockwise from a token and
///   take the first `replicationFactor` distinct nodes, ignoring datacenters
///   and racks. Meant for one-datacenter clusters and tests.
/// - `networkTopology(_:)`: a replication factor per datacenter; within each
///   datacenter replicas go to distinct racks first (see
///   docs/internals/ring.md). Datacenters not named keep no replica.
///
/// Replication factors are at least 0; a datacenter with fewer nodes than its
/// factor gets all of its nodes, and so does a ring with fewer nodes than a
/// `simple` factor.
public enum ReplicationStrategy: Hashable, Sendable, CustomStringConvertible {
    case simple(replicationFactor: Int)
    case networkTopology([String: Int])

    /// The number of replicas the strategy asks for in `datacenter`. For
    /// `simple` every datacenter counts as one: the whole factor.
    public func replicationFactor(in datacenter: String) -> Int {
        switch self {
        case .simple(let rf): return rf
        case .networkTopology(let factors): return factors[datacenter] ?? 0
        }
    }

    /// The total number of replicas asked for, over all datacenters.
    public var totalReplicationFactor: Int {
        switch self {
        case .simple(let rf): return rf
        case .networkTopology(let factors): return factors.values.reduce(0, +)
        }
    }

    public var description: String {
        switch self {
        case .simple(let rf): return "SimpleStrategy(rf: \(rf))"
        case .networkTopology(let factors):
            let parts = factors.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }
            return "NetworkTopologyStrategy(\(parts.joined(separator: ", ")))"
        }
    }
}

/// A keyspace as the cluster sees it: a name and its replication strategy.
/// Tables (RingtailStorage's `TableDefinition`) name their keyspace.
public struct KeyspaceDefinition: Hashable, Sendable {
    public var name: String
    public var replication: ReplicationStrategy

    public init(name: String, replication: ReplicationStrategy) {
        precondition(replication.totalReplicationFactor >= 0)
        self.name = name
        self.replication = replication
    }
}

extension ReplicationStrategy {
    /// `rf` replicas in each of datacenters dc1…dcD: SimpleStrategy for one
    /// datacenter, NetworkTopologyStrategy for more (the layout of the
    /// simulator's and the benchmark's clusters).
    public static func uniform(replicationFactor rf: Int, datacenters: Int) -> ReplicationStrategy {
        if datacenters == 1 { return .simple(replicationFactor: rf) }
        var factors: [String: Int] = [:]
        for d in 1...datacenters { factors["dc\(d)"] = rf }
        return .networkTopology(factors)
    }
}
