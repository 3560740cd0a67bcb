// Golden bytes for the on-disk formats: each encoder's output for a small
// fixed input must equal, byte for byte, the worked example printed in
// docs/formats/ (commit-log.md, sstable.md, manifest.md), and a reader must
// refuse a file whose version it does not know.
import RingtailCore
import RingtailPosix
import RingtailSimulation
import Testing
@testable import RingtailStorage

@Suite struct FormatGoldenTests {
    // MARK: Commit log

    @Test func commitLogSegmentMatchesTheDocs() throws {
        let image = GoldenInputs.commitLogSegment()
        try expectBytes(image, equal: GoldenHex.commitLogSegment, "commit log segment")
        try expectDocShows(GoldenHex.commitLogSegment, in: "commit-log.md")
        // And it reads back as the same mutation.
        let scan = try CommitLogScanner.scan(image, path: "commitlog-000000000001.log", allowTornTail: false)
        #expect(scan.segment == 1)
        #expect(scan.records.count == 1)
        #expect(scan.records.first?.end == CommitLogPosition(segment: 1, offset: image.count))
        let decoded = try CommitLogFormat.decodeMutation(scan.records[0].payload, limits: StorageLimits())
        #expect(decoded == GoldenInputs.mutation)
        // The write path frames in one pass; it must produce the same bytes.
        let framed = CommitLogFormat.encodeFramedMutation(GoldenInputs.mutation)
        #expect(CommitLogFormat.header(segment: 1) + framed.framed == image)
        #expect(framed.payloadCount == 59)
    }

    @Test func commitLogRefusesAnUnknownVersion() throws {
        var image = GoldenInputs.commitLogSegment()
        image[4] = 2
        // Without a matching header checksum the header is damaged, not newer.
        expectStorageError(.corruption, path: "seg", offset: 0) {
            _ = try CommitLogScanner.scan(image, path: "seg", allowTornTail: true)
        }
        patchUInt32(&image, at: 16, CRC32C.checksum(image[0..<16]))
        expectStorageError(.unsupportedVersion, path: "/data/commitlog/commitlog-000000000001.log", offset: 4) {
            _ = try CommitLogScanner.scan(image, path: "/data/commitlog/commitlog-000000000001.log", allowTornTail: true)
        }
    }

    // MARK: SSTable

    @Test func sstableMatchesTheDocs() throws {
        let (fs, path) = try GoldenInputs.sstable()
        let file = try fs.readFile(path)
        #expect(path == "/data/tables/t1-g1.sst")
        #expect(file.count == GoldenHex.sstableLength)
        let expected = try Hex.parse(GoldenHex.sstable)
        #expect(expected.count == GoldenHex.sstableLength)
        // The first data block and the footer, then every byte.
        try expectBytes(Array(file.prefix(GoldenHex.sstableFirstBlockLength)),
                        equal: expected.prefix(GoldenHex.sstableFirstBlockLength), "first data block")
        try expectBytes(Array(file.suffix(SSTableFormat.footerBytes)),
                        equal: expected.suffix(SSTableFormat.footerBytes), "footer")
        try expectBytes(file, equal: expected[...], "SSTable file")
        try expectDocShows(GoldenHex.sstable, in: "sstable.md")

        // The reader agrees with the explanation in the docs.
        let reader = try SSTableReader(fileSystem: fs, path: path, limits: StorageLimits(), cache: nil)
        try reader.verify()
        #expect(reader.statistics.baseTimestamp == 1000)
        #expect(reader.footer.version == 1)
        #expect(reader.footer.bloom == BlockHandle(offset: 65, length: 19))
        #expect(reader.footer.statistics == BlockHandle(offset: 84, length: 99))
        #expect(reader.footer.summary == BlockHandle(offset: 183, length: 36))
        #expect(reader.footer.blockTable == BlockHandle(offset: 219, length: 12))
        #expect(reader.blockCount == 1)
        #expect(try reader.dataBlock(0).count == 31)
        #expect(reader.footer.fileDigest == CRC32C.checksum(file.dropLast(SSTableFormat.footerBytes)))
        let update = GoldenInputs.sstablePartition
        #expect(reader.mayContain(hash: BloomFilter.hash(update.key)))
        let entry = try #require(try reader.find(PartitionPosition(token: Murmur3.token(update.key), key: update.key)))
        #expect(entry.block == 0 && entry.offset == 0 && entry.rowIndex.isEmpty)
        var scanner = SSTableScanner(reader: reader)
        let first = try #require(try scanner.next())
        #expect(first.update == update)
        #expect(try scanner.next() == nil)
    }

