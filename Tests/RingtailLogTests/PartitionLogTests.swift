// The partition log against a plain array of records: order, reads from
// every offset, rolling, offsets by timestamp, retention of whole closed
// segments only, truncation and reset, idempotent producers, leader epochs,
// and reopening.
import RingtailCore
import RingtailSimulation
import Testing
@testable import RingtailLog

struct LogHarness {
    let fs = CrashableFileSystem()
    let clock = ManualClock()
    var config = LogConfig()
    let directory = "/data/log/sensors-0"

    init(segmentBytes: Int = 4096, indexInterval: Int = 256) {
        config.segmentBytes = segmentBytes
        config.indexIntervalBytes = indexInterval
        config.retentionAge = nil
        config.segmentAge = nil
    }

    func open() throws -> PartitionLog {
        try PartitionLog(directory: directory, config: config, fileSystem: fs, clock: clock)
    }

    /// Wall-clock milliseconds now.
    var nowMillis: Int64 { clock.wallMicros() / 1000 }
}

/// A small batch of `count` records whose values name their sequence number.
func batch(_ first: Int, count: Int = 3, timestamp: Int64 = 1_767_225_600_000, compression: BatchCompression = .none,
           producerId: Int64 = -1, epoch: Int16 = -1, sequence: Int32 = -1) -> [UInt8] {
    var b = RecordBatchBuilder(compression: compression, producerId: producerId, producerEpoch: epoch, baseSequence: sequence)
    for i in first..<(first + count) {
        b.append(timestamp: timestamp + Int64(i), key: Array("k\(i % 4)".utf8), value: Array("value-\(i)".utf8))
    }
    return b.build()
}

func values(_ records: [LogRecord]) -> [String] { records.map { String(decoding: $0.value ?? [], as: UTF8.self) } }

@Suite struct PartitionLogTests {
    @Test func appendsKeepOrderAndEveryOffsetReadsBack() throws {
        let h = LogHarness()
        let log = try h.open()
        var expected: [String] = []
        for i in 0..<120 {
            let info = try log.appendAsLeader(batch(i * 3, compression: i % 3 == 0 ? .lz4 : .none), leaderEpoch: 1)
            #expect(info.firstOffset == Int64(i * 3) && info.lastOffset == Int64(i * 3 + 2) && !info.duplicate)
            expected += (i * 3..<i * 3 + 3).map { "value-\($0)" }
        }
        #expect(log.logEndOffset == 360)
        #expect(log.segmentCount > 3, "4 KiB segments must have rolled")
        for offset in 0..<360 {
            let got = try log.records(from: Int64(offset), maxBytes: 200)
            #expect(!got.isEmpty)
            #expect(got.first?.offset == Int64(offset))
            #expect(values(got) == Array(expected[offset..<(offset + got.count)]))
        }
        // A whole scan through nextOffset visits every record once, in order.
        var next: Int64 = 0
        var seen: [String] = []
        var reads = 0
        while next < log.logEndOffset && reads < 1000 {
            let r = try log.read(from: next, maxBytes: 700)
            seen += values(try RecordBatchCodec.records(in: r.bytes))
            next = r.nextOffset
            reads += 1
        }
        #expect(seen == expected)
        #expect(try log.read(from: 360, maxBytes: 100).bytes.isEmpty)
        #expect(throws: LogError.self) { _ = try log.read(from: 361, maxBytes: 100) }
        // Reopening loads closed segments from their index files.
        log.close()
        let reopened = try h.open()
        #expect(reopened.recovery.indexesRebuilt == 0)
        #expect(reopened.logEndOffset == 360 && reopened.segmentCount == log.segmentCount)
        #expect(values(try reopened.records(from: 100, maxBytes: 60)).first == "value-100")
    }

    @Test func readsStopAtTheUpperOffset() throws {
        let log = try LogHarness().open()
        for i in 0..<10 { _ = try log.appendAsLeader(batch(i * 3), leaderEpoch: 0) }
        let r = try log.read(from: 0, maxBytes: 1 << 20, upperOffset: 9)
        #expect(r.nextOffset == 9)
        #expect(try RecordBatchCodec.records(in: r.bytes).count == 9)
        #expect(try log.read(from: 9, maxBytes: 1 << 20, upperOffset: 9).bytes.isEmpty)
    }

