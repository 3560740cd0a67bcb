// The durable hint store: hints come back in creation order, survive a
// restart and a crash, are removed once acknowledged, expire with the hint
// window (never delivered late), and stop at the byte budget.
import RingtailCluster
import RingtailCore
import RingtailSimulation
import RingtailStorage
import Testing

@Suite struct HintStoreTests {
    func engine(_ fs: CrashableFileSystem, _ clock: ManualClock) throws -> StorageEngine {
        var options = EngineOptions()
        options.background = .manual
        options.syncMode = .batch
        return try StorageEngine(directory: "/node", fileSystem: fs, clock: clock, options: options)
    }

    func update(_ key: String, _ value: String) -> PartitionUpdate {
        PartitionUpdate(key: Array(key.utf8), rows: [Row(clustering: [], cells: [Cell.live("v", Array(value.utf8), timestamp: 7)])])
    }

    @Test func hintsComeBackInOrderAndSurviveRestartAndCrash() throws {
        let fs = CrashableFileSystem()
        let clock = ManualClock()
        var e: StorageEngine? = try engine(fs, clock)
        var hints: HintStore? = try HintStore(engine: e!, clock: clock)
        for i in 0..<3 {
            #expect(try hints!.store(update("k\(i)", "v\(i)"), table: "iot.readings", for: NodeID("n2")) == .stored)
            clock.advance(by: .milliseconds(1))
        }
        try hints!.store(update("x", "y"), table: "iot.readings", for: NodeID("n3"))
        #expect(hints!.pending(for: NodeID("n2")).hints == 3)
        let batch = try hints!.nextBatch(for: NodeID("n2"), limit: 10)
        #expect(batch.map { String(decoding: $0.update.key, as: UTF8.self) } == ["k0", "k1", "k2"])
        #expect(batch.allSatisfy { $0.table == "iot.readings" })
        #expect(batch[1].update == update("k1", "v1"))
        try hints!.acknowledge(through: batch[1])
        #expect(hints!.pending(for: NodeID("n2")).hints == 1)
        // Crash (nothing unsynced survives; batch mode synced every hint), then reopen.
        fs.crash(afterOperations: 0)
        hints = nil
        e = nil
        var entropy = SeededEntropy(seed: 1)
        fs.recoverFromCrash(entropy: &entropy)
        let reopened = try engine(fs, clock)
        let again = try HintStore(engine: reopened, clock: clock)
        #expect(again.pending(for: NodeID("n2")).hints == 1)
        #expect(again.pending(for: NodeID("n3")).hints == 1)
        #expect(try again.nextBatch(for: NodeID("n2"), limit: 10).map { String(decoding: $0.update.key, as: UTF8.self) } == ["k2"])
        #expect(again.targets == [NodeID("n2"), NodeID("n3")])
        // New hints after a restart sort after the old ones.
        try again.store(update("k3", "v3"), table: "iot.readings", for: NodeID("n2"))
        #expect(try again.nextBatch(for: NodeID("n2"), limit: 10).map { String(decoding: $0.update.key, as: UTF8.self) } == ["k2", "k3"])
    }

    @Test func hintsExpireWithTheWindow() throws {
        let clock = ManualClock()
        var options = HintStore.Options()
        options.window = .seconds(3600)
        let hints = try HintStore(engine: try engine(CrashableFileSystem(), clock), clock: clock, options: options)
        try hints.store(update("old", "1"), table: "ks.t", for: NodeID("n2"))
        clock.advance(by: .seconds(1800))
        try hints.store(update("new", "2"), table: "ks.t", for: NodeID("n2"))
        clock.advance(by: .seconds(1801)) // the first is 3601 s old, the second 1801 s
        let batch = try hints.nextBatch(for: NodeID("n2"), limit: 10)
        #expect(batch.map { String(decoding: $0.update.key, as: UTF8.self) } == ["new"])
        #expect(hints.statistics.droppedExpired == 1)
        #expect(hints.pending(for: NodeID("n2")).hints == 1)
    }

    @Test func theByteBudgetDropsAndCounts() throws {
        let clock = ManualClock()
        var options = HintStore.Options()
        options.targetBytesMax = .bytes(200)
        let hints = try HintStore(engine: try engine(CrashableFileSystem(), clock), clock: clock, options: options)
        var outcomes: [HintStore.StoreOutcome] = []
        for i in 0..<10 { outcomes.append(try hints.store(update("k\(i)", String(repeating: "x", count: 40)), table: "ks.t", for: NodeID("n2"))) }
        #expect(outcomes.filter { $0 == .stored }.count < 10)
        #expect(hints.statistics.droppedOverBudget == outcomes.filter { $0 != .stored }.count)
        #expect(hints.pending(for: NodeID("n2")).bytes <= 200)
        // Another target has its own budget.
        #expect(try hints.store(update("k", "v"), table: "ks.t", for: NodeID("n3")) == .stored)
    }

    @Test func partitionUpdatesRoundTripAndRejectGarbage() throws {
        let u = PartitionUpdate(key: Array("k".utf8), deletion: DeletionTime(markedAt: 5, localDeletionTime: 6),
                                rangeTombstones: [RangeTombstone(range: .halfOpen([1], [3]), deletion: DeletionTime(markedAt: 4, localDeletionTime: 4))],
                                rows: [Row(clustering: [2], cells: [Cell.live("a", [1, 2], timestamp: 9)])])
        #expect(try PartitionUpdate(decoding: u.encoded()) == u)
        #expect(throws: StorageError.self) { _ = try PartitionUpdate(decoding: [0xFF, 0xFF, 0xFF]) }
        #expect(throws: StorageError.self) { _ = try PartitionUpdate(decoding: u.encoded() + [0]) }
    }
}
