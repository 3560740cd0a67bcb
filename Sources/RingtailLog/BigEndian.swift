// Big-endian loads and stores for the record batch, which is Kafka's format
// byte for byte (docs/formats/record-batch.md). Everything else Ringtail
// writes is little-endian (RingtailCore.ByteWriter); only the batch follows
// Kafka, so that a Kafka protocol front door can pass batches through as they
// are stored.

extension UnsafeRawBufferPointer {
    @inlinable func loadBigEndian<T: FixedWidthInteger>(_: T.Type, at offset: Int) -> T {
        T(bigEndian: loadUnaligned(fromByteOffset: offset, as: T.self))
    }
}

extension Array where Element == UInt8 {
    /// Reads a big-endian integer at `offset`; the caller has checked the bounds.
    @inlinable func loadBigEndian<T: FixedWidthInteger>(_ type: T.Type, at offset: Int) -> T {
        precondition(offset >= 0 && offset + MemoryLayout<T>.size <= count)
        return withUnsafeBytes { $0.loadBigEndian(type, at: offset) }
    }

    /// Overwrites `MemoryLayout<T>.size` bytes at `offset` with `value`, big-endian.
    @inlinable mutating func storeBigEndian<T: FixedWidthInteger>(_ value: T, at offset: Int) {
        precondition(offset >= 0 && offset + MemoryLayout<T>.size <= count)
        withUnsafeMutableBytes { $0.storeBytes(of: value.bigEndian, toByteOffset: offset, as: T.self) }
    }

    /// Appends `value` big-endian.
    @inlinable mutating func appendBigEndian<T: FixedWidthInteger>(_ value: T) {
        Swift.withUnsafeBytes(of: value.bigEndian) { append(contentsOf: $0) }
    }

    /// Appends a zigzag LEB128 varint (Kafka's varint and varlong).
    @inlinable mutating func appendVarint(_ value: Int64) {
        var v = UInt64(bitPattern: (value << 1) ^ (value >> 63))
        while v >= 0x80 {
            append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        append(UInt8(v))
    }
}

/// How many bytes `appendVarint(value)` writes.
@inlinable func varintSize(_ value: Int64) -> Int {
    var v = UInt64(bitPattern: (value << 1) ^ (value >> 63))
    var n = 1
    while v >= 0x80 {
        v >>= 7
        n += 1
    }
    return n
}
