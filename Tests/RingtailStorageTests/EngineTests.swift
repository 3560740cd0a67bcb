// The engine's data model end to end: reads merge memtables and SSTables;
// deletions, TTLs, order, slices and limits behave as documented.
import RingtailCore
import RingtailPosix
import RingtailSimulation
import Testing
@testable import RingtailStorage

@Suite struct EngineTests {
    @Test func putGetAcrossFlushAndReopen() throws {
        let h = EngineHarness()
        var engine: StorageEngine? = try h.open()
        let t = try engine!.ensureTable()
        try engine!.put(t, "a", [1], "x", "one", timestamp: 10)
        try engine!.flush()
        try engine!.put(t, "a", [2], "x", "two", timestamp: 10)
        try engine!.put(t, "a", [1], "x", "ONE", timestamp: 11)
        #expect(try engine!.values(t, "a") == ["ONE", "two"])
        try engine!.close()
        engine = nil
        let again = try h.open()
        #expect(try again.values(t, "a") == ["ONE", "two"])
        #expect(try again.values(t, "missing") == [])
    }

    /// A batch applies each mutation on its own: one that fails (unknown
    /// table) gets its error, the others are applied and survive a reopen.
    @Test func aBatchAppliesEachMutationAndReportsEachFailure() throws {
        let h = EngineHarness()
        var engine: StorageEngine? = try h.open()
        let t = try engine!.ensureTable()
        func cell(_ key: String, _ value: String) -> Mutation {
            Mutation(table: t, update: PartitionUpdate(key: bytes(key), rows: [
                Row(clustering: [1], cells: [.live("x", bytes(value), timestamp: 3)])]))
        }
        let errors = engine!.apply(batch: [cell("a", "one"), Mutation(table: TableID(999), update: PartitionUpdate(key: bytes("z"))),
                                           cell("b", "two")])
        #expect(errors.map { $0?.code } == [nil, .unknownTable, nil])
        try engine!.close()
        engine = nil
        let again = try h.open()
        #expect(try again.values(t, "a") == ["one"] && again.values(t, "b") == ["two"])
    }

    @Test func lastWriteWinsWithDeterministicTies() throws {
        let e = try EngineHarness().open()
        let t = try e.ensureTable()
        try e.put(t, "k", [], "c", "bbb", timestamp: 5)
        try e.put(t, "k", [], "c", "aaa", timestamp: 5)
        #expect(try e.values(t, "k") == ["bbb"]) // greater value wins a tie
        try e.put(t, "k", [], "c", "old", timestamp: 4)
        #expect(try e.values(t, "k") == ["bbb"])
        try e.apply(Mutation(table: t, update: PartitionUpdate(key: bytes("k"), rows: [
            Row(clustering: [], cells: [.tombstone(bytes("c"), timestamp: 5, deletedAt: 0)]),
        ])))
        #expect(try e.values(t, "k") == []) // a tombstone wins a tie
    }

    @Test func tombstonesOfEveryScope() throws {
        let h = EngineHarness()
        let e = try h.open()
        let t = try e.ensureTable()
        for c in 0..<10 { try e.put(t, "p", [UInt8(c)], "v", "\(c)", timestamp: 100) }
        try e.flush()
        // Row deletion of row 3 (newer), range deletion [5, 7), cell deletion in row 8.
        try e.apply(Mutation(table: t, update: PartitionUpdate(key: bytes("p"), rows: [
            Row(clustering: [3], deletion: DeletionTime(markedAt: 101, localDeletionTime: 0), cells: []),
        ])))
        try e.apply(Mutation(table: t, update: PartitionUpdate(key: bytes("p"), rangeTombstones: [
            RangeTombstone(range: .halfOpen([5], [7]), deletion: DeletionTime(markedAt: 101, localDeletionTime: 0)),
        ])))
        try e.apply(Mutation(table: t, update: PartitionUpdate(key: bytes("p"), rows: [
            Row(clustering: [8], cells: [.tombstone(bytes("v"), timestamp: 101, deletedAt: 0)]),
        ])))
        let expected = ["0", "1", "2", "4", "7", "9"]
        #expect(try e.values(t, "p") == expected)
        try e.flush()
        #expect(try e.values(t, "p") == expected)
        // An older row deletion does not shadow newer data.
        try e.apply(Mutation(table: t, update: PartitionUpdate(key: bytes("p"), rows: [
            Row(clustering: [9], deletion: DeletionTime(markedAt: 99, localDeletionTime: 0), cells: []),
        ])))
        #expect(try e.values(t, "p") == expected)
        // Partition deletion shadows everything older; newer writes survive.
        try e.apply(Mutation(table: t, update: PartitionUpdate(key: bytes("p"), deletion: DeletionTime(markedAt: 200, localDeletionTime: 0))))
        try e.put(t, "p", [4], "v", "new", timestamp: 201)
        #expect(try e.values(t, "p") == ["new"])
        try e.compact(major: true)
        #expect(try e.values(t, "p") == ["new"])
    }