    @Test func sstableRefusesAnUnknownVersion() throws {
        let (fs, path) = try GoldenInputs.sstable()
        var file = try fs.readFile(path)
        let footer = file.count - SSTableFormat.footerBytes
        file[footer + 48] = 2
        let patched = "/data/tables/t1-g2.sst"
        try writeFile(fs, patched, file)
        // The footer checksum covers the version: a stray bit is corruption.
        expectStorageError(.corruption, path: patched, offset: footer) {
            _ = try SSTableReader(fileSystem: fs, path: patched, limits: StorageLimits(), cache: nil)
        }
        patchUInt32(&file, at: footer + 56, CRC32C.checksum(file[footer..<footer + 56]))
        let newer = "/data/tables/t1-g3.sst"
        try writeFile(fs, newer, file)
        expectStorageError(.unsupportedVersion, path: newer, offset: footer + 48) {
            _ = try SSTableReader(fileSystem: fs, path: newer, limits: StorageLimits(), cache: nil)
        }
    }

    // MARK: Manifest

    @Test func manifestMatchesTheDocs() throws {
        let encoded = GoldenInputs.manifest.encode()
        try expectBytes(encoded, equal: GoldenHex.manifest, "manifest")
        try expectDocShows(GoldenHex.manifest, in: "manifest.md")
        #expect(try Manifest.decode(encoded, path: "/data/MANIFEST") == GoldenInputs.manifest)
    }

    @Test func manifestRefusesAnUnknownVersion() throws {
        var encoded = GoldenInputs.manifest.encode()
        encoded[4] = 2
        expectStorageError(.unsupportedVersion, path: "/data/MANIFEST", offset: 4) {
            _ = try Manifest.decode(encoded, path: "/data/MANIFEST")
        }
    }

    // MARK: End to end

    /// A new engine that creates the example table, applies the example
    /// mutation and flushes writes exactly the documented segment and manifest.
    @Test func engineWritesTheDocumentedSegmentAndManifest() throws {
        let fs = CrashableFileSystem()
        var options = EngineOptions()
        options.background = .manual
        options.syncMode = .batch
        let engine = try StorageEngine(directory: "/data", fileSystem: fs, clock: ManualClock(), options: options)
        let table = try engine.createTable(GoldenInputs.manifest.tables[0].definition)
        #expect(table == GoldenInputs.mutation.table)
        try engine.apply(GoldenInputs.mutation)
        try expectBytes(try fs.readFile("/data/commitlog/commitlog-000000000001.log"),
                        equal: GoldenHex.commitLogSegment, "segment written by the engine")
        try engine.flush()
        try expectBytes(try fs.readFile("/data/MANIFEST"), equal: GoldenHex.manifest, "manifest written by the engine")
        #expect(engine.sstables(of: table).map(\.path) == ["/data/tables/t1-g1.sst"])
        try engine.close()
    }

    @Test func hexParserIgnoresWhitespace() throws {
        #expect(try Hex.parse(" 52 54\n\t43 4c ") == [0x52, 0x54, 0x43, 0x4C])
        #expect(throws: Hex.ParseError.self) { try Hex.parse("5") }
        #expect(throws: Hex.ParseError.self) { try Hex.parse("zz") }
    }
}

// MARK: - Fixed inputs

/// The inputs behind every worked example. Changing one changes the docs.
enum GoldenInputs {
    /// One mutation of table 1: a range tombstone, a row with a live, an
    /// expiring and a deleted cell, and a deleted row.
    static let mutation = Mutation(table: TableID(1), update: PartitionUpdate(
        key: Array("dev1".utf8),
        rangeTombstones: [
            RangeTombstone(range: ClusteringRange(lower: .inclusive([0x10]), upper: .exclusive([0x20])),
                           deletion: DeletionTime(markedAt: 900, localDeletionTime: 950)),
        ],
        rows: [
            Row(clustering: [0x01], cells: [
                Cell(column: Array("a".utf8), timestamp: 1000, value: Array("x".utf8)),
                Cell(column: Array("b".utf8), timestamp: 1000, kind: .expiring(ttlSeconds: 60, expiresAt: 60_001_000),
                     value: Array("y".utf8)),
                Cell.tombstone(Array("c".utf8), timestamp: 1000, deletedAt: 1000),
            ]),
            Row(clustering: [0x02], deletion: DeletionTime(markedAt: 999, localDeletionTime: 1000), cells: []),
        ]))

