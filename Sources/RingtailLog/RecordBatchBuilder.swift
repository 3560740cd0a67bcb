// Builds one record batch on the producer side: records are encoded as they
// are added (so the batch's size is always known for the batch-size limit),
// and `build()` writes the header, compresses and computes the CRC. The base
// offset and leader epoch stay 0 and -1 until a leader assigns them.
import RingtailCore

/// Accumulates records into one Kafka magic-2 batch.
///
/// Value type, not thread-safe. Complexity: `append` is O(record size);
/// `build` is O(batch size) plus compression.
public struct RecordBatchBuilder: Sendable {
    public let compression: BatchCompression
    public let producerId: Int64
    public let producerEpoch: Int16
    public let baseSequence: Int32
    private var records: [UInt8] = []
    public private(set) var recordCount = 0
    private var baseTimestamp: Int64 = 0
    private var maxTimestamp: Int64 = -1

    /// - Parameters: producer id, epoch and first sequence for an idempotent
    ///   producer; the defaults mean "not idempotent".
    public init(compression: BatchCompression = .none, producerId: Int64 = RecordBatchLayout.noProducerId,
                producerEpoch: Int16 = -1, baseSequence: Int32 = RecordBatchLayout.noSequence) {
        precondition(compression.isSupported, "\(compression) cannot be written")
        self.compression = compression
        self.producerId = producerId
        self.producerEpoch = producerEpoch
        self.baseSequence = baseSequence
    }

    public var isEmpty: Bool { recordCount == 0 }
    /// Bytes the batch would take uncompressed.
    public var uncompressedBytes: Int { RecordBatchLayout.headerBytes + records.count }

    /// Bytes one record adds to the batch (for deciding whether it still fits).
    public func encodedSize(timestamp: Int64, key: [UInt8]?, value: [UInt8]?, headers: [RecordHeader] = []) -> Int {
        let body = bodySize(timestampDelta: recordCount == 0 ? 0 : timestamp - baseTimestamp,
                            offsetDelta: recordCount, key: key, value: value, headers: headers)
        return varintSize(Int64(body)) + body
    }

    /// Adds a record; its timestamp is milliseconds since the Unix epoch.
    public mutating func append(timestamp: Int64, key: [UInt8]?, value: [UInt8]?, headers: [RecordHeader] = []) {
        if recordCount == 0 { baseTimestamp = timestamp }
        let delta = timestamp - baseTimestamp
        let body = bodySize(timestampDelta: delta, offsetDelta: recordCount, key: key, value: value, headers: headers)
        records.reserveCapacity(records.count + body + 5)
        records.appendVarint(Int64(body))
        records.append(0) // record attributes: unused in magic 2
        records.appendVarint(delta)
        records.appendVarint(Int64(recordCount))
        appendBytes(key)
        appendBytes(value)
        records.appendVarint(Int64(headers.count))
        for header in headers {
            appendBytes(Array(header.key.utf8))
            appendBytes(header.value)
        }
        recordCount += 1
        maxTimestamp = max(maxTimestamp, timestamp)
    }

    private mutating func appendBytes(_ bytes: [UInt8]?) {
        guard let bytes else {
            records.appendVarint(-1)
            return
        }
        records.appendVarint(Int64(bytes.count))
        records.append(contentsOf: bytes)
    }

    private func bodySize(timestampDelta: Int64, offsetDelta: Int, key: [UInt8]?, value: [UInt8]?, headers: [RecordHeader]) -> Int {
        func sized(_ b: [UInt8]?) -> Int { b.map { varintSize(Int64($0.count)) + $0.count } ?? 1 }
        var n = 1 + varintSize(timestampDelta) + varintSize(Int64(offsetDelta)) + sized(key) + sized(value)
        n += varintSize(Int64(headers.count))
        for h in headers { n += sized(Array(h.key.utf8)) + sized(h.value) }
        return n
    }

    /// The finished batch: base offset 0 and leader epoch -1, for a leader to assign.
    public func build() -> [UInt8] {
        precondition(recordCount > 0, "a batch holds at least one record")
        typealias L = RecordBatchLayout
        let body = compression == .none ? records : BatchCompressor.compress(records, compression)
        var out: [UInt8] = []
        out.reserveCapacity(L.headerBytes + body.count)
        out.appendBigEndian(Int64(0))                                    // baseOffset
        out.appendBigEndian(Int32(L.headerBytes - L.lengthPrefixBytes + body.count)) // batchLength
        out.appendBigEndian(Int32(-1))                                   // partitionLeaderEpoch
        out.append(L.currentMagic)
        out.appendBigEndian(UInt32(0))                                   // crc, patched below
        out.appendBigEndian(UInt16(compression.rawValue))                // attributes
        out.appendBigEndian(Int32(recordCount - 1))                      // lastOffsetDelta
        out.appendBigEndian(baseTimestamp)
        out.appendBigEndian(maxTimestamp)
        out.appendBigEndian(producerId)
        out.appendBigEndian(producerEpoch)
        out.appendBigEndian(baseSequence)
        out.appendBigEndian(Int32(recordCount))
        assert(out.count == L.headerBytes)
        out.append(contentsOf: body)
        out.storeBigEndian(CRC32C.checksum(out[L.attributes...]), at: L.crc)
        return out
    }
}
