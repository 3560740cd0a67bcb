// The commit log's on-disk format: segment header and framed records.
// Grammar, byte tables and a worked example: docs/formats/commit-log.md.
// DO NOT CHANGE: embedded in on-disk data.
import RingtailCore

/// Where a record ends (or a write starts) in the commit log.
public struct CommitLogPosition: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var segment: UInt64
    public var offset: Int

    public init(segment: UInt64, offset: Int) {
        self.segment = segment
        self.offset = offset
    }

    public static let zero = CommitLogPosition(segment: 0, offset: 0)

    public static func < (a: CommitLogPosition, b: CommitLogPosition) -> Bool {
        a.segment != b.segment ? a.segment < b.segment : a.offset < b.offset
    }

    public var description: String { "\(segment):\(offset)" }
}

/// How the commit log makes writes durable before acknowledging them.
public enum CommitLogSyncMode: Hashable, Sendable, CustomStringConvertible {
    /// Acknowledge once handed to the OS (survives a process kill); fsync
    /// every `period`, so a power loss can lose up to one period of writes.
    case periodic(Duration)
    /// Acknowledge after fsync; the syncing writer waits up to `window` after
    /// the previous fsync so more writers share the next one.
    case group(Duration)
    /// Acknowledge after fsync; fsync as soon as possible, shared by every
    /// writer waiting at that moment.
    case batch

    public var description: String {
        switch self {
        case .periodic(let d): return "periodic(\(d))"
        case .group(let d): return "group(\(d))"
        case .batch: return "batch"
        }
    }

    var syncsBeforeAck: Bool {
        if case .periodic = self { return false }
        return true
    }
}

enum CommitLogFormat {
    /// "RTCL" as bytes.
    static let magic: [UInt8] = [0x52, 0x54, 0x43, 0x4C]
    static let version: UInt16 = 1
    static let headerBytes = 20
    static let recordHeaderBytes = 8
    static let recordOverheadBytes = 12
    /// Payload kind byte: a mutation.
    static let kindMutation: UInt8 = 1

    static func segmentName(_ id: UInt64) -> String {
        var digits = String(id)
        while digits.count < 12 { digits = "0" + digits }
        return "commitlog-\(digits).log"
    }

    static func segmentID(fromName name: String) -> UInt64? {
        guard name.hasPrefix("commitlog-"), name.hasSuffix(".log") else { return nil }
        return UInt64(name.dropFirst(10).dropLast(4))
    }

    static func header(segment id: UInt64) -> [UInt8] {
        var w = ByteWriter(capacity: headerBytes)
        w.writeBytes(magic)
        w.writeUInt16(version)
        w.writeUInt16(0)
        w.writeUInt64(id)
        w.writeUInt32(CRC32C.checksum(w.bytes))
        return w.bytes
    }

    /// Frames a payload: length, CRC32C of the 4 length bytes, payload,
    /// CRC32C of the payload. The separate length checksum tells a corrupt
    /// length (an error) from a record cut short by a crash (a torn tail).
    static func frame(_ payload: [UInt8], into w: inout ByteWriter) {
        let start = w.count
        w.writeUInt32(UInt32(payload.count))
        let lengthCRC = w.bytes.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[start..<start + 4])) }
        w.writeUInt32(lengthCRC)
        w.writeBytes(payload)
        w.writeUInt32(CRC32C.checksum(payload))
    }

    static func frame(_ payload: [UInt8]) -> [UInt8] {
        var w = ByteWriter(capacity: payload.count + recordOverheadBytes)
        frame(payload, into: &w)
        return w.bytes
    }

    /// A mutation encoded and framed in one buffer: the same bytes as
    /// `frame(encodeMutation(m))` without the intermediate payload copy.
    /// Returns the framed record and the payload's length.
    static func encodeFramedMutation(_ m: Mutation) -> (framed: [UInt8], payloadCount: Int) {
        var w = ByteWriter(capacity: 96 + m.update.key.count + m.update.rows.count * 48)
        w.writeUInt32(0) // length, patched below
        w.writeUInt32(0) // length checksum, patched below
        w.writeUInt8(kindMutation)
        w.writeVarint(UInt64(m.table.rawValue))
        PartitionCodec.encode(m.update, base: 0, into: &w)
        let payloadCount = w.count - recordHeaderBytes
        let payloadCRC = w.bytes.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[recordHeaderBytes...])) }
        w.writeUInt32(payloadCRC)
        w.bytes.withUnsafeMutableBytes { raw in
            raw.storeBytes(of: UInt32(payloadCount).littleEndian, toByteOffset: 0, as: UInt32.self)
            let lengthCRC = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[0..<4]))
            raw.storeBytes(of: lengthCRC.littleEndian, toByteOffset: 4, as: UInt32.self)
        }
        return (w.bytes, payloadCount)
    }

    static func encodeMutation(_ m: Mutation) -> [UInt8] {
        var w = ByteWriter(capacity: 64 + m.update.key.count + m.update.rows.count * 48)
        w.writeUInt8(kindMutation)
        w.writeVarint(UInt64(m.table.rawValue))
        PartitionCodec.encode(m.update, base: 0, into: &w)
        return w.bytes
    }

    static func decodeMutation(_ payload: [UInt8], limits: StorageLimits) throws(DecodeError) -> Mutation {
        var r = ByteReader(payload)
        let kindAt = r.offset
        let kind = try r.readUInt8()
        guard kind == kindMutation else { throw .unknownTag(offset: kindAt, tag: kind, what: "commit log record kind") }
        let tableAt = r.offset
        let table = try r.readVarint()
        guard table <= UInt64(UInt32.max) else { throw .invalid(offset: tableAt, reason: "table id out of range") }
        var update = try PartitionCodec.decodeUpdate(&r, base: 0, limits: limits)
        guard r.isAtEnd else { throw .invalid(offset: r.offset, reason: "\(r.remaining) trailing bytes after mutation") }
        update.normalize()
        return Mutation(table: TableID(UInt32(table)), update: update)
    }
}

