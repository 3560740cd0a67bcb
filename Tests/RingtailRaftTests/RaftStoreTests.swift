// The Raft store: what was persisted reads back after a reopen, a crash at
// any file operation leaves either the state before the batch or after it,
// and compaction keeps the state while shrinking the file.
import RingtailCore
import RingtailPosix
import RingtailSimulation
import Testing
@testable import RingtailRaft

@Suite struct RaftStoreTests {
    static func entries(_ from: UInt64, _ count: Int, term: UInt64) -> [RaftEntry] {
        (0..<count).map { RaftEntry(term: term, index: from + UInt64($0), data: Array("e\(from + UInt64($0))".utf8)) }
    }

    @Test func persistedStateReadsBack() throws {
        let fs = CrashableFileSystem()
        let store = try RaftStore(path: "/data/metadata/raft.log", fileSystem: fs)
        try store.persist([.persistState(term: 3, votedFor: NodeID("n2"), commitIndex: 0),
                           .persistEntries(from: 1, entries: Self.entries(1, 5, term: 3))])
        // A new leader replaces entries 4 and 5.
        try store.persist([.persistEntries(from: 4, entries: Self.entries(4, 1, term: 4)),
                           .persistState(term: 4, votedFor: nil, commitIndex: 3),
                           .send(to: NodeID("x"), .appendResponse(term: 4, success: true, index: 4))])
        store.close()
        let reopened = try RaftStore(path: "/data/metadata/raft.log", fileSystem: fs)
        #expect(reopened.state == store.state)
        #expect(reopened.state.entries.map(\.term) == [3, 3, 3, 4])
        #expect(reopened.state.term == 4 && reopened.state.votedFor == nil && reopened.state.commitIndex == 3)
        try reopened.compact()
        reopened.close()
        #expect(try RaftStore(path: "/data/metadata/raft.log", fileSystem: fs).state == store.state)
    }

    /// raft-log.md: a file grown past four times what it describes (plus
    /// 1 MiB) is rewritten as exactly the current state, by itself.
    @Test func aGrownFileCompactsItself() throws {
        let fs = CrashableFileSystem()
        let path = "/m/raft.log"
        let store = try RaftStore(path: path, fileSystem: fs)
        try store.persist([.persistEntries(from: 1, entries: Self.entries(1, 100, term: 1))])
        var largest = 0
        for commit in 1...150_000 {
            try store.persist([.persistState(term: 1, votedFor: NodeID("n1"), commitIndex: UInt64(commit % 100))])
            largest = max(largest, try fs.fileSize(path))
            if try fs.fileSize(path) < largest { break } // it compacted
        }
        let size = try fs.fileSize(path)
        #expect(largest > 1 << 20, "the file grew past the threshold")
        #expect(size < 64 << 10, "compacted to the state alone: \(size) bytes")
        store.close()
        let reopened = try RaftStore(path: path, fileSystem: fs)
        #expect(reopened.state == store.state)
        #expect(reopened.state.entries.count == 100)
    }

    @Test func aCrashLeavesTheStateBeforeOrAfterABatch() throws {
        for point in 0..<60 {
            let fs = CrashableFileSystem()
            var before = RaftRestoredState()
            var attempted = RaftRestoredState()
            fs.crash(afterOperations: point)
            do {
                let store = try RaftStore(path: "/m/raft.log", fileSystem: fs)
                for i in 0..<20 {
                    before = store.state
                    let from = UInt64(max(1, store.state.entries.count - i % 3 + 1))
                    attempted = before
                    attempted.term = UInt64(i)
                    attempted.votedFor = NodeID("n\(i % 3)")
                    attempted.entries.removeLast(attempted.entries.count - Int(from - 1))
                    attempted.entries += Self.entries(from, 2, term: UInt64(i))
                    try store.persist([.persistState(term: UInt64(i), votedFor: NodeID("n\(i % 3)"), commitIndex: 0),
                                       .persistEntries(from: from, entries: Self.entries(from, 2, term: UInt64(i)))])
                    before = store.state
                }
            } catch {}
            var entropy = SeededEntropy(seed: UInt64(point))
            fs.recoverFromCrash(entropy: &entropy)
            let reopened = try RaftStore(path: "/m/raft.log", fileSystem: fs)
            // Synced batches survive whole: the state is the last completed batch,
            // or (when the crash hit after its sync) the one in flight.
            #expect(reopened.state == before || reopened.state == attempted, "crash point \(point)")
        }
    }
}

@Suite struct RaftStoreGoldenTests {
    static let storeHex = """
        52 54 52 46 01 00 00 00 0c 00 00 00 42 05 0b f5
        01 01 02 6e 31 00 02 01 01 01 00 00
        """

    @Test func storeFileMatchesTheDocs() throws {
        let fs = CrashableFileSystem()
        let store = try RaftStore(path: "/m/raft.log", fileSystem: fs)
        try store.persist([.persistState(term: 1, votedFor: NodeID("n1"), commitIndex: 0),
                           .persistEntries(from: 1, entries: [RaftEntry(term: 1, index: 1, kind: .noop)])])
        let bytes = try fs.readFile("/m/raft.log")
        let expected = Hex.decode(Self.storeHex.filter { !$0.isWhitespace })!
        #expect(bytes == expected, "store bytes:\n\(Hex.dump(bytes))")
        let root = Path.directory(of: Path.directory(of: Path.directory(of: #filePath)))
        let doc = String(decoding: try PosixFileSystem().readFile(Path.join(root, "docs/formats/raft-log.md")), as: UTF8.self)
        #expect(Hex.blocks(inMarkdown: doc)?.contains(expected) == true, "docs/formats/raft-log.md must show these bytes")
    }
}

