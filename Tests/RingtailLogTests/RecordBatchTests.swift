// The record batch codec: Kafka's murmur2 vectors, round trips through every
// codec, and refusal of every kind of malformed batch with a clear error.
import RingtailCore
import Testing
@testable import RingtailLog

@Suite struct RecordBatchTests {
    @Test func murmur2MatchesKafka() {
        // The vectors of Kafka's UtilsTest.testMurmur2.
        let cases: [(String, Int32)] = [
            ("21", -973_932_308),
            ("foobar", -790_332_482),
            ("a-little-bit-long-string", -985_981_536),
            ("a-little-bit-longer-string", -1_486_304_829),
            ("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58_897_971),
            ("abc", 479_470_107),
        ]
        for (text, expected) in cases {
            #expect(Murmur2.hash(Array(text.utf8)) == expected, "murmur2(\(text))")
        }
        // toPositive, then modulo.
        #expect(Murmur2.partition(forKey: Array("foobar".utf8), partitions: 7) == Int((-790_332_482 & 0x7fff_ffff) % 7))
    }

    @Test func stickyPartitionerFillsOnePartitionThenMoves() {
        var p = Partitioner(seed: 7)
        let first = p.partition(topic: "t", key: nil, partitions: 6)
        for _ in 0..<10 { #expect(p.partition(topic: "t", key: nil, partitions: 6) == first) }
        p.batchSent(topic: "t", partition: first, partitions: 6)
        let second = p.partition(topic: "t", key: nil, partitions: 6)
        #expect(second != first)
        #expect(p.partition(topic: "t", key: Array("k".utf8), partitions: 6) == Murmur2.partition(forKey: Array("k".utf8), partitions: 6))
        #expect(p.partition(topic: "t", key: Array("k".utf8), partitions: 6, explicit: 4) == 4)
    }

    static func sampleRecords(_ count: Int, base: Int64 = 1_767_225_600_000) -> [LogRecord] {
        (0..<count).map { i in
            LogRecord(offset: Int64(i), timestamp: base + Int64((i * 37) % 11) - 5,
                      key: i % 5 == 0 ? nil : Array("sensor-\(i % 13)".utf8),
                      value: i % 7 == 3 ? nil : Array(repeating: UInt8(i & 0xff), count: 10 + i % 90),
                      headers: i % 4 == 0 ? [RecordHeader(key: "unit", value: Array("C".utf8)), RecordHeader(key: "n", value: nil)] : [])
        }
    }

    static func build(_ records: [LogRecord], compression: BatchCompression = .none, producerId: Int64 = -1,
                      epoch: Int16 = -1, sequence: Int32 = -1) -> [UInt8] {
        var b = RecordBatchBuilder(compression: compression, producerId: producerId, producerEpoch: epoch, baseSequence: sequence)
        for r in records { b.append(timestamp: r.timestamp, key: r.key, value: r.value, headers: r.headers) }
        return b.build()
    }

    @Test(arguments: [BatchCompression.none, .lz4, .zstd])
    func roundTripsThroughEveryCodec(codec: BatchCompression) throws {
        let records = Self.sampleRecords(300)
        var batch = Self.build(records, compression: codec, producerId: 42, epoch: 3, sequence: 10)
        let header = try RecordBatchCodec.checkHeader(batch)
        #expect(header.recordCount == 300)
        #expect(header.compression == codec)
        #expect(header.producerId == 42 && header.producerEpoch == 3 && header.baseSequence == 10)
        #expect(header.lastSequence == 309)
        #expect(header.maxTimestamp == records.map(\.timestamp).max())
        #expect(header.baseTimestamp == records[0].timestamp)
        if codec != .none { #expect(header.totalBytes < Self.build(records).count) }
        // A leader assigns offsets outside the CRC: still valid, records shift.
        RecordBatchCodec.assign(baseOffset: 1000, leaderEpoch: 9, in: &batch)
        let assigned = try RecordBatchCodec.checkHeader(batch)
        #expect(assigned.baseOffset == 1000 && assigned.partitionLeaderEpoch == 9 && assigned.crc == header.crc)
        let decoded = try RecordBatchCodec.records(in: batch, at: 0, header: assigned)
        #expect(decoded == records.map { var r = $0; r.offset += 1000; return r })
    }

    @Test func refusesDamagedBatches() throws {
        let good = Self.build(Self.sampleRecords(20))
        func code(_ bytes: [UInt8]) -> LogError.Code? {
            do {
                let h = try RecordBatchCodec.checkHeader(bytes)
                _ = try RecordBatchCodec.records(in: bytes, at: 0, header: h)
                return nil
            } catch { return error.code }
        }
        #expect(code(good) == nil)
        // Every single-bit flip inside the CRC's scope is caught.
        for position in stride(from: RecordBatchLayout.attributes, to: good.count, by: 7) {
            var bad = good
            bad[position] ^= 0x10
            #expect(code(bad) != nil, "flip at \(position)")
        }
        var magic = good
        magic[RecordBatchLayout.magic] = 1
        #expect(code(magic) == .unsupportedVersion)
        #expect(code(Array(good.prefix(40))) == .invalidRecord)
        #expect(code(Array(good.dropLast(3))) == .invalidRecord)
        var huge = good
        huge.storeBigEndian(Int32(50_000_000), at: RecordBatchLayout.batchLength)
        #expect(code(huge) == .recordTooLarge)
        // gzip: refused by name, with the CRC made valid so only the codec is wrong.
        var gzip = good
        gzip.storeBigEndian(UInt16(1), at: RecordBatchLayout.attributes)
        gzip.storeBigEndian(CRC32C.checksum(gzip[RecordBatchLayout.attributes...]), at: RecordBatchLayout.crc)
        #expect(code(gzip) == .unsupportedCompression)
        // A count that disagrees with the records, CRC valid.
        var count = good
        count.storeBigEndian(Int32(21), at: RecordBatchLayout.recordCount)
        count.storeBigEndian(Int32(20), at: RecordBatchLayout.lastOffsetDelta)
        count.storeBigEndian(CRC32C.checksum(count[RecordBatchLayout.attributes...]), at: RecordBatchLayout.crc)
        #expect(code(count) == .invalidRecord)
        // Compressed garbage with a valid CRC.
        var garbage = Self.build(Self.sampleRecords(20), compression: .zstd)
        garbage[RecordBatchLayout.headerBytes + 5] ^= 0xff
        garbage.storeBigEndian(CRC32C.checksum(garbage[RecordBatchLayout.attributes...]), at: RecordBatchLayout.crc)
        #expect(code(garbage) == .invalidRecord)
    }

    @Test func decompressionBombIsRefused() throws {
        let records = [LogRecord(offset: 0, timestamp: 0, key: nil, value: [UInt8](repeating: 0, count: 2_000_000))]
        let batch = Self.build(records, compression: .zstd)
        var limits = LogLimits()
        limits.decompressedBytesMax = 1_000_000
        let header = try RecordBatchCodec.checkHeader(batch, limits: limits)
        #expect(throws: LogError.self) { _ = try RecordBatchCodec.records(in: batch, at: 0, header: header, limits: limits) }
    }
}
