// Consistency levels: required counts for every level and strategy,
// Unavailable with the numbers, and when acknowledgements satisfy a level.
import RingtailCore
import RingtailCluster
import Testing

@Suite struct ConsistencyLevelTests {
    let nts = ReplicationStrategy.networkTopology(["dc1": 3, "dc2": 2])
    let dcOf: (NodeID) -> String? = { String($0.name.prefix(3)) }
    let replicas = ["dc1-a", "dc1-b", "dc1-c", "dc2-a", "dc2-b"].map(NodeID.init)

    @Test func requiredCountsMatchCassandra() throws {
        let simple = ReplicationStrategy.simple(replicationFactor: 3)
        func total(_ level: ConsistencyLevel, _ s: ReplicationStrategy) throws -> Int {
            try level.requirement(strategy: s, localDatacenter: "dc1", isWrite: true).total
        }
        #expect(try total(.one, simple) == 1)
        #expect(try total(.two, simple) == 2)
        #expect(try total(.three, simple) == 3)
        #expect(try total(.quorum, simple) == 2)
        #expect(try total(.all, simple) == 3)
        #expect(try total(.quorum, nts) == 3) // 5 replicas
        #expect(try total(.all, nts) == 5)
        #expect(try total(.localQuorum, nts) == 2) // dc1 has 3
        #expect(try total(.localOne, nts) == 1)
        #expect(try nts.requirementForEachQuorum() == .inEachDatacenter(["dc1": 2, "dc2": 2]))
        #expect(throws: ConsistencyError.self) { _ = try ConsistencyLevel.eachQuorum.requirement(strategy: simple, localDatacenter: "dc1", isWrite: true) }
        #expect(throws: ConsistencyError.self) { _ = try ConsistencyLevel.any.requirement(strategy: simple, localDatacenter: "dc1", isWrite: false) }
        #expect(ConsistencyLevel(cassandraName: "LOCAL_QUORUM") == .localQuorum)
        #expect(ConsistencyLevel(cassandraName: "each_quorum") == .eachQuorum)
        #expect(ConsistencyLevel(cassandraName: "QUORUM") == .quorum)
        #expect(ConsistencyLevel(cassandraName: "SERIAL") == nil)
    }

    @Test func unavailableCarriesRequiredAndAlive() throws {
        let down: Set<String> = ["dc1-a", "dc1-b", "dc2-a"]
        let alive: (NodeID) -> Bool = { !down.contains($0.name) }
        func check(_ level: ConsistencyLevel) throws {
            try level.requirement(strategy: nts, localDatacenter: "dc1", isWrite: true)
                .checkAvailable(level: level, replicas: replicas, isAlive: alive, datacenterOf: dcOf)
        }
        try check(.one)
        try check(.two)
        try check(.any)
        try check(.localOne)
        #expect(throws: ConsistencyError.unavailable(level: .quorum, required: 3, alive: 2)) { try check(.quorum) }
        #expect(throws: ConsistencyError.unavailable(level: .localQuorum, required: 2, alive: 1)) { try check(.localQuorum) }
        #expect(throws: ConsistencyError.unavailable(level: .eachQuorum, required: 2, alive: 1)) { try check(.eachQuorum) }
        #expect(throws: ConsistencyError.unavailable(level: .all, required: 5, alive: 2)) { try check(.all) }
        // A level above the replication factor is unavailable, never a hang.
        let rf2 = ReplicationStrategy.simple(replicationFactor: 2)
        #expect(throws: ConsistencyError.unavailable(level: .three, required: 3, alive: 2)) {
            try ConsistencyLevel.three.requirement(strategy: rf2, localDatacenter: "dc1", isWrite: true)
                .checkAvailable(level: .three, replicas: replicas.prefix(2), isAlive: { _ in true }, datacenterOf: dcOf)
        }
    }

    @Test func acknowledgementsSatisfyLevels() throws {
        func req(_ level: ConsistencyLevel) throws -> ReplicaRequirement {
            try level.requirement(strategy: nts, localDatacenter: "dc1", isWrite: true)
        }
        let remoteOnly = [NodeID("dc2-a"), NodeID("dc2-b")]
        #expect(try req(.quorum).isSatisfied(by: remoteOnly, datacenterOf: dcOf) == false)
        #expect(try req(.two).isSatisfied(by: remoteOnly, datacenterOf: dcOf))
        #expect(try req(.localOne).isSatisfied(by: remoteOnly, datacenterOf: dcOf) == false)
        #expect(try req(.eachQuorum).isSatisfied(by: remoteOnly + [NodeID("dc1-a")], datacenterOf: dcOf) == false)
        #expect(try req(.eachQuorum).isSatisfied(by: remoteOnly + [NodeID("dc1-a"), NodeID("dc1-c")], datacenterOf: dcOf))
        #expect(try req(.any).isSatisfied(by: [], hintStored: true, datacenterOf: dcOf))
        #expect(try req(.one).isSatisfied(by: [], hintStored: true, datacenterOf: dcOf) == false)
    }

    /// W + R > RF: any W acknowledging replicas and any R answering
    /// replicas share at least one node, for every pair of levels where the
    /// arithmetic says so (exhaustive over subsets of 5 replicas).
    @Test func overlappingLevelsIntersect() throws {
        let levels: [ConsistencyLevel] = [.one, .two, .three, .quorum, .all]
        let strategy = ReplicationStrategy.simple(replicationFactor: 5)
        let subsets = (0..<(1 << 5)).map { mask in replicas.enumerated().filter { mask & (1 << $0.offset) != 0 }.map(\.element) }
        for w in levels {
            for r in levels {
                let wr = try w.requirement(strategy: strategy, localDatacenter: "dc1", isWrite: true)
                let rr = try r.requirement(strategy: strategy, localDatacenter: "dc1", isWrite: false)
                guard wr.total + rr.total > 5 else { continue }
                for a in subsets where wr.isSatisfied(by: a, datacenterOf: dcOf) {
                    for b in subsets where rr.isSatisfied(by: b, datacenterOf: dcOf) {
                        #expect(!Set(a).isDisjoint(with: b), "\(w) + \(r)")
                    }
                }
            }
        }
    }
}

extension ReplicationStrategy {
    func requirementForEachQuorum() throws -> ReplicaRequirement {
        try ConsistencyLevel.eachQuorum.requirement(strategy: self, localDatacenter: "dc1", isWrite: true)
    }
}
