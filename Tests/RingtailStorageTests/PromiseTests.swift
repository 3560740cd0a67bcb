// Promises the README and the format docs make about the storage engine
// that no other test would catch breaking: the periodic syncer makes writes
// durable, an oversized mutation changes nothing (also after a restart),
// corrupt or incomplete metadata stops the open with a clear error, and a
// full disk during a flush loses nothing acknowledged.
#if canImport(Glibc)
import Glibc
#endif
import RingtailCore
import RingtailSimulation
import Testing
@testable import RingtailStorage

@Suite struct PromiseTests {
    /// README/commit-log.md: in periodic mode a syncer fsyncs once per
    /// period, so a power loss loses at most the last period. Here: once a
    /// sync has happened after the writes, a crash keeps every one of them.
    @Test func periodicSyncerMakesWritesDurable() throws {
        var h = EngineHarness()
        h.options.background = .threads
        h.options.syncMode = .periodic(.milliseconds(20))
        let e = try h.open()
        let t = try e.ensureTable()
        for i in 0..<100 { try e.put(t, "k\(i)", [], "v", "x\(i)", timestamp: 1) }
        // Bounded wait (5 s) for the syncer's first round (due in 20 ms), then
        // five more periods: the writes above must be synced by then.
        for _ in 0..<500 where e.statistics.commitLogFsyncs == 0 { usleep(10_000) }
        #expect(e.statistics.commitLogFsyncs > 0, "the periodic syncer never synced")
        usleep(100_000)
        h.fs.crash(afterOperations: 0)
        e.kill()
        var tear = SeededEntropy(seed: 1)
        h.fs.recoverFromCrash(entropy: &tear)
        h.options.background = .manual
        let reopened = try h.open()
        for i in 0..<100 { #expect(try reopened.values(t, "k\(i)") == ["x\(i)"]) }
        try reopened.close()
    }

    /// commit-log.md: a mutation larger than the limit (half a segment here)
    /// is refused before anything reaches the commit log, so a restart
    /// replays nothing of it.
    @Test func oversizedMutationChangesNothingEvenAfterRestart() throws {
        let h = EngineHarness() // 64 KiB segments: mutations up to 32 KiB
        var e: StorageEngine? = try h.open()
        let t = try e!.ensureTable()
        let logBytes = { () throws -> Int in
            try h.fs.listDirectory(h.directory + "/commitlog").reduce(0) { try $0 + h.fs.fileSize(h.directory + "/commitlog/" + $1) }
        }
        let sizeBefore = try logBytes()
        let rows = (0..<10).map { i in
            Row(clustering: [UInt8(i)], cells: [Cell(column: Array("v".utf8), timestamp: 1, value: [UInt8](repeating: 7, count: 4096))])
        }
        let error = #expect(throws: StorageError.self) {
            try e!.apply(Mutation(table: t, update: PartitionUpdate(key: Array("big".utf8), rows: rows)))
        }
        #expect(error?.code == .limitExceeded)
        #expect(try logBytes() == sizeBefore)
        try e!.close()
        e = nil
        let reopened = try h.open()
        #expect(try reopened.values(t, "big").isEmpty)
        try reopened.close()
    }

    /// manifest.md: a MANIFEST that fails its checksum, or that names an
    /// SSTable which is gone, stops the open with a corruption error naming
    /// the file, and deletes nothing.
    @Test func corruptManifestAndMissingSSTableStopTheOpen() throws {
        let h = EngineHarness()
        let e = try h.open()
        let t = try e.ensureTable()
        for i in 0..<20 { try e.put(t, "k\(i)", [], "v", "x", timestamp: 1) }
        try e.flush()
        try e.close()
        let tables = try h.fs.listDirectory(h.directory + "/tables")
        let sstable = try #require(tables.first { $0.hasSuffix(".sst") })

        let manifest = h.directory + "/MANIFEST"
        h.fs.flipBit(manifest, byteOffset: try h.fs.fileSize(manifest) - 3)
        let bad = #expect(throws: StorageError.self) { _ = try h.open() }
        #expect(bad?.code == .corruption && bad?.path == manifest)
        #expect(try h.fs.listDirectory(h.directory + "/tables") == tables)
        h.fs.flipBit(manifest, byteOffset: try h.fs.fileSize(manifest) - 3) // restore

        try h.fs.removeFile(h.directory + "/tables/" + sstable)
        let missing = #expect(throws: StorageError.self) { _ = try h.open() }
        #expect(missing?.code == .corruption && missing?.path == h.directory + "/tables/" + sstable)
    }

    /// README: with a full disk, writes stop with an error, reads go on, and
    /// nothing acknowledged is lost — also when the disk fills during a flush.
    @Test func fullDiskDuringFlushLosesNothingAcknowledged() throws {
        let h = EngineHarness()
        var e: StorageEngine? = try h.open()
        let t = try e!.ensureTable()
        for i in 0..<100 { try e!.put(t, "k\(i)", [], "v", "x\(i)", timestamp: 1) }
        h.fs.failWithNoSpace(afterBytes: 0)
        #expect(throws: StorageError.self) { try e!.flush() }
        for i in 0..<100 { #expect(try e!.values(t, "k\(i)") == ["x\(i)"]) }
        #expect(throws: StorageError.self) { try e!.put(t, "later", [], "v", "x", timestamp: 1) }
        h.fs.failWithNoSpace(afterBytes: nil)
        try? e!.close()
        e = nil
        let reopened = try h.open()
        for i in 0..<100 { #expect(try reopened.values(t, "k\(i)") == ["x\(i)"]) }
        try reopened.close()
    }
}
