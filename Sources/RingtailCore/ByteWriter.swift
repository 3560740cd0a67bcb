// Little-endian encoding helpers shared by every on-disk and wire format.
// All fixed-width integers Ringtail writes are little-endian; varints are
// LEB128 (7 bits a byte, low group first), signed ones zigzag-encoded.

/// Appends encoded values to a growable byte array.
///
/// Value type: copying a writer copies its bytes (copy-on-write).
public struct ByteWriter: Sendable {
    public var bytes: [UInt8]

    public init(capacity: Int = 256) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    public var count: Int { bytes.count }

    @inlinable public mutating func writeUInt8(_ v: UInt8) { bytes.append(v) }

    @inlinable public mutating func writeUInt16(_ v: UInt16) {
        bytes.append(UInt8(truncatingIfNeeded: v))
        bytes.append(UInt8(truncatingIfNeeded: v >> 8))
    }

    @inlinable public mutating func writeUInt32(_ v: UInt32) {
        withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) }
    }

    @inlinable public mutating func writeUInt64(_ v: UInt64) {
        withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) }
    }

    @inlinable public mutating func writeInt64(_ v: Int64) { writeUInt64(UInt64(bitPattern: v)) }

    /// LEB128 unsigned varint: 1 to 10 bytes.
    @inlinable public mutating func writeVarint(_ v: UInt64) {
        var v = v
        while v >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    @inlinable public mutating func writeVarint(_ v: Int) {
        precondition(v >= 0, "unsigned varint of a negative value")
        writeVarint(UInt64(v))
    }

    /// Zigzag-encoded signed varint: small magnitudes of either sign stay short.
    @inlinable public mutating func writeSignedVarint(_ v: Int64) {
        writeVarint(UInt64(bitPattern: (v << 1) ^ (v >> 63)))
    }

    /// A string's UTF-8 length as a varint, then its UTF-8 bytes (no
    /// intermediate array).
    @inlinable public mutating func writeLengthPrefixed(utf8 s: String) {
        var s = s
        s.withUTF8 { utf8 in
            writeVarint(utf8.count)
            bytes.append(contentsOf: utf8)
        }
    }

    /// A varint length followed by the bytes.
    @inlinable public mutating func writeLengthPrefixed(_ v: [UInt8]) {
        writeVarint(v.count)
        bytes.append(contentsOf: v)
    }

    @inlinable public mutating func writeBytes(_ v: [UInt8]) { bytes.append(contentsOf: v) }
    @inlinable public mutating func writeBytes(_ v: ArraySlice<UInt8>) { bytes.append(contentsOf: v) }
    @inlinable public mutating func writeBytes(_ v: UnsafeRawBufferPointer) { bytes.append(contentsOf: v) }

    /// Overwrites 4 bytes at `offset` (for lengths and checksums known late).
    @inlinable public mutating func patchUInt32(_ v: UInt32, at offset: Int) {
        precondition(offset + 4 <= bytes.count)
        bytes[offset] = UInt8(truncatingIfNeeded: v)
        bytes[offset + 1] = UInt8(truncatingIfNeeded: v >> 8)
        bytes[offset + 2] = UInt8(truncatingIfNeeded: v >> 16)
        bytes[offset + 3] = UInt8(truncatingIfNeeded: v >> 24)
    }
}
