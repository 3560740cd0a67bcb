// Compaction: the planner's choices, time windows ending as one SSTable,
// fully expired SSTables dropped whole, and tombstones kept until gc grace
// and until nothing outside the compaction can hold what they shadow.
import RingtailCore
import RingtailSimulation
import Testing
@testable import RingtailStorage

@Suite struct CompactionTests {
    func candidate(_ g: UInt64, bytes: Int, ts: ClosedRange<Int64> = 0...0, ldt: Int64 = .max) -> CompactionCandidate {
        CompactionCandidate(generation: g, bytes: bytes, minTimestamp: ts.lowerBound, maxTimestamp: ts.upperBound,
                            maxLocalDeletionTime: ldt, minToken: .min, maxToken: .max)
    }

    @Test func sizeTieredPicksSimilarSizes() {
        var st = SizeTieredOptions()
        st.minSSTableBytes = .bytes(1)
        let mb = 1 << 20
        let files = [candidate(1, bytes: 100 * mb), candidate(2, bytes: 10 * mb), candidate(3, bytes: 11 * mb),
                     candidate(4, bytes: 9 * mb), candidate(5, bytes: 12 * mb), candidate(6, bytes: 400 * mb)]
        #expect(CompactionPlanner.sizeTiered(files, st) == [2, 3, 4, 5])
        #expect(CompactionPlanner.sizeTiered(Array(files.prefix(3)), st) == nil)
    }

    @Test func timeWindowsCloseToOneSSTable() {
        let tw = TimeWindowOptions(unit: .hours, size: 1)
        let hour: Int64 = 3_600_000_000
        let now = 10 * hour + 5
        // Two SSTables in a closed window (hour 3), one in another closed window, one in the current window.
        let files = [candidate(1, bytes: 10, ts: (3 * hour)...(3 * hour + 10)), candidate(2, bytes: 10, ts: (3 * hour + 20)...(3 * hour + 30)),
                     candidate(3, bytes: 10, ts: (5 * hour)...(5 * hour + 1)), candidate(4, bytes: 10, ts: (10 * hour)...(10 * hour + 1))]
        let plan = CompactionPlanner.timeWindow(files, tw, nowMicros: now)
        #expect(plan?.inputs == [1, 2])
        // The current window waits for its size-tiered threshold.
        #expect(CompactionPlanner.timeWindow([files[2], files[3]], tw, nowMicros: now) == nil)
    }

    @Test func aBusyOlderWindowIsSizeTieredUntilItGoesQuiet() {
        let tw = TimeWindowOptions(unit: .hours, size: 1)
        let hour: Int64 = 3_600_000_000
        let now = 10 * hour + 5
        let quiet = CompactionPlanner.quietMicros(tw)
        #expect(quiet == 600_000_000)
        // A back-fill into hour 3: one big merged SSTable and a fresh flush.
        var big = candidate(1, bytes: 400 << 20, ts: (3 * hour)...(3 * hour + 10))
        big.createdMicros = now - 2 * quiet
        var fresh = candidate(2, bytes: 4 << 20, ts: (3 * hour + 20)...(3 * hour + 30))
        fresh.createdMicros = now - 1
        // Still receiving: no rewrite of the big SSTable for one small flush.
        #expect(CompactionPlanner.timeWindow([big, fresh], tw, nowMicros: now) == nil)
        // Four similar flushes in the busy window merge size-tiered, without the big one.
        let flushes = (2...5).map { g -> CompactionCandidate in
            var c = candidate(UInt64(g), bytes: 4 << 20, ts: (3 * hour + 20)...(3 * hour + 30))
            c.createdMicros = now - 1
            return c
        }
        #expect(CompactionPlanner.timeWindow([big] + flushes, tw, nowMicros: now)?.inputs == [2, 3, 4, 5])
        // Quiet for the whole interval: everything in the window becomes one SSTable.
        #expect(CompactionPlanner.timeWindow([big, fresh], tw, nowMicros: now + quiet)?.inputs == [1, 2])
        // A one-minute window goes quiet after a minute.
        #expect(CompactionPlanner.quietMicros(TimeWindowOptions(unit: .minutes, size: 1)) == 60_000_000)
    }

    @Test func fullyExpiredSSTablesDropOnlyWhenTheyShadowNothing() {
        let gcBefore: Int64 = 1000
        let expired = candidate(1, bytes: 10, ts: 50...60, ldt: 500)
        let newer = candidate(2, bytes: 10, ts: 70...80)
        let older = candidate(3, bytes: 10, ts: 10...20)
        #expect(CompactionPlanner.fullyExpired([expired, newer], gcBeforeMicros: gcBefore, memtableMinTimestamp: .max) == [1])
        // Older live data overlaps: its tombstones may still shadow it.
        #expect(CompactionPlanner.fullyExpired([expired, older], gcBeforeMicros: gcBefore, memtableMinTimestamp: .max) == [])
        #expect(CompactionPlanner.fullyExpired([expired], gcBeforeMicros: gcBefore, memtableMinTimestamp: 40) == [])
        #expect(CompactionPlanner.fullyExpired([candidate(4, bytes: 1, ts: 1...2, ldt: 2000)], gcBeforeMicros: gcBefore, memtableMinTimestamp: .max) == [])
    }

