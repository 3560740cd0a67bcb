// Replica placement: SimpleStrategy and NetworkTopologyStrategy, checked on
// hand-built rings and against a literal transcription of Cassandra's rules.

import RingtailCore
import Testing
@testable import RingtailCluster

/// Cassandra 3.x `NetworkTopologyStrategy.calculateNaturalReplicas`, written
/// as plainly as possible (sets and lists) to check `ReplicaWalker`.
func referenceNetworkTopologyReplicas(ring: TokenRing, token: Int64, factors: [String: Int]) -> [NodeID] {
    let owners = ring.tokenOwners
    let sorted = ring.tokens
    let start = sorted.firstIndex { $0 >= token } ?? 0
    var allByDC: [String: Set<NodeID>] = [:], racksByDC: [String: Set<String>] = [:]
    for node in ring.nodes {
        let loc = ring.location(of: node)!
        allByDC[loc.datacenter, default: []].insert(node)
        racksByDC[loc.datacenter, default: []].insert(loc.rack)
    }
    func wanted(_ dc: String) -> Int { min(factors[dc] ?? 0, allByDC[dc]?.count ?? 0) }
    var replicas: [NodeID] = []
    var dcReplicas: [String: Set<NodeID>] = [:], seenRacks: [String: Set<String>] = [:]
    var skipped: [String: [NodeID]] = [:]
    func sufficient(_ dc: String) -> Bool { (dcReplicas[dc]?.count ?? 0) >= wanted(dc) }
    func add(_ node: NodeID, _ dc: String) {
        if dcReplicas[dc, default: []].insert(node).inserted { replicas.append(node) }
    }
    for k in 0..<sorted.count {
        if factors.keys.allSatisfy(sufficient) { break }
        let node = owners[sorted[(start + k) % sorted.count]]!
        let loc = ring.location(of: node)!
        let dc = loc.datacenter
        if (factors[dc] ?? 0) == 0 || sufficient(dc) { continue }
        if seenRacks[dc, default: []].count == racksByDC[dc]!.count {
            add(node, dc)
        } else if seenRacks[dc, default: []].contains(loc.rack) {
            skipped[dc, default: []].append(node)
        } else {
            add(node, dc)
            seenRacks[dc, default: []].insert(loc.rack)
            if seenRacks[dc]!.count == racksByDC[dc]!.count {
                for s in skipped[dc, default: []] where !sufficient(dc) { add(s, dc) }
            }
        }
    }
    return replicas
}

/// A ring from `(token, node, dc, rack)` rows.
func handRing(_ rows: [(Int64, String, String, String)]) -> TokenRing {
    var tokens: [Int64: NodeID] = [:], locations: [NodeID: NodeLocation] = [:]
    for (t, n, dc, rack) in rows {
        tokens[t] = NodeID(n)
        locations[NodeID(n)] = NodeLocation(datacenter: dc, rack: rack)
    }
    return TokenRing(tokens: tokens, locations: locations)
}

/// Nodes `dc<d>-r<r>-<k>` for every datacenter, rack and index, 16 random tokens each.
func multiDatacenterRing(dcs: Int, racks: Int, nodesPerRack: Int, seed: UInt64) -> TokenRing {
    var entropy = SeededEntropy(seed: seed)
    var ring = TokenRing.empty
    for d in 1...dcs { for r in 1...racks { for k in 1...nodesPerRack {
        let tokens = TokenAllocator.random(count: 16, existing: Set(ring.tokens), entropy: &entropy)
        ring = ring.adding(NodeID("dc\(d)-r\(r)-\(k)"), location: NodeLocation(datacenter: "dc\(d)", rack: "r\(r)"), tokens: tokens)
    } } }
    return ring
}

func ids(_ names: String...) -> [NodeID] { names.map(NodeID.init) }

@Suite struct ReplicationStrategyTests {
    @Test func factorsPerDatacenterAndTotal() {
        let nts = ReplicationStrategy.networkTopology(["dc1": 3, "dc2": 2])
        #expect(nts.replicationFactor(in: "dc1") == 3)
        #expect(nts.replicationFactor(in: "dc3") == 0)
        #expect(nts.totalReplicationFactor == 5)
        #expect(ReplicationStrategy.simple(replicationFactor: 3).totalReplicationFactor == 3)
        let keyspace = KeyspaceDefinition(name: "iot", replication: nts)
        #expect(keyspace.replication == .networkTopology(["dc2": 2, "dc1": 3]))
    }

    @Test func simpleWalksClockwiseOverDistinctNodes() {
        let ring = handRing([(10, "a", "dc1", "r1"), (20, "b", "dc1", "r1"), (30, "a", "dc1", "r1"), (40, "c", "dc1", "r1")])
        #expect(ring.replicas(for: 15, strategy: .simple(replicationFactor: 2)) == ids("b", "a"))
        #expect(ring.replicas(for: 25, strategy: .simple(replicationFactor: 3)) == ids("a", "c", "b"))
        #expect(ring.replicas(for: 40, strategy: .simple(replicationFactor: 2)) == ids("c", "a"))
        // Past the highest token the walk wraps to the lowest.
        #expect(ring.replicas(for: 41, strategy: .simple(replicationFactor: 2)) == ids("a", "b"))
        #expect(ring.replicas(for: Int64.max, strategy: .simple(replicationFactor: 1)) == ids("a"))
        // More replicas asked than nodes: every node once.
        #expect(ring.replicas(for: 15, strategy: .simple(replicationFactor: 5)) == ids("b", "a", "c"))
        #expect(ring.primary(for: 31) == NodeID("c"))
    }

