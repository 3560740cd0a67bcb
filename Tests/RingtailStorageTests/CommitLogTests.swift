// Commit log framing, torn tails and corruption.
import RingtailCore
import RingtailPosix
import RingtailSimulation
import Testing
@testable import RingtailStorage

@Suite struct CommitLogTests {
    func segmentImage(_ payloads: [[UInt8]]) -> [UInt8] {
        var image = CommitLogFormat.header(segment: 7)
        for p in payloads { image += CommitLogFormat.frame(p) }
        return image
    }

    @Test func scansWhatWasFramed() throws {
        let image = segmentImage([[1, 2, 3], [4], Array(repeating: 9, count: 300)])
        let scan = try CommitLogScanner.scan(image, path: "seg", allowTornTail: false)
        #expect(scan.segment == 7)
        #expect(scan.records.map(\.payload) == [[1, 2, 3], [4], Array(repeating: 9, count: 300)])
        #expect(scan.validBytes == image.count)
        #expect(scan.tornTailOffset == nil)
    }

    @Test func tornFinalRecordIsReportedAtEveryCut() throws {
        let whole = segmentImage([[1, 2, 3], [4, 5, 6, 7]])
        let secondStart = CommitLogFormat.headerBytes + 3 + CommitLogFormat.recordOverheadBytes
        for cut in secondStart + 1..<whole.count {
            let scan = try CommitLogScanner.scan(Array(whole[0..<cut]), path: "seg", allowTornTail: true)
            #expect(scan.records.count == 1)
            #expect(scan.tornTailOffset == secondStart)
            #expect(throws: StorageError.self) { try CommitLogScanner.scan(Array(whole[0..<cut]), path: "seg", allowTornTail: false) }
        }
        // A zero-filled tail (pages that never landed) is torn too.
        let zeros = Array(whole[0..<secondStart]) + Array(repeating: 0, count: 40)
        #expect(try CommitLogScanner.scan(zeros, path: "seg", allowTornTail: true).tornTailOffset == secondStart)
    }

    @Test func corruptionInTheMiddleNamesFileAndOffset() throws {
        var image = segmentImage([[1, 2, 3], [4, 5, 6], [7, 8, 9]])
        let first = CommitLogFormat.headerBytes
        image[first + 9] ^= 0x10 // inside the first payload
        do {
            _ = try CommitLogScanner.scan(image, path: "/d/commitlog-1.log", allowTornTail: true)
            Issue.record("expected a corruption error")
        } catch let error as StorageError {
            #expect(error.code == .corruption)
            #expect(error.path == "/d/commitlog-1.log")
            #expect(error.offset == first)
        }
        var badLength = segmentImage([[1, 2, 3], [4, 5, 6]])
        badLength[first] ^= 0x01
        #expect(throws: StorageError.self) { try CommitLogScanner.scan(badLength, path: "x", allowTornTail: true) }
    }

    @Test func replayTruncatesTornTailAndKeepsAcknowledgedWrites() throws {
        let h = EngineHarness()
        var engine: StorageEngine? = try h.open()
        let t = try engine!.ensureTable()
        for i in 0..<20 { try engine!.put(t, "k\(i)", [], "v", "value\(i)", timestamp: Int64(i + 1)) }
        try engine!.close()
        engine = nil
        // Append half a record to the newest segment, as a crash mid-write would.
        let dir = "/data/commitlog"
        let newest = try h.fs.listDirectory(dir).last!
        let file = try h.fs.openForAppend(dir + "/" + newest)
        try file.append(Array(CommitLogFormat.frame(Array(repeating: 1, count: 100)).prefix(50)))
        let reopened = try h.open()
        #expect(reopened.statistics.tornTailsTruncated == 1)
        for i in 0..<20 { #expect(try reopened.values(t, "k\(i)") == ["value\(i)"]) }
    }

    @Test func corruptOlderSegmentFailsOpenWithItsName() throws {
        var h = EngineHarness()
        h.options.commitLogSegmentBytes = .kibibytes(4)
        var engine: StorageEngine? = try h.open()
        let t = try engine!.ensureTable()
        for i in 0..<200 { try engine!.put(t, "k\(i)", [], "v", String(repeating: "x", count: 50), timestamp: 1) }
        try engine!.close()
        engine = nil
        let segments = try h.fs.listDirectory("/data/commitlog")
        #expect(segments.count > 2)
        h.fs.flipBit("/data/commitlog/" + segments[0], byteOffset: 100)
        do {
            _ = try h.open()
            Issue.record("expected corruption")
        } catch let error as StorageError {
            #expect(error.code == .corruption)
            #expect(error.path == "/data/commitlog/" + segments[0])
        }
    }

    @Test func groupCommitSharesFsyncsAcrossThreads() throws {
        var h = EngineHarness()
        h.options.background = .threads
        h.options.syncMode = .group(.milliseconds(5))
        let engine = try StorageEngine(directory: h.directory, fileSystem: h.fs, clock: SystemClock(), options: h.options)
        let t = try engine.ensureTable()
        let writers = (0..<16).map { w in
            WorkerThread(name: "w\(w)") {
                for i in 0..<25 { try? engine.put(t, "k\(w)-\(i)", [], "v", "x", timestamp: 1) }
            }
        }
        for w in writers { w.join() }
        let s = engine.statistics
        #expect(s.writes == 400)
        // 400 acknowledged writes must have shared fsyncs.
        #expect(s.commitLogFsyncs < 200)
        try engine.close()
    }
}

@Suite struct CommitLogRegressionTests {
    /// Found while documenting the format: a flush recorded `flushedUpTo` in
    /// a segment whose file did not exist yet and deleted the older ones; a
    /// restart then numbered new segments from 1, below `flushedUpTo`, and
    /// replay skipped acknowledged writes.
    @Test func writesAfterRestartAreNeverBelowTheFlushedPosition() throws {
        let h = EngineHarness()
        var entropy = SeededEntropy(seed: 1)
        func kill(_ engine: inout StorageEngine?) {
            h.fs.crash(afterOperations: 0) // the process dies: nothing more reaches the disk
            engine = nil
            h.fs.recoverFromCrash(entropy: &entropy)
        }
        var e: StorageEngine? = try h.open()
        let t = try e!.ensureTable()
        try e!.put(t, "a", [], "v", "1", timestamp: 1)
        try e!.close()
        e = try h.open()
        try e!.flush()
        kill(&e)
        e = try h.open()
        try e!.put(t, "b", [], "v", "2", timestamp: 2)
        kill(&e)
        let reopened = try h.open()
        #expect(try reopened.values(t, "a") == ["1"])
        #expect(try reopened.values(t, "b") == ["2"])
    }

    @Test func missingManifestWithDataRefusesToOpen() throws {
        let h = EngineHarness()
        let e = try h.open()
        let t = try e.ensureTable()
        try e.put(t, "a", [], "v", "1", timestamp: 1)
        try e.flush()
        try e.close()
        try h.fs.removeFile("/data/MANIFEST")
        #expect(throws: StorageError.self) { _ = try h.open() }
        #expect(try h.fs.listDirectory("/data/tables").count == 1, "nothing was deleted")
    }

    @Test func zeroFilledHeaderOfNewestSegmentIsATornTail() throws {
        let image = [UInt8](repeating: 0, count: CommitLogFormat.headerBytes + 10)
        let scan = try CommitLogScanner.scan(image, path: "seg", allowTornTail: true)
        #expect(scan.records.isEmpty && scan.tornTailOffset == 0)
        #expect(throws: StorageError.self) { try CommitLogScanner.scan(image, path: "seg", allowTornTail: false) }
    }
}
