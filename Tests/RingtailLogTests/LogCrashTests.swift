// Partition logs cut off by a crash at a seeded file operation: the file
// system keeps only synced bytes plus a torn prefix of the rest. The
// reopened log must open without error, hold every batch synced before the
// crash, and be a gap-free prefix of what was appended. Damage that is not a
// torn tail is reported, never silently cut.
import RingtailCore
import RingtailSimulation
import Testing
@testable import RingtailLog

@Suite struct LogCrashTests {
    static let points = Int(environment("RINGTAIL_LOG_CRASH_POINTS") ?? "") ?? 300

    @Test func syncedBatchesSurviveCrashes() throws {
        var failures: [UInt64] = []
        var crashed = 0, torn = 0
        for point in 0..<Self.points {
            let seed = UInt64(point) &* 0x9E37_79B9 &+ 5
            let outcome = try crashOnce(seed: seed)
            if !outcome.ok { failures.append(seed) }
            if outcome.crashed { crashed += 1 }
            if outcome.torn { torn += 1 }
            if failures.count > 3 { break }
        }
        #expect(failures.isEmpty, "failing seeds: \(failures); replay with LogCrashTests.crashOnce(seed:)")
        // The workload must really be cut, and tails really torn, most runs.
        #expect(crashed > Self.points / 2 && torn > Self.points / 10, "crashed \(crashed), torn \(torn)")
    }

    /// One workload cut by a crash, then checked; `ok` false if a promise broke.
    func crashOnce(seed: UInt64) throws -> (ok: Bool, crashed: Bool, torn: Bool) {
        var entropy = SeededEntropy(seed: seed)
        var h = LogHarness(segmentBytes: 900, indexInterval: 128)
        h.config.retentionBytes = 3000
        var next = 0          // the sequence number the next record gets
        var synced = 0        // records known durable
        fs(h).crash(afterOperations: entropy.next(below: 120))
        do {
            let log = try h.open()
            for _ in 0..<60 {
                let n = 1 + entropy.next(below: 4)
                let codec: BatchCompression = entropy.next(below: 3) == 0 ? .lz4 : .none
                _ = try log.appendAsLeader(batch(next, count: n, compression: codec), leaderEpoch: 0)
                next += n
                if entropy.next(below: 4) == 0 {
                    try log.sync()
                    synced = next
                }
                if entropy.next(below: 10) == 0 { try log.applyRetention(nowMillis: h.nowMillis) }
            }
        } catch let error as LogError where error.code == .io {
            // The crash: everything after it failed.
        }
        let crashed = h.fs.hasCrashed
        var recover = SeededEntropy(seed: seed ^ 0xabcdef)
        fs(h).recoverFromCrash(entropy: &recover)
        let log: PartitionLog
        do { log = try h.open() } catch {
            Issue.record("seed \(seed): reopen failed: \(error)")
            return (false, crashed, false)
        }
        // Read everything from the log start; values must be consecutive.
        var offset = log.logStartOffset
        var seen: [Int] = []
        var reads = 0
        while offset < log.logEndOffset && reads < 10_000 {
            let r = try log.read(from: offset, maxBytes: 4096)
            seen += values(try RecordBatchCodec.records(in: r.bytes)).map { Int($0.dropFirst("value-".count))! }
            offset = r.nextOffset
            reads += 1
        }
        let start = Int(log.logStartOffset)
        guard seen == Array(start..<(start + seen.count)) else {
            Issue.record("seed \(seed): log is not a gap-free run from \(start): \(seen.prefix(20))…")
            return (false, crashed, false)
        }
        guard start + seen.count >= synced else {
            Issue.record("seed \(seed): \(synced) records were synced, only \(start + seen.count) survived")
            return (false, crashed, false)
        }
        // And the reopened log accepts appends where it ends.
        let info = try log.appendAsLeader(batch(start + seen.count), leaderEpoch: 1)
        return (info.firstOffset == log.logEndOffset - 3, crashed, log.recovery.tornBytesTruncated > 0)
    }

    private func fs(_ h: LogHarness) -> CrashableFileSystem { h.fs }

    @Test func tornTailIsCutAndReported() throws {
        let h = LogHarness(segmentBytes: 1 << 20)
        let log = try h.open()
        for i in 0..<5 { _ = try log.appendAsLeader(batch(i * 3), leaderEpoch: 0) }
        try log.sync()
        log.close()
        // A partial batch at the end, as a write cut by SIGKILL leaves it.
        let path = h.directory + "/00000000000000000000.log"
        let partial = Array(batch(15).prefix(30))
        let file = try h.fs.openForAppend(path)
        try file.append(partial)
        try file.close()
        let reopened = try h.open()
        #expect(reopened.recovery.tornBytesTruncated == 30)
        #expect(reopened.logEndOffset == 15)
        #expect(try h.fs.fileSize(path) == reopened.sizeBytes)
    }

