// The manifest names the live set: tables, their definitions, their live
// SSTables, and how far each table's data is flushed out of the commit log.
// It is rewritten whole and atomically (temporary file, sync, rename, sync
// directory) on every change. Format: docs/formats/manifest.md.
// DO NOT CHANGE the encoding: embedded in on-disk data.
import RingtailCore

/// One table's entry in the manifest.
public struct TableManifest: Hashable, Sendable {
    public var id: TableID
    public var definition: TableDefinition
    /// Every mutation of this table before this commit log position is in a
    /// live SSTable; replay skips them.
    public var flushedUpTo: CommitLogPosition
    /// Generations of the live SSTables.
    public var sstables: [UInt64]
}

/// The whole manifest.
public struct Manifest: Hashable, Sendable {
    public var nextGeneration: UInt64 = 1
    public var nextTableID: UInt32 = 1
    public var tables: [TableManifest] = []

    public init() {}

    static let fileName = "MANIFEST"
    /// "RTMF"
    static let magic: [UInt8] = [0x52, 0x54, 0x4D, 0x46]
    static let version: UInt16 = 1
    static let headerBytes = 16

    public func encode() -> [UInt8] {
        var p = ByteWriter(capacity: 512)
        p.writeVarint(nextGeneration)
        p.writeVarint(UInt64(nextTableID))
        p.writeVarint(tables.count)
        for t in tables {
            p.writeVarint(UInt64(t.id.rawValue))
            Self.encode(t.definition, into: &p)
            p.writeVarint(t.flushedUpTo.segment)
            p.writeVarint(t.flushedUpTo.offset)
            p.writeVarint(t.sstables.count)
            for g in t.sstables { p.writeVarint(g) }
        }
        var w = ByteWriter(capacity: p.count + Self.headerBytes)
        w.writeBytes(Self.magic)
        w.writeUInt16(Self.version)
        w.writeUInt16(0)
        w.writeUInt32(UInt32(p.count))
        w.writeUInt32(CRC32C.checksum(p.bytes))
        w.writeBytes(p.bytes)
        return w.bytes
    }

    public static func decode(_ bytes: [UInt8], path: String) throws(StorageError) -> Manifest {
        guard bytes.count >= headerBytes, Array(bytes[0..<4]) == magic else {
            throw .corruption("not a manifest (bad magic or too short)", path: path, offset: 0)
        }
        var r = ByteReader(bytes, offset: 4)
        do throws(DecodeError) {
            let version = try r.readUInt16()
            guard version == Self.version else {
                throw .invalid(offset: 4, reason: "version \(version)")
            }
            _ = try r.readUInt16()
            let length = Int(try r.readUInt32())
            let crc = try r.readUInt32()
            guard length == bytes.count - headerBytes else { throw .invalid(offset: 8, reason: "payload length \(length) but \(bytes.count - headerBytes) bytes follow") }
            guard CRC32C.checksum(bytes[headerBytes...]) == crc else { throw .invalid(offset: 12, reason: "payload checksum mismatch") }
            var m = Manifest()
            m.nextGeneration = try r.readVarint()
            let nextTable = try r.readVarint()
            guard nextTable <= UInt64(UInt32.max) else { throw .invalid(offset: r.offset, reason: "table id") }
            m.nextTableID = UInt32(nextTable)
            let count = try r.readLength(limit: r.remaining)
            for _ in 0..<count {
                let id = try r.readVarint()
                guard id <= UInt64(UInt32.max) else { throw .invalid(offset: r.offset, reason: "table id") }
                let defAt = r.offset
                let def = try decodeDefinition(&r)
                do { try def.validate() } catch {
                    throw .invalid(offset: defAt, reason: "table definition: \(error.message)")
                }
                let segment = try r.readVarint()
                let offset = try r.readLength(limit: Int(UInt32.max))
                let n = try r.readLength(limit: r.remaining)
                var gens: [UInt64] = []
                for _ in 0..<n { gens.append(try r.readVarint()) }
                m.tables.append(TableManifest(id: TableID(UInt32(id)), definition: def,
                                              flushedUpTo: CommitLogPosition(segment: segment, offset: offset), sstables: gens))
            }
            guard r.isAtEnd else { throw .invalid(offset: r.offset, reason: "trailing bytes") }
            return m
        } catch {
            if case .invalid(_, let reason) = error, reason.hasPrefix("version") {
                throw StorageError(code: .unsupportedVersion, message: "manifest \(reason); this build reads version \(Self.version)", path: path, offset: 4)
            }
            throw .corruption("manifest: \(error)", path: path, offset: 0)
        }
    }

    static func encode(_ s: String, into w: inout ByteWriter) { w.writeLengthPrefixed(utf8: s) }

    static func decodeString(_ r: inout ByteReader) throws(DecodeError) -> String { try r.readString(limit: 65_535) }

