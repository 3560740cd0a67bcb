// Binary encoding of cells, rows, tombstones and partition updates, shared by
// the commit log (base timestamp 0) and SSTable data blocks (base = the
// SSTable's base timestamp). Grammar in docs/formats/commit-log.md and
// docs/formats/sstable.md. DO NOT CHANGE: embedded in on-disk data.
import RingtailCore

enum PartitionCodec {
    // Cell flag bits.
    static let cellTombstone: UInt8 = 0x01
    static let cellExpiring: UInt8 = 0x02
    static let cellFlagsKnown: UInt8 = 0x03

    static func encode(_ d: DeletionTime, base: Int64, into w: inout ByteWriter) {
        if d.isLive {
            w.writeUInt8(0)
        } else {
            w.writeUInt8(1)
            w.writeSignedVarint(d.markedAt &- base)
            w.writeSignedVarint(d.localDeletionTime &- base)
        }
    }

    static func decodeDeletion(_ r: inout ByteReader, base: Int64) throws(DecodeError) -> DeletionTime {
        let at = r.offset
        switch try r.readUInt8() {
        case 0: return .live
        case 1:
            let marked = try r.readSignedVarint() &+ base
            let local = try r.readSignedVarint() &+ base
            return DeletionTime(markedAt: marked, localDeletionTime: local)
        case let tag: throw .unknownTag(offset: at, tag: tag, what: "deletion")
        }
    }

    static func encode(_ c: Cell, base: Int64, into w: inout ByteWriter) {
        switch c.kind {
        case .live:
            w.writeUInt8(0)
            w.writeLengthPrefixed(c.column)
            w.writeSignedVarint(c.timestamp &- base)
            w.writeLengthPrefixed(c.value)
        case .expiring(let ttl, let expiresAt):
            w.writeUInt8(cellExpiring)
            w.writeLengthPrefixed(c.column)
            w.writeSignedVarint(c.timestamp &- base)
            w.writeVarint(UInt64(UInt32(bitPattern: ttl)))
            w.writeSignedVarint(expiresAt &- base)
            w.writeLengthPrefixed(c.value)
        case .tombstone(let deletedAt):
            w.writeUInt8(cellTombstone)
            w.writeLengthPrefixed(c.column)
            w.writeSignedVarint(c.timestamp &- base)
            w.writeSignedVarint(deletedAt &- base)
        }
    }

    /// Decodes one cell, reusing `lastColumn`'s storage when the column
    /// name repeats (rows of a table mostly share names), saving an
    /// allocation per cell. Same bytes, same checks.
    static func decodeCell(_ r: inout ByteReader, base: Int64, limits: StorageLimits,
                           lastColumn: inout [UInt8]) throws(DecodeError) -> Cell {
        let at = r.offset
        let flags = try r.readUInt8()
        guard flags & ~cellFlagsKnown == 0, flags != cellFlagsKnown else {
            throw .unknownTag(offset: at, tag: flags, what: "cell flags")
        }
        let columnCount = try r.readLength(limit: limits.columnNameBytesMax)
        let same = columnCount <= r.remaining && columnCount == lastColumn.count && r.bytes.withUnsafeBytes { raw in
            lastColumn.withUnsafeBytes { compareBytes(UnsafeRawBufferPointer(rebasing: raw[r.offset..<r.offset + columnCount]), $0) == 0 }
        }
        let column: [UInt8]
        if same {
            try r.skip(columnCount)
            column = lastColumn
        } else {
            column = try r.readBytes(columnCount)
            lastColumn = column
        }
        let timestamp = try r.readSignedVarint() &+ base
        if flags & cellTombstone != 0 {
            let deletedAt = try r.readSignedVarint() &+ base
            return Cell(column: column, timestamp: timestamp, kind: .tombstone(deletedAt: deletedAt), value: [])
        }
        var kind = Cell.Kind.live
        if flags & cellExpiring != 0 {
            let ttlAt = r.offset
            let ttl = try r.readVarint()
            guard ttl <= UInt64(Int32.max) else { throw .invalid(offset: ttlAt, reason: "ttl \(ttl) out of range") }
            kind = .expiring(ttlSeconds: Int32(ttl), expiresAt: try r.readSignedVarint() &+ base)
        }
        let value = try r.readLengthPrefixed(limit: limits.cellValueBytesMax)
        return Cell(column: column, timestamp: timestamp, kind: kind, value: value)
    }

