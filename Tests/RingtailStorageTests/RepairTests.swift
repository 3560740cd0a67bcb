// Read repair's pure half: merging the repair into a replica yields the
// resolved version, for random replica sets; digests tell versions apart.
import RingtailCore
import RingtailSimulation
import Testing
@testable import RingtailStorage

@Suite struct RepairTests {
    @Test(arguments: 1...40)
    func repairBringsEveryReplicaToTheResolvedVersion(seed: UInt64) {
        let clock = ManualClock()
        var generator = MutationGenerator(seed: seed, clock: clock)
        let key = generator.keys[0]
        // Three replicas, each having seen a random subset of the writes.
        var replicas = [PartitionUpdate(key: key), PartitionUpdate(key: key), PartitionUpdate(key: key)]
        for _ in 0..<40 {
            var m = generator.next(table: TableID(1))
            m.update.key = key
            for r in replicas.indices where generator.entropy.chance(0.6) { replicas[r].merge(m.update) }
            clock.advance(by: .milliseconds(100))
        }
        var resolved = replicas[0]
        resolved.merge(replicas[1])
        resolved.merge(replicas[2])
        func canonical(_ u: PartitionUpdate) -> PartitionUpdate {
            var c = u
            c.rangeTombstones.sort { compareBytes(PartitionCodec.boundKey($0), PartitionCodec.boundKey($1)) < 0 }
            return c
        }
        for replica in replicas {
            var repaired = replica
            if let diff = resolved.repair(for: replica) { repaired.merge(diff) }
            #expect(canonical(repaired) == canonical(resolved), "seed \(seed)")
            #expect(repaired.digest == resolved.digest, "seed \(seed)")
            if canonical(replica) != canonical(resolved) {
                #expect(replica.digest != resolved.digest, "seed \(seed)")
                #expect(resolved.repair(for: replica) != nil)
            } else {
                #expect(resolved.repair(for: replica) == nil)
            }
        }
    }

    /// A coordinator takes a data answer's digest from the bytes it came in
    /// when they are canonical: that must equal `digest`, and an encoding
    /// with range tombstones out of bound order must not be trusted (nil).
    @Test(arguments: 1...20)
    func digestOfEncodedBytesMatchesDigest(seed: UInt64) throws {
        let clock = ManualClock()
        var generator = MutationGenerator(seed: seed, clock: clock)
        var update = PartitionUpdate(key: generator.keys[0])
        for _ in 0..<30 {
            var m = generator.next(table: TableID(1))
            m.update.key = update.key
            update.merge(m.update)
        }
        let bytes = update.encoded()
        let decoded = try PartitionUpdate(decoding: bytes)
        if let fromBytes = PartitionUpdate.digest(ofEncoded: bytes, decoded: decoded) {
            #expect(fromBytes == update.digest)
        } else {
            #expect(decoded.rangeTombstones.count > 1)
        }
        var sorted = update
        sorted.rangeTombstones.sort { compareBytes(PartitionCodec.boundKey($0), PartitionCodec.boundKey($1)) < 0 }
        let sortedBytes = sorted.encoded()
        #expect(PartitionUpdate.digest(ofEncoded: sortedBytes, decoded: try PartitionUpdate(decoding: sortedBytes)) == update.digest)
        if sorted.rangeTombstones.count > 1 {
            var reversed = sorted
            reversed.rangeTombstones.reverse()
            let reversedBytes = reversed.encoded()
            #expect(PartitionUpdate.digest(ofEncoded: reversedBytes, decoded: try PartitionUpdate(decoding: reversedBytes)) == nil)
        }
    }
}