    /// Segment 1 holding the mutation as its only record.
    static func commitLogSegment() -> [UInt8] {
        CommitLogFormat.header(segment: 1) + CommitLogFormat.frame(CommitLogFormat.encodeMutation(mutation))
    }

    /// The SSTable's only partition: one row, a live and an expiring cell.
    static let sstablePartition = PartitionUpdate(key: Array("dev1".utf8), rows: [
        Row(clustering: [0x01], cells: [
            Cell(column: Array("a".utf8), timestamp: 1000, value: Array("x".utf8)),
            Cell(column: Array("b".utf8), timestamp: 1005, kind: .expiring(ttlSeconds: 60, expiresAt: 60_001_005),
                 value: Array("y".utf8)),
        ]),
    ])

    /// Table 1, generation 1, no compression, base timestamp 1000.
    static func sstable() throws -> (CrashableFileSystem, String) {
        let fs = CrashableFileSystem()
        try fs.createDirectory("/data/tables")
        var options = TableOptions()
        options.compression = .none
        let builder = try SSTableBuilder(fileSystem: fs, directory: "/data/tables", table: TableID(1), generation: 1,
                                         options: options, limits: StorageLimits(), baseTimestamp: 1000,
                                         expectedPartitions: 1)
        try builder.add(sstablePartition, token: Murmur3.token(sstablePartition.key))
        _ = try builder.finish()
        return (fs, builder.finalPath)
    }

    /// One time-series table with one live SSTable.
    static let manifest: Manifest = {
        var options = TableOptions()
        options.clusteringOrder = .descending
        options.compaction = .timeWindow(TimeWindowOptions(unit: .days, size: 1))
        let definition = TableDefinition(keyspace: "iot", name: "readings",
                                         partitionKey: [ColumnDefinition("device", .text)],
                                         clusteringKey: [ColumnDefinition("time", .timestamp)],
                                         columns: [ColumnDefinition("value", .double)], options: options)
        var m = Manifest()
        m.nextGeneration = 2
        m.nextTableID = 2
        m.tables = [TableManifest(id: TableID(1), definition: definition,
                                  flushedUpTo: CommitLogPosition(segment: 1, offset: 91), sstables: [1])]
        return m
    }()
}

// MARK: - The hex printed in docs/formats/

/// Each string appears verbatim in a ```hex block of its document.
enum GoldenHex {
    /// docs/formats/commit-log.md, "Worked example".
    static let commitLogSegment = """
        52 54 43 4c 01 00 00 00 01 00 00 00 00 00 00 00
        77 13 fe 00 3b 00 00 00 ae 04 40 e2 01 01 04 64
        65 76 31 00 01 01 01 10 02 01 20 01 88 0e ec 0e
        02 01 01 00 03 00 01 61 d0 0f 01 78 02 01 62 d0
        0f 3c d0 ab 9c 39 01 79 01 01 63 d0 0f d0 0f 01
        02 01 ce 0f d0 0f 00 c5 9d 3b 2c
        """

    /// docs/formats/sstable.md, "Worked example".
    static let sstableLength = 299
    /// Data block 0 with its 9-byte trailer: bytes 0..<40.
    static let sstableFirstBlockLength = 40
    static let sstable = """
        01 04 64 65 76 31 00 00 02 01 01 00 02 00 01 61
        00 01 78 02 01 62 0a 3c 8a 9c 9c 39 01 79 03 00
        1f 00 00 00 e9 70 3d b8 f3 60 f6 8c a0 f7 bd c1
        04 64 65 76 31 00 00 00 00 10 00 00 00 b3 4a 8e
        28 1e 01 ff 01 f0 3f 00 fc 0f 80 00 0a 00 00 00
        2e 3b 8a 2a 01 01 01 01 02 00 00 00 01 e8 03 00
        00 00 00 00 00 ed 03 00 00 00 00 00 00 ed 8a 93
        03 00 00 00 00 ff ff ff ff ff ff ff 7f 3c 3c 01
        01 01 01 01 01 00 04 64 65 76 31 04 64 65 76 31
        f3 60 f6 8c a0 f7 bd c1 f3 60 f6 8c a0 f7 bd c1
        e8 03 00 00 00 00 00 00 1f 28 01 00 00 00 00 5a
        00 00 00 54 33 29 fa 01 f3 60 f6 8c a0 f7 bd c1
        04 64 65 76 31 28 00 00 00 00 00 00 00 19 00 00
        00 01 00 1b 00 00 00 76 df ac 9a 01 00 28 00 03
        00 00 00 06 48 c4 42 41 00 00 00 00 00 00 00 13
        00 00 00 54 00 00 00 00 00 00 00 63 00 00 00 b7
        00 00 00 00 00 00 00 24 00 00 00 db 00 00 00 00
        00 00 00 0c 00 00 00 01 00 00 00 19 9c 5c 08 21
        56 a7 6c 52 54 53 53 54 42 4c 31
        """

