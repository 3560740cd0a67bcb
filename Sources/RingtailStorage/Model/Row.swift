// A row: the cells under one clustering key, with an optional row tombstone.

/// The cells of one clustering key in one partition.
///
/// Invariant: `cells` are sorted by column bytes with no duplicate columns.
public struct Row: Hashable, Sendable {
    public var clustering: [UInt8]
    public var deletion: DeletionTime
    public var cells: [Cell]

    public init(clustering: [UInt8], deletion: DeletionTime = .live, cells: [Cell]) {
        self.clustering = clustering
        self.deletion = deletion
        self.cells = cells
    }

    /// Sorts the cells and reconciles duplicate columns (for rows built by callers).
    public mutating func normalize() {
        if isNormalized { return }
        cells.sort { compareBytes($0.column, $1.column) < 0 }
        var out: [Cell] = []
        out.reserveCapacity(cells.count)
        for cell in cells {
            if let last = out.last, last.column == cell.column {
                out[out.count - 1] = Cell.reconcile(last, cell)
            } else {
                out.append(cell)
            }
        }
        cells = out
    }

    /// True if cells are strictly ascending by column (sorted, no duplicates).
    var isNormalized: Bool {
        var i = 1
        while i < cells.count {
            if compareBytes(cells[i - 1].column, cells[i].column) >= 0 { return false }
            i += 1
        }
        return true
    }

    /// Merges another version of the same row into this one.
    mutating func merge(_ other: Row) {
        assert(clustering == other.clustering)
        deletion = DeletionTime.newest(deletion, other.deletion)
        if other.cells.isEmpty { return }
        if cells.isEmpty {
            cells = other.cells
            return
        }
        if reconcileInPlace(other.cells) { return }
        var out: [Cell] = []
        out.reserveCapacity(cells.count + other.cells.count)
        var i = 0, j = 0
        while i < cells.count, j < other.cells.count {
            let c = compareBytes(cells[i].column, other.cells[j].column)
            if c < 0 {
                out.append(cells[i]); i += 1
            } else if c > 0 {
                out.append(other.cells[j]); j += 1
            } else {
                out.append(Cell.reconcile(cells[i], other.cells[j])); i += 1; j += 1
            }
        }
        out.append(contentsOf: cells[i...])
        out.append(contentsOf: other.cells[j...])
        cells = out
    }

    /// An update of columns the row already has (the common overwrite):
    /// reconciles each in place, with no new array. False, changing
    /// nothing, if some column of `incoming` is new to the row.
    private mutating func reconcileInPlace(_ incoming: [Cell]) -> Bool {
        guard incoming.count <= cells.count else { return false }
        var positions: [Int] = []
        var i = 0
        for cell in incoming {
            while i < cells.count && compareBytes(cells[i].column, cell.column) < 0 { i += 1 }
            guard i < cells.count, cells[i].column == cell.column else { return false }
            if incoming.count == 1 {
                cells[i] = Cell.reconcile(cells[i], cell)
                return true
            }
            positions.append(i)
            i += 1
        }
        for (cell, at) in zip(incoming, positions) { cells[at] = Cell.reconcile(cells[at], cell) }
        return true
    }

    var memoryBytes: Int {
        var total = 64 + clustering.count
        for cell in cells { total += cell.memoryBytes }
        return total
    }

    /// Largest write timestamp or deletion mark in the row.
    var maxTimestamp: Int64 {
        var m = deletion.markedAt
        for cell in cells where cell.timestamp > m { m = cell.timestamp }
        return m
    }

    var minTimestamp: Int64 {
        var m = deletion.isLive ? Int64.max : deletion.markedAt
        for cell in cells where cell.timestamp < m { m = cell.timestamp }
        return m
    }
}