    static func encode(_ columns: [ColumnDefinition], into w: inout ByteWriter) {
        w.writeVarint(columns.count)
        for c in columns {
            encode(c.name, into: &w)
            encode(c.type.rawValue, into: &w)
        }
    }

    static func decodeColumns(_ r: inout ByteReader) throws(DecodeError) -> [ColumnDefinition] {
        let n = try r.readLength(limit: r.remaining)
        var out: [ColumnDefinition] = []
        for _ in 0..<n {
            let name = try decodeString(&r)
            let at = r.offset
            guard let type = ColumnType(rawValue: try decodeString(&r)) else { throw .invalid(offset: at, reason: "column type") }
            out.append(ColumnDefinition(name, type))
        }
        return out
    }

    static func encode(_ d: TableDefinition, into w: inout ByteWriter) {
        encode(d.keyspace, into: &w)
        encode(d.name, into: &w)
        encode(d.partitionKey, into: &w)
        encode(d.clusteringKey, into: &w)
        encode(d.columns, into: &w)
        let o = d.options
        w.writeUInt8(o.clusteringOrder == .ascending ? 0 : 1)
        w.writeUInt8(o.compression.tag)
        if case .zstd(let level) = o.compression { w.writeVarint(UInt64(level)) }
        w.writeVarint(o.blockBytes.bytes)
        w.writeUInt64(o.bloomFalsePositiveChance.bitPattern)
        func sizeTiered(_ st: SizeTieredOptions) {
            w.writeVarint(st.minThreshold)
            w.writeVarint(st.maxThreshold)
            w.writeUInt64(st.bucketLow.bitPattern)
            w.writeUInt64(st.bucketHigh.bitPattern)
            w.writeVarint(st.minSSTableBytes.bytes)
        }
        switch o.compaction {
        case .sizeTiered(let st):
            w.writeUInt8(0)
            sizeTiered(st)
        case .timeWindow(let tw):
            w.writeUInt8(1)
            encode(tw.unit.rawValue, into: &w)
            w.writeVarint(tw.size)
            sizeTiered(tw.sizeTiered)
        }
        w.writeVarint(UInt64(o.defaultTTLSeconds))
        w.writeVarint(UInt64(o.gcGraceSeconds))
    }

    static func decodeDefinition(_ r: inout ByteReader) throws(DecodeError) -> TableDefinition {
        let keyspace = try decodeString(&r)
        let name = try decodeString(&r)
        var d = TableDefinition(keyspace: keyspace, name: name, partitionKey: try decodeColumns(&r),
                                clusteringKey: try decodeColumns(&r), columns: try decodeColumns(&r))
        var o = TableOptions()
        o.clusteringOrder = try r.readUInt8() == 0 ? .ascending : .descending
        let at = r.offset
        switch try r.readUInt8() {
        case 0: o.compression = .none
        case 1: o.compression = .lz4
        case 2: o.compression = .zstd(level: Int32(clamping: try r.readVarint()))
        case let t: throw .unknownTag(offset: at, tag: t, what: "compression")
        }
        o.blockBytes = .bytes(try r.readLength(limit: 1 << 24))
        o.bloomFalsePositiveChance = Double(bitPattern: try r.readUInt64())
        func sizeTiered() throws(DecodeError) -> SizeTieredOptions {
            var st = SizeTieredOptions()
            st.minThreshold = try r.readLength(limit: 1 << 20)
            st.maxThreshold = try r.readLength(limit: 1 << 20)
            st.bucketLow = Double(bitPattern: try r.readUInt64())
            st.bucketHigh = Double(bitPattern: try r.readUInt64())
            st.minSSTableBytes = .bytes(try r.readLength(limit: Int.max))
            return st
        }
        let kindAt = r.offset
        switch try r.readUInt8() {
        case 0: o.compaction = .sizeTiered(try sizeTiered())
        case 1:
            let unitAt = r.offset
            guard let unit = TimeWindowUnit(rawValue: try decodeString(&r)) else { throw .invalid(offset: unitAt, reason: "window unit") }
            var tw = TimeWindowOptions(unit: unit, size: try r.readLength(limit: 1 << 20))
            tw.sizeTiered = try sizeTiered()
            o.compaction = .timeWindow(tw)
        case let t: throw .unknownTag(offset: kindAt, tag: t, what: "compaction strategy")
        }
        o.defaultTTLSeconds = Int32(clamping: try r.readVarint())
        o.gcGraceSeconds = Int64(clamping: try r.readVarint())
        d.options = o
        return d
    }
}

extension TableDefinition {
    /// Appends this definition in the manifest's encoding
    /// (docs/formats/manifest.md), which schema exchange reuses.
    public func encode(into w: inout ByteWriter) { Manifest.encode(self, into: &w) }

    /// Reads a definition written by `encode(into:)`. Decoding does not
    /// validate; call `validate()` on definitions from peers.
    public init(decoding r: inout ByteReader) throws(DecodeError) { self = try Manifest.decodeDefinition(&r) }
}