    @Test func offsetForTimestampMatchesABruteForceSearch() throws {
        var entropy = SeededEntropy(seed: 11)
        let h = LogHarness(segmentBytes: 2048, indexInterval: 128)
        let log = try h.open()
        var all: [LogRecord] = []
        for _ in 0..<150 {
            var b = RecordBatchBuilder()
            let n = 1 + entropy.next(below: 4)
            var stamps: [Int64] = []
            for _ in 0..<n {
                // Mostly rising, with late readings days behind.
                let late = entropy.next(below: 10) == 0 ? Int64(entropy.next(below: 5_000)) : 0
                stamps.append(1_000_000 + Int64(all.count + stamps.count) * 10 - late)
                b.append(timestamp: stamps.last!, key: nil, value: [1])
            }
            let info = try log.appendAsLeader(b.build(), leaderEpoch: 0)
            for (i, t) in stamps.enumerated() { all.append(LogRecord(offset: info.firstOffset + Int64(i), timestamp: t, key: nil, value: [1])) }
        }
        for target in stride(from: Int64(990_000), through: 1_000_000 + Int64(all.count) * 10 + 20, by: 7) {
            let expected = all.first { $0.timestamp >= target }?.offset
            #expect(try log.offset(forTimestamp: target) == expected, "target \(target)")
        }
    }

    @Test func rollsByAge() throws {
        var h = LogHarness(segmentBytes: 1 << 20)
        h.config.segmentAge = .seconds(60)
        let log = try h.open()
        _ = try log.appendAsLeader(batch(0), leaderEpoch: 0)
        _ = try log.appendAsLeader(batch(3), leaderEpoch: 0)
        #expect(log.segmentCount == 1)
        h.clock.advance(by: .seconds(61))
        _ = try log.appendAsLeader(batch(6), leaderEpoch: 0)
        #expect(log.segmentBaseOffsets == [0, 6])
    }

    @Test func retentionDeletesOnlyWholeClosedSegments() throws {
        var h = LogHarness(segmentBytes: 1024)
        h.config.retentionAge = .seconds(3600)
        let log = try h.open()
        let old = h.nowMillis - 2 * 3600 * 1000
        for i in 0..<40 { _ = try log.appendAsLeader(batch(i * 3, timestamp: old), leaderEpoch: 0) }
        let closedBefore = log.segmentCount - 1
        #expect(closedBefore >= 3)
        // Nothing past the high watermark goes, however old.
        let bounded = try log.applyRetention(nowMillis: h.nowMillis, deletableBelow: 0)
        #expect(bounded.segmentsDeleted == 0)
        let result = try log.applyRetention(nowMillis: h.nowMillis)
        // Every closed segment is old; the active one stays, old as it is.
        #expect(result.segmentsDeleted == closedBefore)
        #expect(log.segmentCount == 1)
        #expect(log.logStartOffset == result.logStartOffset && log.logStartOffset > 0)
        #expect(throws: LogError.self) { _ = try log.read(from: 0, maxBytes: 100) }
        #expect(values(try log.records(from: log.logStartOffset)).first == "value-\(log.logStartOffset)")
        // Deleted files are gone from the directory.
        let names = try h.fs.listDirectory(h.directory)
        #expect(names.filter { $0.hasSuffix(".log") }.count == 1)
        #expect(!names.contains { $0.hasSuffix(".index") })
    }

    @Test func retentionBySizeKeepsAtLeastTheLimit() throws {
        var h = LogHarness(segmentBytes: 1024)
        h.config.retentionBytes = 2500
        let log = try h.open()
        for i in 0..<60 { _ = try log.appendAsLeader(batch(i * 3), leaderEpoch: 0) }
        let before = log.sizeBytes
        try log.applyRetention(nowMillis: h.nowMillis)
        #expect(log.sizeBytes >= 2500 && log.sizeBytes < before)
        #expect(log.sizeBytes - 1024 < 2500, "one more segment could have gone")
        #expect(log.logEndOffset == 180)
    }

