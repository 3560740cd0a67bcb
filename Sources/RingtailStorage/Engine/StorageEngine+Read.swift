// The read path: a partition slice merged from memtables and SSTables by
// timestamp, with SSTables skipped by bloom filter, by clustering bounds,
// and by timestamp once a newer partition deletion shadows them.
import RingtailCore

/// The live rows of one partition in a slice, as a reader sees them.
public struct PartitionResult: Sendable, Equatable {
    public var key: [UInt8]
    /// Live rows in the requested order; each holds only live cells, and
    /// never the row marker (the empty column).
    public var rows: [Row]
}

/// A source of rows in output order (memtable array or SSTable cursor).
private enum RowSource {
    case memory(rows: [Row], index: Int, end: Int, step: Int)
    case sstable(SSTableRowCursor)

    mutating func next() throws(StorageError) -> Row? {
        switch self {
        case .memory(let rows, let index, let end, let step):
            guard index != end else { return nil }
            self = .memory(rows: rows, index: index + step, end: end, step: step)
            return rows[index]
        case .sstable(var cursor):
            let row = try cursor.next()
            self = .sstable(cursor)
            return row
        }
    }
}

extension StorageEngine {
    func snapshot(_ table: TableID) throws(StorageError) -> TableSnapshot {
        try lock.withLock { () throws(StorageError) -> TableSnapshot in
            guard let t = tables[table] else { throw StorageError(code: .unknownTable, message: "no table \(table)") }
            stats.reads += 1
            return TableSnapshot(definition: t.definition,
                                 memtables: [t.active] + t.flushing.reversed().map { $0.memtable },
                                 sstables: t.sstables)
        }
    }

    /// Reads the live rows of one partition within `slice`, in ascending or
    /// descending clustering order, stopping after `limit` rows.
    public func read(_ table: TableID, key: [UInt8], slice: ClusteringRange = .all, limit: Int = .max,
                     descending: Bool = false) throws(StorageError) -> PartitionResult {
        precondition(limit >= 0)
        let snap = try snapshot(table)
        let hash = BloomFilter.hash(key)
        let token = Murmur3.token(key)
        let now = clock.wallMicros()
        var partitionDeletion = DeletionTime.live
        var rangeTombstones: [RangeTombstone] = []
        var sources: [RowSource] = []

        for m in snap.memtables {
            guard let p = m.partition(key, token: token) else { continue }
            partitionDeletion = DeletionTime.newest(partitionDeletion, p.deletion)
            rangeTombstones += p.rangeTombstones.filter { $0.range.overlaps(slice) }
            let lo = p.firstIndex(in: slice)
            var hi = lo
            while hi < p.rows.count && !slice.isAbove(p.rows[hi].clustering) { hi += 1 }
            if lo < hi {
                sources.append(descending ? .memory(rows: p.rows, index: hi - 1, end: lo - 1, step: -1)
                                          : .memory(rows: p.rows, index: lo, end: hi, step: 1))
            }
        }
        var skippedBloom = 0, skippedBounds = 0
        for r in snap.sstables.sorted(by: { $0.statistics.maxTimestamp > $1.statistics.maxTimestamp }) {
            let s = r.statistics
            if s.maxTimestamp <= partitionDeletion.markedAt { skippedBounds += 1; continue }
            if s.partitionDeletionCount == 0 && s.rangeTombstoneCount == 0 && !s.mayHaveRows(in: slice) { skippedBounds += 1; continue }
            guard r.mayContain(hash: hash) else { skippedBloom += 1; continue }
            guard let entry = try r.find(PartitionPosition(token: token, key: key)) else { continue }
            let (header, headerEnd) = try r.header(entry)
            partitionDeletion = DeletionTime.newest(partitionDeletion, header.deletion)
            rangeTombstones += header.rangeTombstones.filter { $0.range.overlaps(slice) }
            if s.mayHaveRows(in: slice) {
                sources.append(.sstable(SSTableRowCursor(reader: r, entry: entry, headerEnd: headerEnd, slice: slice, descending: descending)))
            }
        }
        if skippedBloom + skippedBounds > 0 {
            lock.withLock {
                stats.sstablesSkippedByBloom += skippedBloom
                stats.sstablesSkippedByBounds += skippedBounds
            }
        }
        let rows = try mergeRows(&sources, descending: descending, limit: limit, nowMicros: now,
                                 partitionDeletion: partitionDeletion, rangeTombstones: rangeTombstones)
        return PartitionResult(key: key, rows: rows)
    }