    @Test func engineTimeWindowAndExpiryEndToEnd() throws {
        let h = EngineHarness()
        let e = try h.open()
        var options = TableOptions()
        options.compaction = .timeWindow(TimeWindowOptions(unit: .hours, size: 1))
        options.gcGraceSeconds = 60
        let t = try e.ensureTable("tw", options: options)
        let start = h.clock.wallMicros()
        // Three flushes inside the first hour, with 1-hour TTLs.
        for batch in 0..<3 {
            for i in 0..<20 { try e.put(t, "s\(i)", be64(Int64(batch)), "v", "x", timestamp: start + Int64(batch), ttl: 3600) }
            try e.flush()
        }
        #expect(e.sstables(of: t).count == 3)
        h.clock.advance(by: .seconds(2 * 3600)) // the window closes, the data expires
        try e.runBackgroundWork()
        let s = e.statistics
        // Either merged then dropped, or dropped whole: nothing expired is left.
        #expect(e.sstables(of: t).isEmpty, "\(e.sstables(of: t).map(\.generation)) \(s)")
        #expect(s.expiredSSTablesDropped >= 1)
        #expect(try e.values(t, "s1") == [])
    }

    @Test func closedWindowMergesIntoOne() throws {
        let h = EngineHarness()
        let e = try h.open()
        var options = TableOptions()
        options.compaction = .timeWindow(TimeWindowOptions(unit: .hours, size: 1))
        let t = try e.ensureTable("tw", options: options)
        let start = h.clock.wallMicros()
        for batch in 0..<3 {
            for i in 0..<20 { try e.put(t, "s\(i)", be64(Int64(batch)), "v", "x\(batch)", timestamp: start + Int64(batch)) }
            try e.flush()
        }
        h.clock.advance(by: .seconds(3600))
        try e.runBackgroundWork()
        #expect(e.sstables(of: t).count == 1)
        #expect(try e.values(t, "s3") == ["x0", "x1", "x2"])
    }

    @Test func tombstonesPurgedOnlyAfterGcGraceAndWhenSafe() throws {
        let h = EngineHarness()
        let e = try h.open()
        var options = TableOptions()
        options.gcGraceSeconds = 100
        let t = try e.ensureTable("g", options: options)
        try e.put(t, "k", [1], "v", "old", timestamp: 10)
        try e.flush() // SSTable A holds the old value
        try e.apply(Mutation(table: t, update: PartitionUpdate(key: bytes("k"), rows: [
            Row(clustering: [1], deletion: DeletionTime(markedAt: 20, localDeletionTime: 0), cells: [])])))
        try e.put(t, "other", [1], "v", "x", timestamp: 30)
        try e.flush() // SSTable B holds the row tombstone
        h.clock.advance(by: .seconds(200))
        // Compacting B alone must keep the tombstone: A still holds older
        // data (its min timestamp, 10, is below the tombstone's 20).
        let now = h.clock.wallMicros()
        let purger = Purger(gcBeforeMicros: now - 100_000_000, nowMicros: now)
        var merged = try #require(try e.readRaw(t, key: bytes("k")))
        let purged = purger.purge(&merged, maxPurgeableTimestamp: 10)
        #expect(purged == 0 && !merged.rows.isEmpty)
        #expect(try e.values(t, "k") == [])
        // Major compaction (both SSTables): the old value and the tombstone go together.
        try e.compact(major: true)
        #expect(try e.values(t, "k") == [])
        #expect(e.statistics.tombstonesPurged >= 1)
        #expect(try e.readRaw(t, key: bytes("k")) == nil)
    }

    @Test func flushedSegmentsAreDeleted() throws {
        var h = EngineHarness()
        h.options.commitLogSegmentBytes = .kibibytes(8)
        let e = try h.open()
        let t = try e.ensureTable()
        for i in 0..<400 { try e.put(t, "k\(i)", [], "v", String(repeating: "x", count: 60), timestamp: 1) }
        let before = try h.fs.listDirectory("/data/commitlog").count
        #expect(before > 3)
        try e.flush()
        let after = try h.fs.listDirectory("/data/commitlog").count
        #expect(after <= 1, "segments before flush \(before), after \(after)")
        #expect(try e.values(t, "k399").count == 1)
    }
}