    @Test func ttlExpiresCellsAndDefaultTTLApplies() throws {
        let h = EngineHarness()
        let e = try h.open()
        let t = try e.ensureTable()
        try e.put(t, "k", [1], "v", "short", timestamp: 1, ttl: 10)
        try e.put(t, "k", [2], "v", "forever", timestamp: 1)
        h.clock.advance(by: .seconds(9))
        #expect(try e.values(t, "k") == ["short", "forever"])
        h.clock.advance(by: .seconds(2))
        #expect(try e.values(t, "k") == ["forever"])
        var options = TableOptions()
        options.defaultTTLSeconds = 60
        let t2 = try e.ensureTable("ttl", options: options)
        try e.put(t2, "k", [], "v", "x", timestamp: 1)
        h.clock.advance(by: .seconds(61))
        #expect(try e.values(t2, "k") == [])
    }

    @Test func slicesOrdersAndLimitsOnBothTableOrders() throws {
        for order in [ClusteringOrder.ascending, .descending] {
            var options = TableOptions()
            options.clusteringOrder = order
            options.blockBytes = .kibibytes(1) // many blocks per partition
            let e = try EngineHarness().open()
            let t = try e.ensureTable("ts", options: options)
            for i in 0..<300 { try e.put(t, "sensor", be64(Int64(i) * 60), "v", "r\(i)", timestamp: 1) }
            try e.flush()
            for i in 300..<400 { try e.put(t, "sensor", be64(Int64(i) * 60), "v", "r\(i)", timestamp: 1) }
            let slice = ClusteringRange.halfOpen(be64(100 * 60), be64(350 * 60))
            let asc = try e.values(t, "sensor", slice: slice)
            #expect(asc == (100..<350).map { "r\($0)" }, "order \(order)")
            #expect(try e.values(t, "sensor", slice: slice, descending: true) == (100..<350).reversed().map { "r\($0)" })
            #expect(try e.values(t, "sensor", slice: slice, limit: 5) == (100..<105).map { "r\($0)" })
            #expect(try e.values(t, "sensor", limit: 3, descending: true) == ["r399", "r398", "r397"])
            #expect(try e.values(t, "sensor", slice: .single(be64(120 * 60))) == ["r120"])
        }
    }

    @Test func limitsGiveClearErrors() throws {
        let e = try EngineHarness().open()
        let t = try e.ensureTable()
        func code(_ body: () throws -> Void) -> StorageError.Code? {
            do { try body() } catch let e as StorageError { return e.code } catch { return nil }
            return nil
        }
        #expect(code { try e.put(t, String(repeating: "k", count: 70_000), [], "v", "x", timestamp: 1) } == .limitExceeded)
        #expect(code { try e.put(t, "k", [], "v", String(repeating: "x", count: 5 << 20), timestamp: 1) } == .limitExceeded)
        #expect(code { try e.put(t, "", [], "v", "x", timestamp: 1) } == .invalidArgument)
        #expect(code { try e.put(TableID(999), "k", [], "v", "x", timestamp: 1) } == .unknownTable)
        #expect(code { _ = try e.ensureTable("bad name!") } == .invalidArgument)
        // Nothing half-applied: the engine still works.
        try e.put(t, "k", [], "v", "ok", timestamp: 1)
        #expect(try e.values(t, "k") == ["ok"])
    }