    @Test func truncationAndResetForFollowers() throws {
        let h = LogHarness(segmentBytes: 1024)
        let log = try h.open()
        for i in 0..<30 { _ = try log.appendAsLeader(batch(i * 3), leaderEpoch: i < 20 ? 1 : 2) }
        #expect(log.epochs.entries == [.init(epoch: 1, startOffset: 0), .init(epoch: 2, startOffset: 60)])
        #expect(log.epochs.endOffset(forEpoch: 1, logEndOffset: log.logEndOffset)! == (1, 60))
        // Truncating inside a batch cuts at the batch's start.
        #expect(try log.truncate(to: 50) == 48)
        #expect(log.logEndOffset == 48)
        #expect(log.epochs.entries == [.init(epoch: 1, startOffset: 0)])
        #expect(values(try log.records(from: 45)) == ["value-45", "value-46", "value-47"])
        // The log goes on from there, and survives a reopen.
        let more = try log.appendAsLeader(batch(1000), leaderEpoch: 3)
        #expect(more.firstOffset == 48)
        log.close()
        let reopened = try h.open()
        #expect(reopened.logEndOffset == 51)
        #expect(reopened.epochs.entries.map(\.epoch) == [1, 3])
        // A follower far behind the leader's start starts over.
        try reopened.reset(to: 500)
        #expect(reopened.logStartOffset == 500 && reopened.logEndOffset == 500 && reopened.segmentCount == 1)
        var fetched = batch(7)
        RecordBatchCodec.assign(baseOffset: 500, leaderEpoch: 4, in: &fetched)
        #expect(try reopened.appendAsFollower(fetched) == 503)
        var gap = batch(9)
        RecordBatchCodec.assign(baseOffset: 510, leaderEpoch: 4, in: &gap)
        #expect(throws: LogError.self) { try reopened.appendAsFollower(gap) }
    }

    @Test func idempotentProducersNeverDuplicate() throws {
        let h = LogHarness()
        let log = try h.open()
        let first = try log.appendAsLeader(batch(0, producerId: 7, epoch: 0, sequence: 0), leaderEpoch: 0)
        let second = try log.appendAsLeader(batch(3, producerId: 7, epoch: 0, sequence: 3), leaderEpoch: 0)
        // A retry of either is answered with its original offsets.
        let retry = try log.appendAsLeader(batch(0, producerId: 7, epoch: 0, sequence: 0), leaderEpoch: 0)
        #expect(retry.duplicate && retry.firstOffset == first.firstOffset && retry.lastOffset == first.lastOffset)
        #expect(try log.appendAsLeader(batch(3, producerId: 7, epoch: 0, sequence: 3), leaderEpoch: 0).firstOffset == second.firstOffset)
        #expect(log.logEndOffset == 6)
        // A gap is refused; a fenced epoch is refused; a new epoch starts at 0.
        #expect { _ = try log.appendAsLeader(batch(9, producerId: 7, epoch: 0, sequence: 9), leaderEpoch: 0) } throws: {
            ($0 as? LogError)?.code == .outOfOrderSequence
        }
        _ = try log.appendAsLeader(batch(6, producerId: 7, epoch: 1, sequence: 0), leaderEpoch: 0)
        #expect { _ = try log.appendAsLeader(batch(9, producerId: 7, epoch: 0, sequence: 6), leaderEpoch: 0) } throws: {
            ($0 as? LogError)?.code == .invalidProducerEpoch
        }
        // The state is rebuilt on reopen: the retry is still recognised.
        log.close()
        let reopened = try h.open()
        #expect(try reopened.appendAsLeader(batch(6, producerId: 7, epoch: 1, sequence: 0), leaderEpoch: 0).duplicate)
        #expect(reopened.logEndOffset == 9)
        // A follower's truncation that cuts none of a producer's batches keeps
        // its state; one that cuts its last batch forgets it (a retry is new data).
        _ = try reopened.appendAsLeader(batch(9, producerId: 8, epoch: 0, sequence: 0), leaderEpoch: 0)
        #expect(try reopened.truncate(to: 9) == 9)
        #expect(try reopened.appendAsLeader(batch(6, producerId: 7, epoch: 1, sequence: 0), leaderEpoch: 0).duplicate)
        #expect(try !reopened.appendAsLeader(batch(9, producerId: 8, epoch: 0, sequence: 0), leaderEpoch: 0).duplicate)
        #expect(reopened.logEndOffset == 12)
        #expect(try reopened.truncate(to: 6) == 6)
        #expect(try !reopened.appendAsLeader(batch(6, producerId: 7, epoch: 1, sequence: 0), leaderEpoch: 0).duplicate)
    }

    @Test func refusesBadBatchesAndKeepsServing() throws {
        let log = try LogHarness().open()
        var bad = batch(0)
        bad[bad.count - 1] ^= 1
        #expect(throws: LogError.self) { _ = try log.appendAsLeader(bad, leaderEpoch: 0) }
        #expect(throws: LogError.self) { _ = try log.appendAsLeader(batch(0) + batch(3), leaderEpoch: 0) }
        #expect(throws: LogError.self) { _ = try log.appendAsLeader([1, 2, 3], leaderEpoch: 0) }
        #expect(log.logEndOffset == 0)
        _ = try log.appendAsLeader(batch(0), leaderEpoch: 0)
        #expect(log.logEndOffset == 3)
    }
}
