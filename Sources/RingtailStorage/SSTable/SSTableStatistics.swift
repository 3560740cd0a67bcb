// What an SSTable holds, summarized: used to skip it on reads, to pick
// compactions, to drop fully expired files, and shown by `ringtail inspect`.
import RingtailCore

/// Statistics written once by the builder and read at open.
public struct SSTableStatistics: Hashable, Sendable {
    public var table = TableID(0)
    public var generation: UInt64 = 0
    public var partitionCount = 0
    public var rowCount = 0
    public var cellCount = 0
    /// Cell tombstones, row deletions, range tombstones and partition deletions.
    public var tombstoneCount = 0
    public var rangeTombstoneCount = 0
    public var partitionDeletionCount = 0
    public var expiringCellCount = 0
    public var minTimestamp = Int64.max
    public var maxTimestamp = Int64.min
    /// Earliest / latest wall time at which something here expires or was
    /// deleted; `Int64.max` as the latest if any cell never expires.
    public var minLocalDeletionTime = Int64.max
    public var maxLocalDeletionTime = Int64.min
    public var minTTLSeconds: Int32 = .max
    public var maxTTLSeconds: Int32 = 0
    /// Clustering keys of rows and range tombstone bounds (byte order).
    public var minClustering: [UInt8]? = nil
    public var maxClustering: [UInt8]? = nil
    /// True if some range tombstone is unbounded on one side.
    public var hasOpenRangeTombstone = false
    public var firstKey: [UInt8] = []
    public var lastKey: [UInt8] = []
    public var minToken = Int64.max
    public var maxToken = Int64.min
    /// Timestamps in data blocks are stored relative to this.
    public var baseTimestamp: Int64 = 0
    public var uncompressedBytes = 0
    public var dataBytes = 0
    public var blockCount = 0
    public var compressionTag: UInt8 = 0
    public var clusteringOrder: ClusteringOrder = .ascending
    /// Set when written by compaction (0 for a flush): the compaction level.
    public var compactionLevel = 0

    public init() {}

    mutating func noteTimestamp(_ t: Int64) {
        if t < minTimestamp { minTimestamp = t }
        if t > maxTimestamp { maxTimestamp = t }
    }

    mutating func noteLocalDeletion(_ t: Int64) {
        if t < minLocalDeletionTime { minLocalDeletionTime = t }
        if t > maxLocalDeletionTime { maxLocalDeletionTime = t }
    }

    mutating func noteDeletion(_ d: DeletionTime) {
        guard !d.isLive else { return }
        tombstoneCount += 1
        noteTimestamp(d.markedAt)
        noteLocalDeletion(d.localDeletionTime)
    }

    mutating func noteClustering(_ k: [UInt8]) {
        if minClustering == nil || compareBytes(k, minClustering!) < 0 { minClustering = k }
        if maxClustering == nil || compareBytes(k, maxClustering!) > 0 { maxClustering = k }
    }

    mutating func note(_ cell: Cell) {
        cellCount += 1
        noteTimestamp(cell.timestamp)
        switch cell.kind {
        case .live:
            noteLocalDeletion(.max)
        case .expiring(let ttl, let expiresAt):
            expiringCellCount += 1
            noteLocalDeletion(expiresAt)
            minTTLSeconds = min(minTTLSeconds, ttl)
            maxTTLSeconds = max(maxTTLSeconds, ttl)
        case .tombstone(let deletedAt):
            tombstoneCount += 1
            noteLocalDeletion(deletedAt)
        }
    }

    /// False if a slice over `range` can find no rows here (only deletions
    /// that are not range-restricted), so the file can be skipped when it
    /// also has no partition deletions; true if rows may match.
    func mayHaveRows(in range: ClusteringRange) -> Bool {
        if hasOpenRangeTombstone { return true }
        guard let lo = minClustering, let hi = maxClustering else { return false }
        return range.intersects(minKey: lo, maxKey: hi)
    }

    func encode(into w: inout ByteWriter) {
        w.writeVarint(UInt64(table.rawValue))
        w.writeVarint(generation)
        for n in [partitionCount, rowCount, cellCount, tombstoneCount, rangeTombstoneCount, partitionDeletionCount, expiringCellCount] {
            w.writeVarint(n)
        }
        for t in [minTimestamp, maxTimestamp, minLocalDeletionTime, maxLocalDeletionTime] { w.writeInt64(t) }
        w.writeVarint(UInt64(UInt32(bitPattern: minTTLSeconds)))
        w.writeVarint(UInt64(UInt32(bitPattern: maxTTLSeconds)))
        for k in [minClustering, maxClustering] {
            if let k { w.writeUInt8(1); w.writeLengthPrefixed(k) } else { w.writeUInt8(0) }
        }
        w.writeUInt8(hasOpenRangeTombstone ? 1 : 0)
        w.writeLengthPrefixed(firstKey)
        w.writeLengthPrefixed(lastKey)
        w.writeInt64(minToken)
        w.writeInt64(maxToken)
        w.writeInt64(baseTimestamp)
        w.writeVarint(uncompressedBytes)
        w.writeVarint(dataBytes)
        w.writeVarint(blockCount)
        w.writeUInt8(compressionTag)
        w.writeUInt8(clusteringOrder == .ascending ? 0 : 1)
        w.writeVarint(compactionLevel)
    }

    static func decode(_ r: inout ByteReader) throws(DecodeError) -> SSTableStatistics {
        var s = SSTableStatistics()
        let tableAt = r.offset
        let table = try r.readVarint()
        guard table <= UInt64(UInt32.max) else { throw .invalid(offset: tableAt, reason: "table id") }
        s.table = TableID(UInt32(table))
        s.generation = try r.readVarint()
        let limit = Int(Int32.max)
        s.partitionCount = try r.readLength(limit: limit)
        s.rowCount = try r.readLength(limit: limit)
        s.cellCount = try r.readLength(limit: limit)
        s.tombstoneCount = try r.readLength(limit: limit)
        s.rangeTombstoneCount = try r.readLength(limit: limit)
        s.partitionDeletionCount = try r.readLength(limit: limit)
        s.expiringCellCount = try r.readLength(limit: limit)
        s.minTimestamp = try r.readInt64()
        s.maxTimestamp = try r.readInt64()
        s.minLocalDeletionTime = try r.readInt64()
        s.maxLocalDeletionTime = try r.readInt64()
        s.minTTLSeconds = Int32(bitPattern: UInt32(truncatingIfNeeded: try r.readVarint()))
        s.maxTTLSeconds = Int32(bitPattern: UInt32(truncatingIfNeeded: try r.readVarint()))
        for i in 0..<2 {
            let present = try r.readUInt8()
            let key: [UInt8]? = present == 1 ? try r.readLengthPrefixed(limit: 65_535) : nil
            if i == 0 { s.minClustering = key } else { s.maxClustering = key }
        }
        s.hasOpenRangeTombstone = try r.readUInt8() == 1
        s.firstKey = try r.readLengthPrefixed(limit: 65_535)
        s.lastKey = try r.readLengthPrefixed(limit: 65_535)
        s.minToken = try r.readInt64()
        s.maxToken = try r.readInt64()
        s.baseTimestamp = try r.readInt64()
        s.uncompressedBytes = try r.readLength(limit: Int.max)
        s.dataBytes = try r.readLength(limit: Int.max)
        s.blockCount = try r.readLength(limit: limit)
        s.compressionTag = try r.readUInt8()
        s.clusteringOrder = try r.readUInt8() == 0 ? .ascending : .descending
        s.compactionLevel = try r.readLength(limit: 1_000)
        return s
    }
}
