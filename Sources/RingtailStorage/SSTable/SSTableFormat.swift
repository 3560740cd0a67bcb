// Constants and small structures of the SSTable file format: block
// trailers, block handles and the fixed-size footer. Grammar, byte tables
// and a worked example: docs/formats/sstable.md.
// DO NOT CHANGE: embedded in on-disk data.
import RingtailCore

enum SSTableFormat {
    /// "RTSSTBL1" read as a little-endian UInt64.
    static let magic: UInt64 = 0x314C_4254_5353_5452
    static let version: UInt16 = 1
    static let footerBytes = 68
    /// compression tag (1) + uncompressed length (4) + CRC32C (4).
    static let blockTrailerBytes = 9
    /// Target size of an index chunk (a run of partition index entries).
    static let indexChunkBytes = 4096

    // Data stream item tags.
    static let itemPartition: UInt8 = 0x01
    static let itemRow: UInt8 = 0x02
    static let itemEndOfPartition: UInt8 = 0x03

    static func fileName(table: TableID, generation: UInt64) -> String {
        "t\(table.rawValue)-g\(generation).sst"
    }

    static func parseFileName(_ name: String) -> (table: TableID, generation: UInt64)? {
        guard name.hasPrefix("t"), name.hasSuffix(".sst"), let dash = name.firstIndex(of: "-") else { return nil }
        guard let t = UInt32(name[name.index(after: name.startIndex)..<dash]) else { return nil }
        let rest = name[name.index(dash, offsetBy: 1)...].dropLast(4)
        guard rest.hasPrefix("g"), let g = UInt64(rest.dropFirst()) else { return nil }
        return (TableID(t), g)
    }

    /// Appends a block trailer to `stored` (the possibly compressed payload).
    static func seal(_ stored: [UInt8], tag: UInt8, uncompressedLength: Int) -> [UInt8] {
        var w = ByteWriter(capacity: stored.count + blockTrailerBytes)
        w.writeBytes(stored)
        w.writeUInt8(tag)
        w.writeUInt32(UInt32(uncompressedLength))
        w.writeUInt32(CRC32C.checksum(w.bytes))
        return w.bytes
    }

    /// Verifies a sealed block and returns its decompressed payload.
    static func open(_ sealed: consuming [UInt8], path: String, offset: Int) throws(StorageError) -> [UInt8] {
        try open(consume sealed, path: path, offset: offset, prefix: .max).bytes
    }

    /// Verifies a sealed block and returns at least its first `prefix`
    /// decompressed bytes (all of them unless LZ4 can stop early), and
    /// whether that is the whole payload.
    static func open(_ sealed: consuming [UInt8], path: String, offset: Int, prefix: Int) throws(StorageError) -> (bytes: [UInt8], complete: Bool) {
        guard sealed.count >= blockTrailerBytes else {
            throw .corruption("block of \(sealed.count) bytes is shorter than its trailer", path: path, offset: offset)
        }
        let n = sealed.count
        let (stored, actual, tag, length) = sealed.withUnsafeBytes { raw in
            (UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: n - 4, as: UInt32.self)),
             CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[0..<n - 4])),
             raw[n - 9],
             Int(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: n - 8, as: UInt32.self))))
        }
        guard stored == actual else {
            throw .corruption("block checksum mismatch (stored \(Hex.word(stored)), computed \(Hex.word(actual)))", path: path, offset: offset)
        }
        if tag == BlockCompressor.tagNone && length == n - blockTrailerBytes {
            // Stored raw: drop the trailer in place (no copy of the block).
            var raw = sealed
            raw.removeLast(blockTrailerBytes)
            return (raw, true)
        }
        let out = sealed.withUnsafeBytes { raw in
            BlockCompressor.decompress(UnsafeRawBufferPointer(rebasing: raw[0..<n - 9]), tag: tag, length: length, prefix: prefix)
        }
        guard let out else {
            throw .corruption("block does not decompress (tag \(tag), length \(length))", path: path, offset: offset)
        }
        assert(out.count == length || (out.count >= min(prefix, length) && out.count < length))
        return (out, out.count == length)
    }
}

/// Where a block lives in the file (its length includes the trailer).
struct BlockHandle: Hashable, Sendable {
    var offset: Int
    var length: Int

    func encode(into w: inout ByteWriter) {
        w.writeUInt64(UInt64(offset))
        w.writeUInt32(UInt32(length))
    }

    static func decode(_ r: inout ByteReader) throws(DecodeError) -> BlockHandle {
        let o = try r.readUInt64()
        let l = try r.readUInt32()
        guard o < UInt64(Int32.max) * 1024 else { throw .invalid(offset: r.offset - 12, reason: "block offset out of range") }
        return BlockHandle(offset: Int(o), length: Int(l))
    }
}

/// The last 68 bytes of an SSTable.
struct SSTableFooter: Equatable {
    var bloom: BlockHandle
    var statistics: BlockHandle
    var summary: BlockHandle
    var blockTable: BlockHandle
    var version: UInt16
    /// CRC32C of every byte before the footer.
    var fileDigest: UInt32

    func encode() -> [UInt8] {
        var w = ByteWriter(capacity: SSTableFormat.footerBytes)
        bloom.encode(into: &w)
        statistics.encode(into: &w)
        summary.encode(into: &w)
        blockTable.encode(into: &w)
        w.writeUInt16(version)
        w.writeUInt16(0)
        w.writeUInt32(fileDigest)
        w.writeUInt32(CRC32C.checksum(w.bytes))
        w.writeUInt64(SSTableFormat.magic)
        assert(w.count == SSTableFormat.footerBytes)
        return w.bytes
    }

    static func decode(_ bytes: [UInt8], path: String, fileOffset: Int) throws(StorageError) -> SSTableFooter {
        guard bytes.count == SSTableFormat.footerBytes else {
            throw .corruption("file too short for an SSTable footer", path: path, offset: 0)
        }
        var r = ByteReader(bytes)
        do {
            r.offset = 60
            guard try r.readUInt64() == SSTableFormat.magic else {
                throw StorageError.corruption("not an SSTable (bad magic)", path: path, offset: fileOffset + 60)
            }
            r.offset = 56
            let crc = try r.readUInt32()
            guard crc == CRC32C.checksum(bytes[0..<56]) else {
                throw StorageError.corruption("footer checksum mismatch", path: path, offset: fileOffset)
            }
            r.offset = 0
            let bloom = try BlockHandle.decode(&r)
            let stats = try BlockHandle.decode(&r)
            let summary = try BlockHandle.decode(&r)
            let table = try BlockHandle.decode(&r)
            let version = try r.readUInt16()
            _ = try r.readUInt16()
            let digest = try r.readUInt32()
            guard version == SSTableFormat.version else {
                throw StorageError(code: .unsupportedVersion,
                                   message: "SSTable format version \(version); this build reads version \(SSTableFormat.version)",
                                   path: path, offset: fileOffset + 48)
            }
            return SSTableFooter(bloom: bloom, statistics: stats, summary: summary, blockTable: table, version: version, fileDigest: digest)
        } catch let error as StorageError {
            throw error
        } catch {
            throw .corruption("footer: \(error)", path: path, offset: fileOffset)
        }
    }
}
