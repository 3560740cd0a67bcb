// Bounds-checked decoding of the encodings ByteWriter produces. Every read
// that would run past the end throws `DecodeError.truncated`, so decoding
// input the node did not write never traps.

/// Why bytes could not be decoded.
public enum DecodeError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The input ended at `offset` but `needed` more bytes were expected.
    case truncated(offset: Int, needed: Int)
    /// A varint ran over 10 bytes or overflowed 64 bits.
    case malformedVarint(offset: Int)
    /// A length or count larger than the remaining input or a limit.
    case lengthOutOfRange(offset: Int, length: Int, limit: Int)
    /// A tag, flag or kind byte with no meaning in this format version.
    case unknownTag(offset: Int, tag: UInt8, what: String)
    /// A value that violates an invariant of the format.
    case invalid(offset: Int, reason: String)

    public var description: String {
        switch self {
        case .truncated(let o, let n): return "input truncated at offset \(o) (\(n) more bytes expected)"
        case .malformedVarint(let o): return "malformed varint at offset \(o)"
        case .lengthOutOfRange(let o, let l, let lim): return "length \(l) at offset \(o) exceeds \(lim)"
        case .unknownTag(let o, let t, let w): return "unknown \(w) tag \(t) at offset \(o)"
        case .invalid(let o, let r): return "invalid data at offset \(o): \(r)"
        }
    }
}

/// Reads little-endian integers, varints and length-prefixed byte strings
/// from a byte array, tracking a cursor.
public struct ByteReader {
    public let bytes: [UInt8]
    public var offset: Int
    public let end: Int

    public init(_ bytes: [UInt8], offset: Int = 0, end: Int? = nil) {
        self.bytes = bytes
        self.offset = offset
        self.end = end ?? bytes.count
        precondition(self.offset <= self.end && self.end <= bytes.count)
    }

    public var remaining: Int { end - offset }
    public var isAtEnd: Bool { offset >= end }

    @inlinable mutating func need(_ n: Int) throws(DecodeError) {
        if n > end - offset { throw .truncated(offset: offset, needed: n - (end - offset)) }
    }

    @inlinable public mutating func readUInt8() throws(DecodeError) -> UInt8 {
        try need(1)
        defer { offset += 1 }
        return bytes[offset]
    }

    @inlinable public mutating func readUInt16() throws(DecodeError) -> UInt16 {
        try need(2)
        defer { offset += 2 }
        return UInt16(bytes[offset]) | UInt16(bytes[offset + 1]) << 8
    }

    @inlinable public mutating func readUInt32() throws(DecodeError) -> UInt32 {
        try need(4)
        defer { offset += 4 }
        return bytes.withUnsafeBytes { UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: offset, as: UInt32.self)) }
    }

    @inlinable public mutating func readUInt64() throws(DecodeError) -> UInt64 {
        try need(8)
        defer { offset += 8 }
        return bytes.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: offset, as: UInt64.self)) }
    }

    @inlinable public mutating func readInt64() throws(DecodeError) -> Int64 { Int64(bitPattern: try readUInt64()) }

    @inlinable public mutating func readVarint() throws(DecodeError) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        let start = offset
        while true {
            guard offset < end else { throw .truncated(offset: offset, needed: 1) }
            let byte = bytes[offset]
            offset += 1
            if shift == 63 && byte > 1 { throw .malformedVarint(offset: start) }
            result |= UInt64(byte & 0x7F) << shift
            if byte < 0x80 { return result }
            shift += 7
            if shift > 63 { throw .malformedVarint(offset: start) }
        }
    }

    /// An unsigned varint that must fit in `0...limit` (a length or count).
    @inlinable public mutating func readLength(limit: Int) throws(DecodeError) -> Int {
        let at = offset
        let v = try readVarint()
        guard v <= UInt64(limit) else { throw .lengthOutOfRange(offset: at, length: Int(clamping: v), limit: limit) }
        return Int(v)
    }

    @inlinable public mutating func readSignedVarint() throws(DecodeError) -> Int64 {
        let v = try readVarint()
        return Int64(bitPattern: (v >> 1) ^ (0 &- (v & 1)))
    }

    @inlinable public mutating func readBytes(_ count: Int) throws(DecodeError) -> [UInt8] {
        try need(count)
        defer { offset += count }
        // Copy through a raw buffer (memcpy), not the generic slice path.
        let start = offset
        return bytes.withUnsafeBufferPointer { Array(UnsafeBufferPointer(rebasing: $0[start..<start + count])) }
    }

    /// A varint length (at most `limit`) and that many bytes.
    @inlinable public mutating func readLengthPrefixed(limit: Int) throws(DecodeError) -> [UInt8] {
        let n = try readLength(limit: limit)
        return try readBytes(n)
    }

    /// A varint length (at most `limit`) and that many bytes of UTF-8, read
    /// in place (no intermediate array); `.invalid` if they are not UTF-8.
    @inlinable public mutating func readString(limit: Int) throws(DecodeError) -> String {
        let at = offset
        let n = try readLength(limit: limit)
        try need(n)
        let start = offset
        offset += n
        let s: String? = bytes.withUnsafeBufferPointer {
            let utf8 = UnsafeBufferPointer(rebasing: $0[start..<start + n])
            // ASCII (names, nearly always) is valid as it is: skip the
            // generic validating initializer, which costs ~20x more.
            if utf8.allSatisfy({ $0 < 0x80 }) { return String(decoding: utf8, as: UTF8.self) }
            return String(validating: utf8, as: UTF8.self)
        }
        guard let s else { throw .invalid(offset: at, reason: "string is not valid UTF-8") }
        return s
    }

    @inlinable public mutating func skip(_ count: Int) throws(DecodeError) {
        try need(count)
        offset += count
    }
}