    @Test func corruptBlockFailsOnlyReadsThatTouchIt() throws {
        var options = TableOptions()
        options.compression = .none
        options.blockBytes = .kibibytes(1)
        let h = EngineHarness()
        let e = try h.open()
        let t = try e.ensureTable("c", options: options)
        for i in 0..<200 { try e.put(t, "key\(i)", [], "v", String(repeating: "v\(i)", count: 20), timestamp: 1) }
        try e.flush()
        let path = e.sstables(of: t)[0].path
        h.fs.flipBit(path, byteOffset: 10)
        var failed = 0, served = 0
        for i in 0..<200 {
            do {
                #expect(try e.values(t, "key\(i)") == [String(repeating: "v\(i)", count: 20)])
                served += 1
            } catch let error as StorageError {
                #expect(error.code == .corruption)
                #expect(error.path == path)
                failed += 1
            }
        }
        #expect(failed > 0 && failed < 20)
        #expect(served > 180)
    }

    @Test func fullDiskStopsWritesWithoutLosingAcknowledgedOnes() throws {
        let h = EngineHarness()
        var e: StorageEngine? = try h.open()
        let t = try e!.ensureTable()
        var acknowledged: [Int] = []
        h.fs.failWithNoSpace(afterBytes: 20_000)
        var sawNoSpace = false
        for i in 0..<1000 {
            do {
                try e!.put(t, "k\(i)", [], "v", String(repeating: "x", count: 100), timestamp: 1)
                acknowledged.append(i)
            } catch let error as StorageError {
                #expect(error.code == .io || error.code == .writesStopped)
                sawNoSpace = true
                break
            }
        }
        #expect(sawNoSpace)
        // Reads keep working; later writes keep failing clearly.
        #expect(try e!.values(t, "k0") == [String(repeating: "x", count: 100)])
        #expect(throws: StorageError.self) { try e!.put(t, "later", [], "v", "x", timestamp: 1) }
        h.fs.failWithNoSpace(afterBytes: nil)
        try? e!.close()
        e = nil
        let reopened = try h.open()
        for i in acknowledged { #expect(try reopened.values(t, "k\(i)").count == 1) }
    }
}

@Suite struct BackpressureTests {
    /// With a tiny budget and eight writers, flushing cannot keep up: writers
    /// wait (counted), memory stays within the budget plus one mutation per
    /// writer, and every write lands.
    @Test func writersStallUnderTheMemtableBudget() throws {
        var h = EngineHarness()
        h.options.background = .threads
        h.options.syncMode = .periodic(.seconds(10))
        h.options.memtableBudget = .kibibytes(64)
        h.options.memtableFlushBytes = .kibibytes(16)
        let engine = try StorageEngine(directory: h.directory, fileSystem: h.fs, clock: SystemClock(), options: h.options)
        let t = try engine.ensureTable()
        let value = String(repeating: "x", count: 200)
        let writers = (0..<8).map { w in
            WorkerThread(name: "w\(w)") {
                for i in 0..<400 { try? engine.put(t, "k\(w)-\(i)", [], "v", value, timestamp: 1) }
            }
        }
        for w in writers { w.join() }
        let s = engine.statistics
        #expect(s.writes == 3200)
        #expect(s.writeStalls > 0, "\(s)")
        #expect(s.memtableBytesPeak <= 64 * 1024 + 8 * 1024, "\(s)")
        #expect(try engine.values(t, "k7-399") == [value])
        try engine.close()
    }
}

@Suite struct TokenScanTests {
    /// Paging through a token range with `after` visits every live partition
    /// once, in ring order, across memtables and many index chunks.
    @Test func pagedScansVisitEveryPartitionOnceInRingOrder() throws {
        var options = TableOptions()
        options.blockBytes = .kibibytes(1)
        let e = try EngineHarness().open()
        let t = try e.ensureTable("s", options: options)
        for i in 0..<1500 { try e.put(t, "key-\(i)", [], "v", "x", timestamp: 1) }
        try e.flush()
        for i in 1500..<1700 { try e.put(t, "key-\(i)", [], "v", "x", timestamp: 1) }
        try e.apply(Mutation(table: t, update: PartitionUpdate(key: bytes("key-7"), deletion: DeletionTime(markedAt: 5, localDeletionTime: 0))))
        var seen: [[UInt8]] = []
        var after: PartitionPosition? = nil
        var pages = 0
        while pages < 1000 {
            let page = try e.scan(t, range: .full, after: after, limit: 37)
            seen += page.partitions.map(\.key)
            guard let last = page.last else { break }
            after = last
            pages += 1
        }
        #expect(seen.count == 1699)
        #expect(Set(seen).count == 1699)
        #expect(!seen.contains(bytes("key-7")))
        let positions = seen.map { PartitionPosition(key: $0) }
        #expect(positions == positions.sorted())
        // A sub-range holds exactly the partitions whose tokens fall in it.
        let range = TokenRange(lower: -1 << 62, upper: 1 << 62)
        let inRange = try e.scan(t, range: range, limit: 5000).partitions.map { PartitionPosition(key: $0.key) }
        #expect(inRange.allSatisfy { range.contains($0.token) })
        #expect(inRange.count == positions.filter { range.contains($0.token) }.count)
    }
}

@Suite struct ReviewRegressionTests {
    /// A negative TTL was accepted and then made the commit log undecodable.
    @Test func invalidTTLsAndGcGraceAreRejectedUpFront() throws {
        let h = EngineHarness()
        var e: StorageEngine? = try h.open()
        let t = try e!.ensureTable()
        for ttl: Int32 in [-1, 0, .min] {
            #expect(throws: StorageError.self) { try e!.put(t, "k", [], "v", "x", timestamp: 1, ttl: ttl) }
        }
        var options = TableOptions()
        options.gcGraceSeconds = .max / 2
        #expect(throws: StorageError.self) { _ = try e!.ensureTable("g", options: options) }
        try e!.put(t, "k", [], "v", "ok", timestamp: 1, ttl: 60)
        try e!.close()
        e = nil
        #expect(try h.open().values(t, "k") == ["ok"])
    }