    @Test func damageBeforeTheEndIsCorruptionNotATornTail() throws {
        let h = LogHarness(segmentBytes: 1 << 20)
        let log = try h.open()
        for i in 0..<5 { _ = try log.appendAsLeader(batch(i * 3), leaderEpoch: 0) }
        log.close()
        let path = h.directory + "/00000000000000000000.log"
        h.fs.flipBit(path, byteOffset: 70)
        #expect { _ = try h.open() } throws: { error in
            guard let e = error as? LogError else { return false }
            return e.code == .corruption && e.path == path && e.offset == 0
        }
    }

    @Test func unknownVersionsStopTheOpenAndNothingIsRewritten() throws {
        // A batch of an unknown magic in the active segment: refused, not cut as a torn tail.
        let h = LogHarness(segmentBytes: 1 << 20)
        let log = try h.open()
        for i in 0..<3 { _ = try log.appendAsLeader(batch(i * 3), leaderEpoch: 0) }
        log.close()
        let path = h.directory + "/00000000000000000000.log"
        let second = batch(0).count
        let before = try h.fs.readFile(path)
        h.fs.flipBit(path, byteOffset: second + RecordBatchLayout.magic, bit: 0) // magic 2 -> 3
        #expect { _ = try h.open() } throws: { error in
            guard let e = error as? LogError else { return false }
            return e.code == .unsupportedVersion && e.path == path && e.offset == second
        }
        #expect(try h.fs.fileSize(path) == before.count)

        // A closed segment's index file of a newer version: refused, kept as it is.
        let h2 = LogHarness(segmentBytes: 600, indexInterval: 64)
        let log2 = try h2.open()
        for i in 0..<30 { _ = try log2.appendAsLeader(batch(i * 3), leaderEpoch: 0) }
        log2.close()
        let index = h2.directory + "/00000000000000000000.index"
        var bytes = try h2.fs.readFile(index)
        bytes[4] = 2
        let crc = CRC32C.checksum(bytes[0..<(bytes.count - 4)])
        for i in 0..<4 { bytes[bytes.count - 4 + i] = UInt8(truncatingIfNeeded: crc >> (8 * UInt32(i))) }
        try h2.fs.writeAtomically(index, bytes: bytes)
        #expect { _ = try h2.open() } throws: { ($0 as? LogError)?.code == .unsupportedVersion }
        #expect(try h2.fs.readFile(index) == bytes)
        // A batch of an unknown magic inside a closed segment trusted through
        // its index file (the magic is outside the CRC): refused as a version,
        // with the file and position, not reported as corruption.
        let h3 = LogHarness(segmentBytes: 600, indexInterval: 64)
        let log3 = try h3.open()
        for i in 0..<30 { _ = try log3.appendAsLeader(batch(i * 3), leaderEpoch: 0) }
        #expect(log3.segmentCount > 1)
        log3.close()
        let closed = h3.directory + "/00000000000000000000.log"
        let closedBefore = try h3.fs.readFile(closed)
        h3.fs.flipBit(closed, byteOffset: second + RecordBatchLayout.magic, bit: 0)
        #expect { _ = try h3.open() } throws: { error in
            guard let e = error as? LogError else { return false }
            return e.code == .unsupportedVersion && e.path == closed && e.offset == second
        }
        #expect(try h3.fs.readFile(closed).count == closedBefore.count)
    }

    @Test func aDamagedIndexFileIsRebuiltFromTheLog() throws {
        let h = LogHarness(segmentBytes: 600, indexInterval: 64)
        let log = try h.open()
        for i in 0..<30 { _ = try log.appendAsLeader(batch(i * 3), leaderEpoch: 0) }
        let segments = log.segmentBaseOffsets
        log.close()
        let index = h.directory + "/00000000000000000000.index"
        h.fs.flipBit(index, byteOffset: 20)
        let reopened = try h.open()
        #expect(reopened.recovery.indexesRebuilt == 1)
        #expect(reopened.segmentBaseOffsets == segments)
        for offset in stride(from: 0, to: 90, by: 5) {
            #expect(try reopened.records(from: Int64(offset)).first?.offset == Int64(offset))
        }
        // The rebuilt index file is written back and loads next time.
        reopened.close()
        #expect(try h.open().recovery.indexesRebuilt == 0)
    }
}

#if canImport(Glibc)
import Glibc
#endif

func environment(_ name: String) -> String? {
    guard let value = getenv(name) else { return nil }
    return String(cString: value)
}
