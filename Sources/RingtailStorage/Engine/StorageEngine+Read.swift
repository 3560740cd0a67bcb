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
///
/// A struct with the cursor stored inline (not an enum payload), so
/// `next()` advances it in place: pulling a payload out of an enum and
/// putting it back copied the whole cursor, with its arrays, per row.
private struct RowSource {
    private var rows: [Row]
    private var index: Int
    private let end: Int
    private let step: Int
    private var cursor: SSTableRowCursor?

    static func memory(rows: [Row], index: Int, end: Int, step: Int) -> RowSource {
        RowSource(rows: rows, index: index, end: end, step: step, cursor: nil)
    }

    static func sstable(_ cursor: SSTableRowCursor) -> RowSource {
        RowSource(rows: [], index: 0, end: 0, step: 1, cursor: cursor)
    }

    private init(rows: [Row], index: Int, end: Int, step: Int, cursor: SSTableRowCursor?) {
        self.rows = rows
        self.index = index
        self.end = end
        self.step = step
        self.cursor = cursor
    }

    mutating func next() throws(StorageError) -> Row? {
        if cursor != nil { return try cursor!.next() }
        guard index != end else { return nil }
        defer { index += step }
        return rows[index]
    }
}

extension StorageEngine {
    func snapshot(_ table: TableID) throws(StorageError) -> TableSnapshot {
        try lock.withLock { () throws(StorageError) -> TableSnapshot in
            guard let t = tables[table] else { throw StorageError(code: .unknownTable, message: "no table \(table)") }
            stats.reads += 1
            return TableSnapshot(memtables: [t.active] + t.flushing.reversed().map { $0.memtable },
                                 sstables: t.sstables)
        }
    }

    /// Reads the live rows of one partition within `slice`, in ascending or
    /// descending clustering order, stopping after `limit` rows.
    public func read(_ table: TableID, key: [UInt8], slice: ClusteringRange = .all, limit: Int = .max,
                     descending: Bool = false) throws(StorageError) -> PartitionResult {
        guard limit >= 0 else { throw StorageError(code: .invalidArgument, message: "limit must not be negative, got \(limit)") }
        return try read(try snapshot(table), key: key, slice: slice, limit: limit, descending: descending)
    }

