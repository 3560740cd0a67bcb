// Golden bytes for the log's formats: the encoder's output for a fixed input
// must equal the worked example printed in docs/formats/record-batch.md and
// segment.md, byte for byte, and readers refuse versions they do not know.
import RingtailCore
import RingtailPosix
import Testing
@testable import RingtailLog

@Suite struct LogFormatGoldenTests {
    static let batchHex = """
        00 00 00 00 00 00 00 2a 00 00 00 50 00 00 00 03
        02 a9 60 cd f3 00 00 00 00 00 01 00 00 01 9b 76
        da a8 00 00 00 01 9b 76 da a8 fa 00 00 00 00 00
        00 00 07 00 00 00 00 00 00 00 00 00 02 18 00 00
        00 04 73 31 08 32 31 2e 35 00 22 00 f4 03 02 04
        73 31 08 32 31 2e 37 02 02 75 02 43
        """

    static let indexHex = """
        52 54 49 58 01 00 00 00 00 00 00 00 00 00 00 00
        06 00 00 00 00 00 00 00 17 01 00 00 00 00 00 00
        05 a8 da 76 9b 01 00 00 01 00 00 00 02 00 00 00
        04 00 00 00 ba 00 00 00 01 a8 da 76 9b 01 00 00
        00 00 00 00 05 a8 da 76 9b 01 00 00 04 00 00 00
        bc 67 c9 ef
        """

    static func docBlocks(_ document: String) throws -> [[UInt8]] {
        let root = Path.directory(of: Path.directory(of: Path.directory(of: #filePath)))
        let text = String(decoding: try PosixFileSystem().readFile(Path.join(root, "docs/formats/" + document)), as: UTF8.self)
        return try #require(Hex.blocks(inMarkdown: text))
    }

    static func bytes(_ hex: String) -> [UInt8] { Hex.decode(hex.filter { !$0.isWhitespace })! }

    @Test func recordBatchMatchesTheDocs() throws {
        var b = RecordBatchBuilder(producerId: 7, producerEpoch: 0, baseSequence: 0)
        b.append(timestamp: 1_767_225_600_000, key: Array("s1".utf8), value: Array("21.5".utf8))
        b.append(timestamp: 1_767_225_600_250, key: Array("s1".utf8), value: Array("21.7".utf8),
                 headers: [RecordHeader(key: "u", value: Array("C".utf8))])
        var batch = b.build()
        RecordBatchCodec.assign(baseOffset: 42, leaderEpoch: 3, in: &batch)
        #expect(batch == Self.bytes(Self.batchHex), "encoder output:\n\(Hex.dump(batch))")
        #expect(try Self.docBlocks("record-batch.md").contains(Self.bytes(Self.batchHex)))
        let header = try RecordBatchCodec.checkHeader(batch)
        let records = try RecordBatchCodec.records(in: batch, at: 0, header: header)
        #expect(records.map(\.offset) == [42, 43])
        #expect(records[1].headers == [RecordHeader(key: "u", value: Array("C".utf8))])
    }

    @Test func segmentIndexMatchesTheDocs() throws {
        let h = LogHarness(segmentBytes: 300, indexInterval: 100)
        let log = try h.open()
        for i in 0..<5 { _ = try log.appendAsLeader(batch(i * 2, count: 2), leaderEpoch: 0) }
        #expect(log.segmentBaseOffsets == [0, 6])
        let index = try h.fs.readFile(h.directory + "/00000000000000000000.index")
        #expect(index == Self.bytes(Self.indexHex), "encoder output:\n\(Hex.dump(index))")
        #expect(try Self.docBlocks("segment.md").contains(Self.bytes(Self.indexHex)))
        let (summary, decoded) = try SegmentIndexFile.decode(index, path: "x.index")
        #expect(summary == SegmentSummary(baseOffset: 0, nextOffset: 6, logBytes: 279, maxTimestamp: 1_767_225_600_005))
        #expect(decoded.offsets.map(\.position) == [186])
    }

    @Test func readersRefuseUnknownVersions() throws {
        var index = Self.bytes(Self.indexHex)
        index[4] = 2
        let crc = CRC32C.checksum(index[0..<(index.count - 4)])
        for i in 0..<4 { index[index.count - 4 + i] = UInt8(truncatingIfNeeded: crc >> (8 * UInt32(i))) }
        #expect { _ = try SegmentIndexFile.decode(index, path: "x.index") } throws: { ($0 as? LogError)?.code == .unsupportedVersion }
        var batch = Self.bytes(Self.batchHex)
        batch[RecordBatchLayout.magic] = 3
        #expect { _ = try RecordBatchCodec.checkHeader(batch) } throws: { ($0 as? LogError)?.code == .unsupportedVersion }
    }
}