    @Test func simpleReplicasAreDistinctAndComplete() {
        let ring = grownRing(nodeCount: 10, racks: 1, allocation: .random, strategy: .simple(replicationFactor: 3), seed: 7)
        let placement = ring.placement(for: .simple(replicationFactor: 3))
        var entropy = SeededEntropy(seed: 99)
        for _ in 0..<2_000 {
            let token = Murmur3.token((0..<8).map { _ in UInt8(truncatingIfNeeded: entropy.next()) })
            let replicas = ring.replicas(for: token, strategy: .simple(replicationFactor: 3))
            #expect(replicas.count == 3 && Set(replicas).count == 3)
            #expect(replicas.first == ring.primary(for: token))
            #expect(Array(placement.replicas(for: token)) == replicas)
        }
    }

    @Test func networkTopologyDefersRepeatedRacksUntilEveryRackIsUsed() {
        // a and b share rack r1: b is skipped until r2 has a replica (c).
        let ring = handRing([(10, "a", "dc1", "r1"), (20, "b", "dc1", "r1"), (30, "c", "dc1", "r2"), (40, "d", "dc1", "r2")])
        #expect(ring.replicas(for: 5, strategy: .networkTopology(["dc1": 2])) == ids("a", "c"))
        #expect(ring.replicas(for: 5, strategy: .networkTopology(["dc1": 3])) == ids("a", "c", "b"))
        #expect(ring.replicas(for: 35, strategy: .networkTopology(["dc1": 3])) == ids("d", "a", "b"))
        // SimpleStrategy ignores racks.
        #expect(ring.replicas(for: 5, strategy: .simple(replicationFactor: 2)) == ids("a", "b"))
        // A datacenter with fewer nodes than its factor gets all of them; unnamed DCs none.
        #expect(Set(ring.replicas(for: 5, strategy: .networkTopology(["dc1": 7]))) == Set(ids("a", "b", "c", "d")))
        #expect(ring.replicas(for: 5, strategy: .networkTopology(["dc9": 3])).isEmpty)
    }

    /// 2 DCs × 3 racks × 3 nodes, RF {dc1: 3, dc2: 2}: per-DC counts, one
    /// replica per rack, and the same lists as the reference transcription.
    @Test func networkTopologyRespectsFactorsAndRacks() {
        let factors = ["dc1": 3, "dc2": 2]
        let ring = multiDatacenterRing(dcs: 2, racks: 3, nodesPerRack: 3, seed: 11)
        let placement = ring.placement(for: .networkTopology(factors))
        #expect(placement.replicasPerRange == 5)
        var entropy = SeededEntropy(seed: 5)
        for _ in 0..<2_000 {
            let token = Int64(bitPattern: entropy.next() | 1)
            let replicas = Array(placement.replicas(for: token))
            #expect(Set(replicas).count == 5)
            for (dc, rf) in factors {
                let here = replicas.filter { ring.location(of: $0)!.datacenter == dc }
                #expect(here.count == rf)
                #expect(Set(here.map { ring.location(of: $0)!.rack }).count == rf, "racks must differ in \(dc)")
            }
            #expect(replicas == referenceNetworkTopologyReplicas(ring: ring, token: token, factors: factors))
        }
    }

    /// Fewer racks than the factor (2 racks, RF 3) and fewer nodes than the
    /// factor: still exactly Cassandra's lists.
    @Test func networkTopologyMatchesReferenceWithFewRacks() {
        for seed: UInt64 in 1...4 {
            var entropy = SeededEntropy(seed: seed)
            var ring = TokenRing.empty
            for i in 0..<7 {
                let dc = i < 5 ? "dc1" : "dc2"
                let tokens = TokenAllocator.random(count: 4, existing: Set(ring.tokens), entropy: &entropy)
                ring = ring.adding(NodeID("n\(i)"), location: NodeLocation(datacenter: dc, rack: "r\(i % 2)"), tokens: tokens)
            }
            let factors = ["dc1": 3, "dc2": 3]
            let placement = ring.placement(for: .networkTopology(factors))
            #expect(placement.replicasPerRange == 5)
            for i in 0..<placement.rangeCount {
                let token = placement.tokens[i]
                #expect(Array(placement.replicas(ofRange: i)) == referenceNetworkTopologyReplicas(ring: ring, token: token, factors: factors))
                let dc1Racks = placement.replicas(ofRange: i).filter { ring.location(of: $0)!.datacenter == "dc1" }
                    .map { ring.location(of: $0)!.rack }
                #expect(Set(dc1Racks).count == 2, "both racks used before a repeat")
            }
        }
    }
}
