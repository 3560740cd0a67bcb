// Consistency levels: how many replicas, and which, must answer before a
// coordinator replies. Pure arithmetic over a replica set; the coordinator
// state machines use it to fail fast with Unavailable and to decide when a
// request is done. Semantics follow Cassandra; see docs/internals/consistency.md.
import RingtailCore

/// How many replicas must acknowledge a write or answer a read.
public enum ConsistencyLevel: String, Hashable, Sendable, CaseIterable, CustomStringConvertible {
    /// Writes only: one acknowledgement, or a hint stored by the coordinator.
    case any
    case one, two, three
    /// A majority of all replicas, over every datacenter.
    case quorum
    /// One replica in the coordinator's datacenter.
    case localOne
    /// A majority of the replicas in the coordinator's datacenter.
    case localQuorum
    /// A majority of the replicas in every datacenter (NetworkTopologyStrategy only).
    case eachQuorum
    case all

    public var description: String {
        switch self {
        case .localOne: return "LOCAL_ONE"
        case .localQuorum: return "LOCAL_QUORUM"
        case .eachQuorum: return "EACH_QUORUM"
        default: return rawValue.uppercased()
        }
    }

    /// Parses Cassandra's spelling (`QUORUM`, `local_quorum`, `LOCAL_ONE`, …).
    public init?(cassandraName: String) {
        let normalized = cassandraName.lowercased().replacingUnderscoresWithCamelCase()
        self.init(rawValue: normalized)
    }

    public var isDatacenterLocal: Bool { self == .localOne || self == .localQuorum }

    static func quorum(of replicas: Int) -> Int { replicas / 2 + 1 }
}

/// Why a consistency level cannot be used, or cannot be met right now.
public enum ConsistencyError: Error, Hashable, Sendable, CustomStringConvertible {
    /// Too few replicas are alive (by the failure detector) to meet the level:
    /// answered at once, never after a wait.
    case unavailable(level: ConsistencyLevel, required: Int, alive: Int)
    /// The level makes no sense for this request or keyspace.
    case invalidRequest(String)

    public var description: String {
        switch self {
        case .unavailable(let level, let required, let alive):
            return "Unavailable: \(level) needs \(required) live replica(s), \(alive) alive"
        case .invalidRequest(let message):
            return "Invalid request: \(message)"
        }
    }
}

/// What a level needs from one token's replica set: a count over all
/// replicas, a count in one datacenter, or a count in every datacenter.
public enum ReplicaRequirement: Hashable, Sendable {
    /// Any `count` replicas; `hintsCount` is true for ANY.
    case anywhere(count: Int, hintsCount: Bool)
    case inDatacenter(String, count: Int)
    case inEachDatacenter([String: Int])

    /// The total number of acknowledgements needed.
    public var total: Int {
        switch self {
        case .anywhere(let n, _): return n
        case .inDatacenter(_, let n): return n
        case .inEachDatacenter(let m): return m.values.reduce(0, +)
        }
    }
}

extension ConsistencyLevel {
    /// The requirement of this level for a keyspace with `strategy`, seen
    /// from a coordinator in `localDatacenter`.
    public func requirement(strategy: ReplicationStrategy, localDatacenter: String,
                            isWrite: Bool) throws(ConsistencyError) -> ReplicaRequirement {
        if self == .any && !isWrite { throw .invalidRequest("ANY is for writes only") }
        let rf = strategy.totalReplicationFactor
        switch self {
        case .any: return .anywhere(count: 1, hintsCount: true)
        case .one: return .anywhere(count: 1, hintsCount: false)
        case .two: return .anywhere(count: 2, hintsCount: false)
        case .three: return .anywhere(count: 3, hintsCount: false)
        case .quorum: return .anywhere(count: Self.quorum(of: rf), hintsCount: false)
        case .all: return .anywhere(count: rf, hintsCount: false)
        case .localOne: return .inDatacenter(localDatacenter, count: 1)
        case .localQuorum:
            // With SimpleStrategy every replica counts toward the whole
            // factor (as Cassandra does), but only local ones are counted.
            return .inDatacenter(localDatacenter, count: Self.quorum(of: strategy.replicationFactor(in: localDatacenter)))
        case .eachQuorum:
            guard case .networkTopology(let factors) = strategy else {
                throw .invalidRequest("EACH_QUORUM needs NetworkTopologyStrategy")
            }
            var need: [String: Int] = [:]
            for (dc, f) in factors where f > 0 { need[dc] = Self.quorum(of: f) }
            return .inEachDatacenter(need)
        }
    }
}