    /// `decodeRow` with column-name reuse (see `decodeCell(_:base:limits:lastColumn:)`).
    static func decodeRow(_ r: inout ByteReader, base: Int64, limits: StorageLimits,
                          lastColumn: inout [UInt8]) throws(DecodeError) -> Row {
        let clustering = try r.readLengthPrefixed(limit: limits.clusteringKeyBytesMax)
        let deletion = try decodeDeletion(&r, base: base)
        let count = try r.readLength(limit: r.remaining)
        var cells: [Cell] = []
        cells.reserveCapacity(count)
        for _ in 0..<count { cells.append(try decodeCell(&r, base: base, limits: limits, lastColumn: &lastColumn)) }
        return Row(clustering: clustering, deletion: deletion, cells: cells)
    }

    /// Row body: clustering, deletion, cells (no leading tag).
    static func encode(_ row: Row, base: Int64, into w: inout ByteWriter) {
        w.writeLengthPrefixed(row.clustering)
        encode(row.deletion, base: base, into: &w)
        w.writeVarint(row.cells.count)
        for cell in row.cells { encode(cell, base: base, into: &w) }
    }

    static func decodeRow(_ r: inout ByteReader, base: Int64, limits: StorageLimits) throws(DecodeError) -> Row {
        var noColumn: [UInt8] = []
        return try decodeRow(&r, base: base, limits: limits, lastColumn: &noColumn)
    }

    static func encode(_ bound: ClusteringBound, into w: inout ByteWriter) {
        switch bound {
        case .unbounded: w.writeUInt8(0)
        case .inclusive(let k): w.writeUInt8(1); w.writeLengthPrefixed(k)
        case .exclusive(let k): w.writeUInt8(2); w.writeLengthPrefixed(k)
        }
    }

    static func decodeBound(_ r: inout ByteReader, limits: StorageLimits) throws(DecodeError) -> ClusteringBound {
        let at = r.offset
        switch try r.readUInt8() {
        case 0: return .unbounded
        case 1: return .inclusive(try r.readLengthPrefixed(limit: limits.clusteringKeyBytesMax))
        case 2: return .exclusive(try r.readLengthPrefixed(limit: limits.clusteringKeyBytesMax))
        case let tag: throw .unknownTag(offset: at, tag: tag, what: "clustering bound")
        }
    }

    static func encode(_ rt: RangeTombstone, base: Int64, into w: inout ByteWriter) {
        encode(rt.range.lower, into: &w)
        encode(rt.range.upper, into: &w)
        encode(rt.deletion, base: base, into: &w)
    }

    static func decodeRangeTombstone(_ r: inout ByteReader, base: Int64, limits: StorageLimits) throws(DecodeError) -> RangeTombstone {
        let lower = try decodeBound(&r, limits: limits)
        let upper = try decodeBound(&r, limits: limits)
        let deletion = try decodeDeletion(&r, base: base)
        return RangeTombstone(range: ClusteringRange(lower: lower, upper: upper), deletion: deletion)
    }

    /// Partition header: key, partition deletion, range tombstones.
    static func encodeHeader(_ u: PartitionUpdate, base: Int64, into w: inout ByteWriter) {
        w.writeLengthPrefixed(u.key)
        encode(u.deletion, base: base, into: &w)
        w.writeVarint(u.rangeTombstones.count)
        for rt in u.rangeTombstones { encode(rt, base: base, into: &w) }
    }

    static func decodeHeader(_ r: inout ByteReader, base: Int64, limits: StorageLimits) throws(DecodeError) -> PartitionUpdate {
        let key = try r.readLengthPrefixed(limit: limits.partitionKeyBytesMax)
        let deletion = try decodeDeletion(&r, base: base)
        let count = try r.readLength(limit: r.remaining)
        var rts: [RangeTombstone] = []
        rts.reserveCapacity(count)
        for _ in 0..<count { rts.append(try decodeRangeTombstone(&r, base: base, limits: limits)) }
        return PartitionUpdate(key: key, deletion: deletion, rangeTombstones: rts, rows: [])
    }

    /// A whole update: header, row count, rows (the commit log's payload body).
    static func encode(_ u: PartitionUpdate, base: Int64, into w: inout ByteWriter) {
        encodeHeader(u, base: base, into: &w)
        w.writeVarint(u.rows.count)
        for row in u.rows { encode(row, base: base, into: &w) }
    }

    static func decodeUpdate(_ r: inout ByteReader, base: Int64, limits: StorageLimits) throws(DecodeError) -> PartitionUpdate {
        var u = try decodeHeader(&r, base: base, limits: limits)
        let count = try r.readLength(limit: r.remaining)
        u.rows.reserveCapacity(count)
        for _ in 0..<count { u.rows.append(try decodeRow(&r, base: base, limits: limits)) }
        return u
    }
}
