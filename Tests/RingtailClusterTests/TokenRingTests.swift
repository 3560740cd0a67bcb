// The token ring: ranges partition the ring, ownership adds up, placement
// tables agree with direct walks, and RingtailCluster stays deterministic.

import Foundation
import RingtailCore
import RingtailStorage
import Testing
@testable import RingtailCluster

@Suite struct TokenRingTests {
    @Test func primaryRangesPartitionTheRing() {
        let ring = multiDatacenterRing(dcs: 2, racks: 3, nodesPerRack: 2, seed: 3)
        let ranges = ring.nodes.flatMap { ring.primaryRanges(of: $0) }
        #expect(ranges.count == ring.tokens.count)
        // Chained end to end: sorted by upper bound, each starts where the previous ends.
        let sorted = ranges.sorted { $0.upper < $1.upper }
        for (i, r) in sorted.enumerated() {
            #expect(r.lower == sorted[(i + sorted.count - 1) % sorted.count].upper)
        }
        let total = ranges.map { TokenRing.width(lower: $0.lower, upper: $0.upper) }.reduce(0, +)
        #expect(abs(total - 1) < 1e-12)
        // Every token, edge tokens included, falls in exactly one range, its primary's.
        var entropy = SeededEntropy(seed: 17)
        let probes: [Int64] = [Int64.min + 1, Int64.max, 0, ring.tokens[0], ring.tokens[0] + 1]
            + (0..<500).map { _ in Int64(bitPattern: entropy.next()) }
        for token in probes where token != Int64.min {
            let holders = ring.nodes.filter { node in ring.primaryRanges(of: node).contains { $0.contains(token) } }
            #expect(holders == [ring.primary(for: token)])
        }
    }

    @Test func singleTokenOwnsTheWholeRing() {
        let ring = handRing([(42, "a", "dc1", "r1")])
        #expect(ring.primaryRanges(of: NodeID("a")) == [TokenRange(lower: 42, upper: 42)])
        #expect(ring.ownership(strategy: .simple(replicationFactor: 3))[NodeID("a")] == Ownership(raw: 1, effective: 1))
        #expect(ring.replicas(for: -7, strategy: .simple(replicationFactor: 3)) == ids("a"))
    }

    @Test func ownershipSumsToOneRawAndReplicationFactorEffective() {
        let ring = multiDatacenterRing(dcs: 2, racks: 3, nodesPerRack: 3, seed: 21)
        for (strategy, replicas) in [(ReplicationStrategy.simple(replicationFactor: 3), 3.0),
                                     (.networkTopology(["dc1": 3, "dc2": 2]), 5.0),
                                     (.networkTopology(["dc1": 3]), 3.0)] {
            let ownership = ring.ownership(strategy: strategy)
            #expect(ownership.count == 18)
            #expect(abs(ownership.values.map(\.raw).reduce(0, +) - 1) < 1e-9)
            #expect(abs(ownership.values.map(\.effective).reduce(0, +) - replicas) < 1e-9, "\(strategy)")
            for (node, share) in ownership { #expect(share.effective >= share.raw || ring.location(of: node)!.datacenter == "dc2") }
        }
        // Only dc1 replicates under {dc1: 3}: dc2 nodes own raw ranges but store nothing.
        let dc1Only = ring.ownership(strategy: .networkTopology(["dc1": 3]))
        #expect(dc1Only.filter { ring.location(of: $0.key)!.datacenter == "dc2" }.allSatisfy { $0.value.effective == 0 })
    }

    @Test func placementAgreesWithWalksAndOwnership() {
        let strategy = ReplicationStrategy.simple(replicationFactor: 3)
        let ring = grownRing(nodeCount: 8, racks: 1, allocation: .random, strategy: strategy, seed: 4)
        let placement = ring.placement(for: strategy)
        #expect(placement.replicasPerRange == 3)
        for i in 0..<placement.rangeCount {
            #expect(Array(placement.replicas(ofRange: i)) == ring.replicas(for: placement.tokens[i], strategy: strategy))
        }
        let ownership = ring.ownership(strategy: strategy)
        for node in ring.nodes {
            let replicated = placement.ranges(replicatedBy: node).map { TokenRing.width(lower: $0.lower, upper: $0.upper) }
            #expect(abs(replicated.reduce(0, +) - ownership[node]!.effective) < 1e-12)
        }
    }

    /// Prints the cost of a replica lookup on a 100-node ring; never asserts
    /// timing (the machine is shared). Release builds are far faster.
    @Test func replicaLookupCost() {
        let strategy = ReplicationStrategy.simple(replicationFactor: 3)
        var entropy = SeededEntropy(seed: 1)
        var ring = TokenRing.empty
        for i in 0..<100 {
            let tokens = TokenAllocator.random(count: 16, existing: Set(ring.tokens), entropy: &entropy)
            ring = ring.adding(nodeName(i), location: NodeLocation(datacenter: "dc1", rack: "r\(i % 3)"), tokens: tokens)
        }
        let placement = ring.placement(for: strategy)
        let probes = (0..<1_000_000).map { _ in Int64(bitPattern: entropy.next()) }
        var checksum = 0
        let clock = ContinuousClock()
        let elapsed = clock.measure {
            for token in probes { checksum &+= placement.replicas(for: token).count }
        }
        #expect(checksum == 3 * probes.count)
        let ns = Double(elapsed.components.attoseconds) / 1e9 + Double(elapsed.components.seconds) * 1e9
        print("replica lookup, 100 nodes x 16 tokens, SimpleStrategy rf 3: \(ns / Double(probes.count)) ns per lookup")
    }

    /// RingtailCluster is deterministic: no wall clock, sleeps, global
    /// randomness or Foundation in its sources (as CoreTests checks for Core
    /// and Storage).
    @Test func clusterModuleUsesNoAmbientCapabilities() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let dir = root.appendingPathComponent("Sources/RingtailCluster")
        let forbidden = ["Date()", "ContinuousClock", "SuspendingClock", "Task.sleep", ".random(", "UUID()", "FileManager",
                         "import Foundation", "gettimeofday", "DispatchQueue"]
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".swift") }
        #expect(files.count >= 5)
        var offenders: [String] = []
        for file in files {
            let text = try String(contentsOf: dir.appendingPathComponent(file), encoding: .utf8)
            for token in forbidden where text.contains(token) { offenders.append("\(file): \(token)") }
        }
        #expect(offenders.isEmpty, "\(offenders)")
    }
}
