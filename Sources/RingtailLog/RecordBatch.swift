// Kafka's record batch (magic 2), byte for byte: a 61-byte big-endian header
// and the records, optionally compressed. The CRC32C covers everything from
// the attributes to the end, so a leader assigns the base offset and its
// epoch by patching the first bytes without touching the checksum. Grammar,
// byte table and worked example: docs/formats/record-batch.md.
import RingtailCore

/// Field positions in a batch header. DO NOT CHANGE: embedded in on-disk
/// data and in Kafka's protocol.
public enum RecordBatchLayout {
    public static let baseOffset = 0
    public static let batchLength = 8
    public static let partitionLeaderEpoch = 12
    public static let magic = 16
    public static let crc = 17
    public static let attributes = 21
    public static let lastOffsetDelta = 23
    public static let baseTimestamp = 27
    public static let maxTimestamp = 35
    public static let producerId = 43
    public static let producerEpoch = 51
    public static let baseSequence = 53
    public static let recordCount = 57
    /// Bytes of the header; the records start here.
    public static let headerBytes = 61
    /// Bytes before `batchLength` counts: the base offset and the length itself.
    public static let lengthPrefixBytes = 12
    /// The only batch version this build reads and writes.
    public static let currentMagic: UInt8 = 2
    /// Attribute bits 0-2 hold the codec; bit 3 the timestamp type; bit 4
    /// transactional; bit 5 control batch.
    public static let compressionMask: UInt16 = 0x07
    public static let transactionalBit: UInt16 = 0x10
    public static let controlBit: UInt16 = 0x20
    /// "No producer id" and "no sequence" in the idempotence fields.
    public static let noProducerId: Int64 = -1
    public static let noSequence: Int32 = -1
}

/// A decoded batch header.
public struct RecordBatchHeader: Equatable, Sendable {
    public var baseOffset: Int64
    /// Bytes after the length field: the whole batch is `12 + batchLength`.
    public var batchLength: Int32
    public var partitionLeaderEpoch: Int32
    public var magic: UInt8
    public var crc: UInt32
    public var attributes: UInt16
    public var lastOffsetDelta: Int32
    /// Milliseconds since the Unix epoch of the first record.
    public var baseTimestamp: Int64
    /// The largest record timestamp in the batch, milliseconds.
    public var maxTimestamp: Int64
    public var producerId: Int64
    public var producerEpoch: Int16
    public var baseSequence: Int32
    public var recordCount: Int32

    public var lastOffset: Int64 { baseOffset + Int64(lastOffsetDelta) }
    public var nextOffset: Int64 { lastOffset + 1 }
    public var totalBytes: Int { RecordBatchLayout.lengthPrefixBytes + Int(batchLength) }
    public var compression: BatchCompression? { BatchCompression(rawValue: UInt8(attributes & RecordBatchLayout.compressionMask)) }
    public var hasProducerId: Bool { producerId >= 0 }
    /// The sequence number of the last record, wrapping as Kafka's does.
    public var lastSequence: Int32 {
        baseSequence == RecordBatchLayout.noSequence ? RecordBatchLayout.noSequence
            : Int32(truncatingIfNeeded: (Int64(baseSequence) + Int64(lastOffsetDelta)) % (Int64(Int32.max) + 1))
    }

    /// Reads the 61 header bytes at `offset`; the caller has checked there are that many.
    public init(_ raw: UnsafeRawBufferPointer, at offset: Int) {
        precondition(offset >= 0 && offset + RecordBatchLayout.headerBytes <= raw.count)
        typealias L = RecordBatchLayout
        baseOffset = raw.loadBigEndian(Int64.self, at: offset + L.baseOffset)
        batchLength = raw.loadBigEndian(Int32.self, at: offset + L.batchLength)
        partitionLeaderEpoch = raw.loadBigEndian(Int32.self, at: offset + L.partitionLeaderEpoch)
        magic = raw.load(fromByteOffset: offset + L.magic, as: UInt8.self)
        crc = raw.loadBigEndian(UInt32.self, at: offset + L.crc)
        attributes = raw.loadBigEndian(UInt16.self, at: offset + L.attributes)
        lastOffsetDelta = raw.loadBigEndian(Int32.self, at: offset + L.lastOffsetDelta)
        baseTimestamp = raw.loadBigEndian(Int64.self, at: offset + L.baseTimestamp)
        maxTimestamp = raw.loadBigEndian(Int64.self, at: offset + L.maxTimestamp)
        producerId = raw.loadBigEndian(Int64.self, at: offset + L.producerId)
        producerEpoch = raw.loadBigEndian(Int16.self, at: offset + L.producerEpoch)
        baseSequence = raw.loadBigEndian(Int32.self, at: offset + L.baseSequence)
        recordCount = raw.loadBigEndian(Int32.self, at: offset + L.recordCount)
    }

    public init(_ bytes: [UInt8], at offset: Int) {
        self = bytes.withUnsafeBytes { RecordBatchHeader($0, at: offset) }
    }
}

/// A record header: a UTF-8 key and an optional value.
public struct RecordHeader: Equatable, Hashable, Sendable {
    public var key: String
    public var value: [UInt8]?

    public init(key: String, value: [UInt8]?) {
        self.key = key
        self.value = value
    }
}

/// One record as a consumer sees it.
public struct LogRecord: Equatable, Hashable, Sendable {
    public var offset: Int64
    /// Milliseconds since the Unix epoch.
    public var timestamp: Int64
    public var key: [UInt8]?
    public var value: [UInt8]?
    public var headers: [RecordHeader]

    public init(offset: Int64, timestamp: Int64, key: [UInt8]?, value: [UInt8]?, headers: [RecordHeader] = []) {
        self.offset = offset
        self.timestamp = timestamp
        self.key = key
        self.value = value
        self.headers = headers
    }
}
