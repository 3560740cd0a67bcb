// A partition's worth of changes: the unit of a mutation, of a memtable
// entry, and of a merged read result.

/// Everything known about one partition from one source (a mutation, a
/// memtable, an SSTable), or merged from several.
///
/// Invariant: `rows` are sorted ascending by clustering bytes, unique, and
/// each row's cells are normalized.
public struct PartitionUpdate: Hashable, Sendable {
    public var key: [UInt8]
    public var deletion: DeletionTime
    public var rangeTombstones: [RangeTombstone]
    public var rows: [Row]

    public init(key: [UInt8], deletion: DeletionTime = .live, rangeTombstones: [RangeTombstone] = [], rows: [Row] = []) {
        self.key = key
        self.deletion = deletion
        self.rangeTombstones = rangeTombstones
        self.rows = rows
    }

    /// Sorts rows, merges duplicate clustering keys and normalizes cells.
    public mutating func normalize() {
        if isNormalized { return }
        for i in rows.indices { rows[i].normalize() }
        rows.sort { compareBytes($0.clustering, $1.clustering) < 0 }
        var out: [Row] = []
        out.reserveCapacity(rows.count)
        for row in rows {
            if let last = out.last, last.clustering == row.clustering {
                out[out.count - 1].merge(row)
            } else {
                out.append(row)
            }
        }
        rows = out
    }

    /// True if rows are strictly ascending and every row's cells are
    /// normalized: checked without allocating, so the common (already
    /// normalized) mutation skips the rebuild.
    var isNormalized: Bool {
        var previous: [UInt8]? = nil
        for row in rows {
            if let previous, compareBytes(previous, row.clustering) >= 0 { return false }
            if !row.isNormalized { return false }
            previous = row.clustering
        }
        return true
    }

    /// Merges `other` (another version of the same partition) into this one.
    /// Commutative and associative, so replay and merge order never matter.
    public mutating func merge(_ other: PartitionUpdate) {
        deletion = DeletionTime.newest(deletion, other.deletion)
        for rt in other.rangeTombstones where !rangeTombstones.contains(rt) { rangeTombstones.append(rt) }
        if other.rows.isEmpty { return }
        if rows.isEmpty {
            rows = other.rows
            return
        }
        // Fast path: a single row (the common mutation) goes in by binary search.
        if other.rows.count == 1 {
            insertOrMerge(other.rows[0])
            return
        }
        var out: [Row] = []
        out.reserveCapacity(rows.count + other.rows.count)
        var i = 0, j = 0
        while i < rows.count, j < other.rows.count {
            let c = compareBytes(rows[i].clustering, other.rows[j].clustering)
            if c < 0 {
                out.append(rows[i]); i += 1
            } else if c > 0 {
                out.append(other.rows[j]); j += 1
            } else {
                var r = rows[i]
                r.merge(other.rows[j])
                out.append(r); i += 1; j += 1
            }
        }
        out.append(contentsOf: rows[i...])
        out.append(contentsOf: other.rows[j...])
        rows = out
    }

    mutating func insertOrMerge(_ row: Row) {
        guard !rows.isEmpty else {
            rows.append(row)
            return
        }
        // Compare with the last row in place (no copy of it): time-ordered
        // writes append.
        let c = compareBytes(rows[rows.count - 1].clustering, row.clustering)
        if c < 0 { rows.append(row); return }
        if c == 0 { rows[rows.count - 1].merge(row); return }
        var lo = 0, hi = rows.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if compareBytes(rows[mid].clustering, row.clustering) < 0 { lo = mid + 1 } else { hi = mid }
        }
        if lo < rows.count, rows[lo].clustering == row.clustering {
            rows[lo].merge(row)
        } else {
            rows.insert(row, at: lo)
        }
    }

    /// Index of the first row not below `range`'s lower bound.
    func firstIndex(in range: ClusteringRange) -> Int {
        var lo = 0, hi = rows.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if range.isBelow(rows[mid].clustering) { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    var memoryBytes: Int {
        var total = 96 + key.count + rangeTombstones.count * 96
        for row in rows { total += row.memoryBytes }
        return total
    }

    var maxTimestamp: Int64 {
        var m = deletion.markedAt
        for rt in rangeTombstones where rt.deletion.markedAt > m { m = rt.deletion.markedAt }
        for row in rows { m = max(m, row.maxTimestamp) }
        return m
    }

    var minTimestamp: Int64 {
        var m = deletion.isLive ? Int64.max : deletion.markedAt
        for rt in rangeTombstones where rt.deletion.markedAt < m { m = rt.deletion.markedAt }
        for row in rows { m = min(m, row.minTimestamp) }
        return m
    }

    /// True if nothing at all is recorded (no deletion, tombstone or row).
    public var isEmpty: Bool { deletion.isLive && rangeTombstones.isEmpty && rows.isEmpty }
}

/// A change to one partition of one table: the unit of atomicity. A mutation
/// is applied all or nothing, in memory and in the commit log.
public struct Mutation: Hashable, Sendable {
    public var table: TableID
    public var update: PartitionUpdate

    public init(table: TableID, update: PartitionUpdate) {
        self.table = table
        self.update = update
    }
}

/// A table's identity inside one engine. Stable across restarts.
public struct TableID: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var rawValue: UInt32
    public init(_ rawValue: UInt32) { self.rawValue = rawValue }
    public static func < (a: TableID, b: TableID) -> Bool { a.rawValue < b.rawValue }
    public var description: String { "t\(rawValue)" }
}