extension ReplicaRequirement {
    /// Checks that enough of `replicas` are alive to meet the requirement;
    /// throws `.unavailable(required, alive)` otherwise. ANY is always
    /// available (a hint can be stored).
    public func checkAvailable(level: ConsistencyLevel, replicas: some Collection<NodeID>, isAlive: (NodeID) -> Bool,
                               datacenterOf: (NodeID) -> String?) throws(ConsistencyError) {
        switch self {
        case .anywhere(let n, let hints):
            if hints { return }
            let alive = replicas.count { isAlive($0) }
            if alive < n { throw .unavailable(level: level, required: n, alive: alive) }
        case .inDatacenter(let dc, let n):
            let alive = replicas.count { datacenterOf($0) == dc && isAlive($0) }
            if alive < n { throw .unavailable(level: level, required: n, alive: alive) }
        case .inEachDatacenter(let need):
            for (dc, n) in need.sorted(by: { $0.key < $1.key }) {
                let alive = replicas.count { datacenterOf($0) == dc && isAlive($0) }
                if alive < n { throw .unavailable(level: level, required: n, alive: alive) }
            }
        }
    }

    /// True once `acknowledged` (distinct replicas that answered) meets the
    /// requirement. `hintStored` satisfies ANY.
    public func isSatisfied(by acknowledged: some Collection<NodeID>, hintStored: Bool = false,
                            datacenterOf: (NodeID) -> String?) -> Bool {
        switch self {
        case .anywhere(let n, let hints):
            return acknowledged.count >= n || (hints && hintStored)
        case .inDatacenter(let dc, let n):
            return acknowledged.count { datacenterOf($0) == dc } >= n
        case .inEachDatacenter(let need):
            return need.allSatisfy { dc, n in acknowledged.count { datacenterOf($0) == dc } >= n }
        }
    }
}

extension ReplicaRequirement {
    /// Whether a replica in `datacenter` counts toward this requirement.
    public func counts(datacenter: String?) -> Bool {
        switch self {
        case .anywhere: return true
        case .inDatacenter(let dc, _): return datacenter == dc
        case .inEachDatacenter(let need): return need[datacenter ?? ""] != nil
        }
    }

    /// How many of `answered` count toward the requirement: only replicas
    /// in the right datacenter, and (EACH_QUORUM) at most each
    /// datacenter's share, since extra answers in one cannot make up for
    /// another. What a Timeout reports as `received`.
    public func counted(_ answered: some Collection<NodeID>, datacenterOf: (NodeID) -> String?) -> Int {
        switch self {
        case .anywhere: return answered.count
        case .inDatacenter(let dc, _): return answered.count { datacenterOf($0) == dc }
        case .inEachDatacenter(let need):
            return need.reduce(0) { sum, entry in sum + min(entry.value, answered.count { datacenterOf($0) == entry.key }) }
        }
    }
}

extension String {
    /// "local_quorum" -> "localQuorum".
    fileprivate func replacingUnderscoresWithCamelCase() -> String {
        var out = ""
        var upper = false
        for ch in self {
            if ch == "_" { upper = true; continue }
            out += upper ? ch.uppercased() : String(ch)
            upper = false
        }
        return out
    }
}