    /// `read` on a snapshot already taken (a scan reads many partitions from one).
    private func read(_ snap: TableSnapshot, key: [UInt8], slice: ClusteringRange, limit: Int,
                      descending: Bool) throws(StorageError) -> PartitionResult {
        // One Murmur3 pass serves the bloom probes and the token.
        let hash = BloomFilter.hash(key)
        let token = Murmur3.token(hash: hash)
        assert(token == Murmur3.token(key))
        let now = clock.wallMicros()
        var partitionDeletion = DeletionTime.live
        var rangeTombstones: [RangeTombstone] = []
        var sources: [RowSource] = []

        for m in snap.memtables {
            guard let p = m.partition(key, token: token) else { continue }
            partitionDeletion = DeletionTime.newest(partitionDeletion, p.deletion)
            if !p.rangeTombstones.isEmpty { rangeTombstones += p.rangeTombstones.filter { $0.range.overlaps(slice) } }
            let lo = p.firstIndex(in: slice)
            var hi = lo
            while hi < p.rows.count && !slice.isAbove(p.rows[hi].clustering) { hi += 1 }
            if lo < hi {
                sources.append(descending ? .memory(rows: p.rows, index: hi - 1, end: lo - 1, step: -1)
                                          : .memory(rows: p.rows, index: lo, end: hi, step: 1))
            }
        }
        var skippedBloom = 0, skippedBounds = 0
        for r in snap.sstables { // newest data first (TableState keeps them so)
            let s = r.statistics
            if s.maxTimestamp <= partitionDeletion.markedAt { skippedBounds += 1; continue }
            let rowsMayMatch = s.mayHaveRows(in: slice)
            if s.partitionDeletionCount == 0 && s.rangeTombstoneCount == 0 && !rowsMayMatch { skippedBounds += 1; continue }
            guard r.mayContain(hash: hash) else { skippedBloom += 1; continue }
            guard let entry = try r.find(PartitionPosition(token: token, key: key)) else { continue }
            let (header, headerEnd, block) = try r.header(entry)
            partitionDeletion = DeletionTime.newest(partitionDeletion, header.deletion)
            if !header.rangeTombstones.isEmpty { rangeTombstones += header.rangeTombstones.filter { $0.range.overlaps(slice) } }
            if rowsMayMatch {
                sources.append(.sstable(SSTableRowCursor(reader: r, entry: entry, headerEnd: headerEnd, slice: slice,
                                                         descending: descending, firstBlock: block)))
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
        // heads[i] is source i's current row if live[i]; non-optional so
        // comparisons borrow the keys in place instead of copying rows.
        var heads: [Row] = []
        var live: [Bool] = []
        heads.reserveCapacity(sources.count)
        live.reserveCapacity(sources.count)
        var liveCount = 0
        for i in sources.indices {
            if let row = try sources[i].next() {
                heads.append(row)
                live.append(true)
                liveCount += 1
            } else {
                heads.append(Row(clustering: [], cells: []))
                live.append(false)
            }
        }
        var out: [Row] = []
        if limit < 4096 { out.reserveCapacity(limit) }
        let filter = LiveFilter(partitionDeletion: partitionDeletion, rangeTombstones: rangeTombstones, nowMicros: nowMicros)
        while out.count < limit && liveCount > 0 {
            var best = -1
            for i in heads.indices where live[i] {
                if best < 0 {
                    best = i
                } else {
                    let c = compareBytes(heads[i].clustering, heads[best].clustering)
                    if descending ? c > 0 : c < 0 { best = i }
                }
            }
            // Move the row out of its slot (no copy), then refill the slot.
            var row = try Self.refill(&heads[best], &live[best], &liveCount, from: &sources[best])
            if liveCount > 0 {
                for i in heads.indices where i != best && live[i] {
                    while live[i], compareBytes(heads[i].clustering, row.clustering) == 0 {
                        row.merge(try Self.refill(&heads[i], &live[i], &liveCount, from: &sources[i]))
                    }
                }
            }
            if filter.keep(&row) { out.append(row) }
        }
        return out
    }

    /// Returns the head row and replaces it with the source's next one.
    private static func refill(_ head: inout Row, _ live: inout Bool, _ liveCount: inout Int,
                               from source: inout RowSource) throws(StorageError) -> Row {
        if var next = try source.next() {
            swap(&head, &next)
            return next
        }
        var taken = Row(clustering: [], cells: [])
        swap(&head, &taken)
        live = false
        liveCount -= 1
        return taken
    }

    /// Everything recorded for a partition, merged but not filtered: cells,
    /// tombstones and expired cells included. For repair, streaming and tests.
    public func readRaw(_ table: TableID, key: [UInt8]) throws(StorageError) -> PartitionUpdate? {
        let snap = try snapshot(table)
        let hash = BloomFilter.hash(key)
        let position = PartitionPosition(token: Murmur3.token(hash: hash), key: key)
        var merged: PartitionUpdate?
        func add(_ p: PartitionUpdate) {
            if merged == nil { merged = p } else { merged!.merge(p) }
        }
        for m in snap.memtables { if let p = m.partition(key, token: position.token) { add(p) } }
        for r in snap.sstables where r.mayContain(hash: hash) {
            guard let entry = try r.find(position) else { continue }
            var (p, headerEnd, block) = try r.header(entry)
            var cursor = SSTableRowCursor(reader: r, entry: entry, headerEnd: headerEnd, slice: .all, descending: false, firstBlock: block)
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
        guard rowsPerPartition >= 0 else {
            throw StorageError(code: .invalidArgument, message: "rowsPerPartition must not be negative, got \(rowsPerPartition)")
        }
        let snap = try snapshot(table)
        // Non-wrapping pieces of the range, in ring order from its start.
        var pieces: [(lower: Int64, upper: Int64, lowerInclusive: Bool)] = []
        if range.lower < range.upper {
            pieces = [(range.lower, range.upper, false)]
        } else {
            pieces = [(range.lower, Int64.max, false), (Int64.min, range.upper, true)]
            if range.lower == Int64.min { pieces = [(Int64.min, Int64.max, true)] }
        }
        func inPiece(_ t: Int64, _ piece: (lower: Int64, upper: Int64, lowerInclusive: Bool)) -> Bool {
            (piece.lowerInclusive ? t >= piece.lower : t > piece.lower) && t <= piece.upper
        }
        // Resume in the piece that holds `after`; earlier pieces are done.
        let first = after.flatMap { a in pieces.firstIndex { inPiece(a.token, $0) } } ?? 0
        var positions: [PartitionPosition] = []
        for (index, piece) in pieces.enumerated() where index >= first && positions.count < limit {
            let floor = PartitionPosition(token: piece.lower, key: [])
            let start = index == first ? after.map { max($0, floor) } ?? floor : floor
            var found = Set<PartitionPosition>()
            for m in snap.memtables {
                for p in m.keys(in: TokenRange(lower: piece.lower, upper: piece.upper)) where inPiece(p.token, piece) && p > start {
                    found.insert(p)
                }
            }
            for r in snap.sstables {
                for e in try r.entries(after: start, limit: limit) where inPiece(e.token, piece) {
                    found.insert(PartitionPosition(token: e.token, key: e.key))
                }
            }
            positions += found.sorted().prefix(limit - positions.count)
        }
        var results: [PartitionResult] = []
        for p in positions {
            let result = try read(snap, key: p.key, slice: .all, limit: rowsPerPartition, descending: false)
            if !result.rows.isEmpty { results.append(result) }
        }
        if !positions.isEmpty { lock.withLock { stats.reads += positions.count } }
        return (results, positions.last)
    }
}

/// Turns a merged row into what a reader sees: drops deleted and expired
/// cells and the row marker, and the row's own deletion marker.
struct LiveFilter {
    let partitionDeletion: DeletionTime
    let rangeTombstones: [RangeTombstone]
    let nowMicros: Int64

    /// Rewrites `row` to its live view; false if nothing in it is live.
    /// The common row (no deletions, every cell live, no marker) is kept
    /// as is, without building a new cells array.
    func keep(_ row: inout Row) -> Bool {
        let deletion = DeletionTime.covering(row, partition: partitionDeletion, rangeTombstones: rangeTombstones)
        let untouched = row.cells.withUnsafeBufferPointer { cells in
            for i in cells.indices {
                if cells[i].column.isEmpty || !cells[i].isLive(nowMicros: nowMicros) || deletion.deletes(cells[i].timestamp) {
                    return false
                }
            }
            return true
        }
        if untouched {
            if !row.cells.isEmpty {
                row.deletion = .live
                return true
            }
            return false
        }
        var alive = false
        var cells: [Cell] = []
        cells.reserveCapacity(row.cells.count)
        for cell in row.cells where cell.isLive(nowMicros: nowMicros) && !deletion.deletes(cell.timestamp) {
            alive = true
            if !cell.column.isEmpty { cells.append(cell) }
        }
        guard alive else { return false }
        row.deletion = .live
        row.cells = cells
        return true
    }
}