    /// Paging a wrapping token range must not restart the first piece.
    @Test func pagingAWrappingRangeTerminatesAndCoversIt() throws {
        let e = try EngineHarness().open()
        let t = try e.ensureTable()
        for i in 0..<300 { try e.put(t, "key-\(i)", [], "v", "x", timestamp: 1) }
        let range = TokenRange(lower: 1 << 60, upper: -(1 << 60)) // wraps past Int64.max
        var seen: [PartitionPosition] = []
        var after: PartitionPosition?
        for _ in 0..<100 {
            let page = try e.scan(t, range: range, after: after, limit: 7)
            seen += page.partitions.map { PartitionPosition(key: $0.key) }
            guard let last = page.last else { break }
            after = last
        }
        let expected = (0..<300).map { PartitionPosition(key: bytes("key-\($0)")) }.filter { range.contains($0.token) }
        #expect(seen.count == expected.count)
        #expect(Set(seen) == Set(expected))
    }

    /// Every open/close used to leave an empty segment behind.
    @Test func reopeningDoesNotAccumulateSegments() throws {
        let h = EngineHarness()
        let t = try { () throws -> TableID in
            let e = try h.open()
            defer { try? e.close() }
            return try e.ensureTable()
        }()
        for _ in 0..<10 { try h.open().close() }
        #expect(try h.fs.listDirectory("/data/commitlog").count <= 2)
        let e = try h.open()
        try e.put(t, "k", [], "v", "x", timestamp: 1)
        #expect(try e.values(t, "k") == ["x"])
    }

    @Test func negativeLimitIsAnError() throws {
        let e = try EngineHarness().open()
        let t = try e.ensureTable()
        #expect(throws: StorageError.self) { _ = try e.read(t, key: bytes("k"), limit: -1) }
    }
}