    /// K-way merge of row sources in output order, reconciling equal keys,
    /// applying deletions and TTLs, and keeping only rows with live cells.
    private func mergeRows(_ sources: inout [RowSource], descending: Bool, limit: Int, nowMicros: Int64,
                           partitionDeletion: DeletionTime, rangeTombstones: [RangeTombstone]) throws(StorageError) -> [Row] {
        var heads: [Row?] = []
        heads.reserveCapacity(sources.count)
        for i in sources.indices { heads.append(try sources[i].next()) }
        var out: [Row] = []
        while out.count < limit {
            var best: Int? = nil
            for i in heads.indices {
                guard let h = heads[i] else { continue }
                if let b = best {
                    let c = compareBytes(h.clustering, heads[b]!.clustering)
                    if descending ? c > 0 : c < 0 { best = i }
                } else {
                    best = i
                }
            }
            guard let b = best else { break }
            var row = heads[b]!
            heads[b] = try sources[b].next()
            for i in heads.indices where i != b {
                while let h = heads[i], h.clustering == row.clustering {
                    row.merge(h)
                    heads[i] = try sources[i].next()
                }
            }
            if let live = Self.liveView(row, partitionDeletion: partitionDeletion, rangeTombstones: rangeTombstones, nowMicros: nowMicros) {
                out.append(live)
            }
        }
        return out
    }

    /// The row as a reader sees it: only cells not deleted or expired, no
    /// row marker; nil if nothing in it is live.
    static func liveView(_ row: Row, partitionDeletion: DeletionTime, rangeTombstones: [RangeTombstone], nowMicros: Int64) -> Row? {
        var deletion = DeletionTime.newest(partitionDeletion, row.deletion)
        for rt in rangeTombstones where rt.range.contains(row.clustering) {
            deletion = DeletionTime.newest(deletion, rt.deletion)
        }
        var alive = false
        var cells: [Cell] = []
        cells.reserveCapacity(row.cells.count)
        for cell in row.cells where cell.isLive(nowMicros: nowMicros) && !deletion.deletes(cell.timestamp) {
            alive = true
            if !cell.column.isEmpty { cells.append(cell) }
        }
        return alive ? Row(clustering: row.clustering, cells: cells) : nil
    }

    /// Everything recorded for a partition, merged but not filtered: cells,
    /// tombstones and expired cells included. For repair, streaming and tests.
    public func readRaw(_ table: TableID, key: [UInt8]) throws(StorageError) -> PartitionUpdate? {
        let snap = try snapshot(table)
        let hash = BloomFilter.hash(key)
        let position = PartitionPosition(token: Murmur3.token(key), key: key)
        var merged: PartitionUpdate?
        func add(_ p: PartitionUpdate) {
            if merged == nil { merged = p } else { merged!.merge(p) }
        }
        for m in snap.memtables { if let p = m.partition(key, token: position.token) { add(p) } }
        for r in snap.sstables where r.mayContain(hash: hash) {
            guard let entry = try r.find(position) else { continue }
            var (p, headerEnd) = try r.header(entry)
            var cursor = SSTableRowCursor(reader: r, entry: entry, headerEnd: headerEnd, slice: .all, descending: false)
            while let row = try cursor.next() { p.rows.append(row) }
            add(p)
        }
        return merged
    }

    /// Live partitions with tokens in `range` after `after`, in ring order,
    /// at most `limit` of them (partitions with no live rows are skipped but
    /// count toward the scan). For streaming and repair; page with `after`.
    public func scan(_ table: TableID, range: TokenRange, after: PartitionPosition? = nil, limit: Int,
                     rowsPerPartition: Int = .max) throws(StorageError) -> (partitions: [PartitionResult], last: PartitionPosition?) {
        let snap = try snapshot(table)
        // Non-wrapping pieces of the range, in ring order from its start.
        var pieces: [(lower: Int64, upper: Int64, lowerInclusive: Bool)] = []
        if range.lower < range.upper {
            pieces = [(range.lower, range.upper, false)]
        } else {
            pieces = [(range.lower, Int64.max, false), (Int64.min, range.upper, true)]
            if range.lower == Int64.min { pieces = [(Int64.min, Int64.max, true)] }
        }
        var positions: [PartitionPosition] = []
        for piece in pieces where positions.count < limit {
            func inPiece(_ t: Int64) -> Bool { (piece.lowerInclusive ? t >= piece.lower : t > piece.lower) && t <= piece.upper }
            let floor = PartitionPosition(token: piece.lower, key: [])
            let start = after.map { $0.token >= piece.lower && $0.token <= piece.upper ? max($0, floor) : floor } ?? floor
            var found = Set<PartitionPosition>()
            let pieceRange = TokenRange(lower: piece.lower == Int64.min ? Int64.min : piece.lower, upper: piece.upper)
            for m in snap.memtables {
                for p in m.keys(in: pieceRange == TokenRange(lower: .min, upper: .max) ? .full : pieceRange)
                    where inPiece(p.token) && p > start { found.insert(p) }
            }
            for r in snap.sstables {
                for e in try r.entries(after: start, limit: limit) where inPiece(e.token) {
                    found.insert(PartitionPosition(token: e.token, key: e.key))
                }
            }
            positions += found.sorted().prefix(limit - positions.count)
        }
        var results: [PartitionResult] = []
        for p in positions {
            let result = try read(table, key: p.key, limit: rowsPerPartition)
            if !result.rows.isEmpty { results.append(result) }
        }
        return (results, positions.last)
    }
}