/// One record read back from a segment.
public struct CommitLogRecord: Sendable {
    /// Offset of the record's frame in the segment file.
    public var offset: Int
    /// Position just past the record (what the writer acknowledged).
    public var end: CommitLogPosition
    public var payload: [UInt8]
}

/// The result of scanning one segment file.
public struct CommitLogSegmentScan: Sendable {
    public var segment: UInt64
    public var records: [CommitLogRecord]
    /// Bytes up to the end of the last whole record.
    public var validBytes: Int
    /// Set if the segment ended in a torn (partially written) record.
    public var tornTailOffset: Int?
}

enum CommitLogScanner {
    /// Scans a whole segment image. A damaged final record is a torn tail
    /// (reported, not thrown) only if `allowTornTail`; any other damage
    /// throws a corruption error naming the file and offset.
    static func scan(_ bytes: [UInt8], path: String, allowTornTail: Bool) throws(StorageError) -> CommitLogSegmentScan {
        let h = CommitLogFormat.headerBytes
        func corrupt(_ m: String, _ o: Int) -> StorageError { .corruption(m, path: path, offset: o) }
        if bytes.count < h {
            if allowTornTail { return CommitLogSegmentScan(segment: 0, records: [], validBytes: 0, tornTailOffset: 0) }
            throw corrupt("segment header truncated (\(bytes.count) bytes)", 0)
        }
        if allowTornTail && bytes[0..<h].allSatisfy({ $0 == 0 }) {
            // The header never reached the disk (a crash right after the file was created).
            return CommitLogSegmentScan(segment: 0, records: [], validBytes: 0, tornTailOffset: 0)
        }
        guard Array(bytes[0..<4]) == CommitLogFormat.magic else { throw corrupt("not a commit log segment (bad magic)", 0) }
        var r = ByteReader(bytes, offset: 4)
        let version = (try? r.readUInt16()) ?? 0
        guard CRC32C.checksum(bytes[0..<16]) == (bytes.withUnsafeBytes { UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: 16, as: UInt32.self)) }) else {
            throw corrupt("segment header checksum mismatch", 0)
        }
        guard version == CommitLogFormat.version else {
            throw StorageError(code: .unsupportedVersion, message: "commit log version \(version); this build reads version \(CommitLogFormat.version)", path: path, offset: 4)
        }
        _ = try? r.readUInt16()
        let segment = (try? r.readUInt64()) ?? 0
        var records: [CommitLogRecord] = []
        var offset = h
        while offset < bytes.count {
            let remaining = bytes.count - offset
            func torn(_ reason: String) throws(StorageError) -> CommitLogSegmentScan {
                guard allowTornTail else { throw corrupt(reason, offset) }
                return CommitLogSegmentScan(segment: segment, records: records, validBytes: offset, tornTailOffset: offset)
            }
            if remaining < CommitLogFormat.recordHeaderBytes { return try torn("record header truncated") }
            let (length, lengthCRC) = bytes.withUnsafeBytes { raw in
                (Int(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt32.self))),
                 UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self)))
            }
            // Only the final record may be torn: damage followed by more
            // data (other than a zero-filled tail) is real corruption.
            if CRC32C.checksum(bytes[offset..<offset + 4]) != lengthCRC {
                if bytes[offset...].allSatisfy({ $0 == 0 }) { return try torn("zero-filled tail") }
                throw corrupt("record length checksum mismatch", offset)
            }
            let payloadStart = offset + CommitLogFormat.recordHeaderBytes
            let end = payloadStart + length + 4
            if end > bytes.count { return try torn("record of \(length) bytes runs past end of file") }
            let stored = bytes.withUnsafeBytes { UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: end - 4, as: UInt32.self)) }
            let actual = CRC32C.checksum(bytes[payloadStart..<end - 4])
            if actual != stored {
                if bytes[end...].allSatisfy({ $0 == 0 }) { return try torn("final record checksum mismatch") }
                throw corrupt("record checksum mismatch (stored \(Hex.word(stored)), computed \(Hex.word(actual)))", offset)
            }
            if length == 0 { throw corrupt("empty record", offset) }
            records.append(CommitLogRecord(offset: offset, end: CommitLogPosition(segment: segment, offset: end),
                                           payload: Array(bytes[payloadStart..<end - 4])))
            offset = end
        }
        return CommitLogSegmentScan(segment: segment, records: records, validBytes: offset, tornTailOffset: nil)
    }
}