    /// docs/formats/manifest.md, "Worked example".
    static let manifest = """
        52 54 4d 46 01 00 00 00 6e 00 00 00 10 8b 83 4a
        02 02 01 01 03 69 6f 74 08 72 65 61 64 69 6e 67
        73 01 06 64 65 76 69 63 65 04 74 65 78 74 01 04
        74 69 6d 65 09 74 69 6d 65 73 74 61 6d 70 01 05
        76 61 6c 75 65 06 64 6f 75 62 6c 65 01 01 80 80
        01 7b 14 ae 47 e1 7a 84 3f 01 04 64 61 79 73 01
        04 20 00 00 00 00 00 00 e0 3f 00 00 00 00 00 00
        f8 3f 80 80 80 19 00 80 de 34 01 5b 01 01
        """
}

// MARK: - Helpers

/// Hex text as in the docs: two digits a byte, any whitespace between.
extension Hex {
    struct ParseError: Error, CustomStringConvertible {
        var description: String
    }

    /// Parses hex digits, ignoring all whitespace: "52 54\n43" is [0x52, 0x54, 0x43].
    static func parse(_ text: String) throws -> [UInt8] {
        guard let bytes = decode(text.filter { !$0.isWhitespace }) else { throw ParseError(description: "not hex: \(text.prefix(40))") }
        return bytes
    }

    /// Every ```hex block of `docs/formats/<document>`, parsed.
    static func blocks(inDocument document: String) throws -> [[UInt8]] {
        let root = Path.directory(of: Path.directory(of: Path.directory(of: #filePath)))
        let text = String(decoding: try PosixFileSystem().readFile(Path.join(root, "docs/formats/" + document)), as: UTF8.self)
        guard let blocks = blocks(inMarkdown: text) else { throw ParseError(description: "docs/formats/\(document) has a hex block that is not hex") }
        return blocks
    }
}

extension FormatGoldenTests {
    func expectBytes(_ actual: [UInt8], equal expectedHex: String, _ what: String,
                     sourceLocation: SourceLocation = #_sourceLocation) throws {
        try expectBytes(actual, equal: Hex.parse(expectedHex)[...], what, sourceLocation: sourceLocation)
    }

    /// On a mismatch, prints the encoder's bytes in the docs' layout.
    func expectBytes(_ actual: [UInt8], equal expected: ArraySlice<UInt8>, _ what: String,
                     sourceLocation: SourceLocation = #_sourceLocation) throws {
        guard actual != Array(expected) else { return }
        let firstDifference = zip(actual, expected).enumerated().first { $0.element.0 != $0.element.1 }?.offset
            ?? min(actual.count, expected.count)
        Issue.record("""
            \(what): encoder output differs from the docs at byte \(firstDifference) \
            (\(actual.count) bytes, expected \(expected.count)). Encoder output:
            \(Hex.dump(actual))
            """, sourceLocation: sourceLocation)
    }

    /// Checks that `docs/formats/<document>` shows the same bytes in a ```hex block.
    func expectDocShows(_ hex: String, in document: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let expected = try Hex.parse(hex)
        #expect(try Hex.blocks(inDocument: document).contains(expected),
                "docs/formats/\(document) has no ```hex block equal to the golden bytes", sourceLocation: sourceLocation)
    }

    func patchUInt32(_ bytes: inout [UInt8], at offset: Int, _ value: UInt32) {
        for i in 0..<4 { bytes[offset + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt32(i))) }
    }

    func writeFile(_ fs: CrashableFileSystem, _ path: String, _ bytes: [UInt8]) throws {
        let file = try fs.createFile(path)
        try file.append(bytes)
        try file.sync()
        try file.close()
    }

    func expectStorageError(_ code: StorageError.Code, path: String, offset: Int?,
                            sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Void) {
        do {
            try body()
            Issue.record("expected a \(code) error", sourceLocation: sourceLocation)
        } catch let error as StorageError {
            #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
            #expect(error.path == path, sourceLocation: sourceLocation)
            #expect(error.offset == offset, sourceLocation: sourceLocation)
        } catch {
            Issue.record("expected StorageError, got \(error)", sourceLocation: sourceLocation)
        }
    }
}
