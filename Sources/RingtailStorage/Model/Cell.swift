// A cell: one column's value in a row, with its write timestamp, and the
// last-write-wins rule that reconciles two versions of it.

/// One column value, an expiring value, or a cell tombstone.
///
/// Invariant: a tombstone has an empty `value`. The row marker (which keeps a
/// row alive with no other columns) is the cell whose `column` is empty.
public struct Cell: Hashable, Sendable {
    public enum Kind: Hashable, Sendable {
        /// A live value that never expires.
        case live
        /// A value that expires `ttlSeconds` after it was written, at wall time `expiresAt` (µs).
        case expiring(ttlSeconds: Int32, expiresAt: Int64)
        /// A deleted cell; `deletedAt` is the wall time of the delete (µs).
        case tombstone(deletedAt: Int64)
    }

    public var column: [UInt8]
    public var timestamp: Int64
    public var kind: Kind
    public var value: [UInt8]

    public init(column: [UInt8], timestamp: Int64, kind: Kind = .live, value: [UInt8]) {
        self.column = column
        self.timestamp = timestamp
        self.kind = kind
        self.value = value
    }

    public static func live(_ column: String, _ value: [UInt8], timestamp: Int64) -> Cell {
        Cell(column: Array(column.utf8), timestamp: timestamp, value: value)
    }

    public static func tombstone(_ column: [UInt8], timestamp: Int64, deletedAt: Int64) -> Cell {
        Cell(column: column, timestamp: timestamp, kind: .tombstone(deletedAt: deletedAt), value: [])
    }

    public var isTombstone: Bool {
        if case .tombstone = kind { return true }
        return false
    }

    /// The wall time after which this cell no longer holds a value:
    /// expiry for expiring cells, deletion for tombstones, `Int64.max` for live.
    public var localDeletionTime: Int64 {
        switch kind {
        case .live: return .max
        case .expiring(_, let expiresAt): return expiresAt
        case .tombstone(let deletedAt): return deletedAt
        }
    }

    /// True if the cell holds a value at wall time `nowMicros`.
    @inlinable public func isLive(nowMicros: Int64) -> Bool {
        switch kind {
        case .live: return true
        case .expiring(_, let expiresAt): return expiresAt > nowMicros
        case .tombstone: return false
        }
    }

    /// Last-write-wins: true if `self` wins over `other`.
    ///
    /// The higher timestamp wins. On a tie, a mortal cell (tombstone or
    /// expiring value) beats a permanent one; between mortal cells the later
    /// local deletion time wins, then a tombstone over an expiring value;
    /// otherwise the greater value bytes win. This is a total order that
    /// does not depend on the current time, so every replica picks the same
    /// winner in any merge order, and compaction turning an expired value
    /// into a tombstone (same local deletion time) never changes a winner.
    public func wins(over other: Cell) -> Bool {
        if timestamp != other.timestamp { return timestamp > other.timestamp }
        let selfMortal = !isPermanent, otherMortal = !other.isPermanent
        if selfMortal != otherMortal { return selfMortal }
        if selfMortal {
            let a = localDeletionTime, b = other.localDeletionTime
            if a != b { return a > b }
            if isTombstone != other.isTombstone { return isTombstone }
        }
        return compareBytes(value, other.value) > 0
    }

    /// True for a live value with no TTL.
    public var isPermanent: Bool {
        if case .live = kind { return true }
        return false
    }

    static func reconcile(_ a: Cell, _ b: Cell) -> Cell { a.wins(over: b) ? a : b }

    /// Approximate memory held, for memtable accounting.
    var memoryBytes: Int { 48 + column.count + value.count }
}

/// memcmp-style comparison of byte strings: negative, zero or positive.
@inlinable
public func compareBytes(_ a: [UInt8], _ b: [UInt8]) -> Int {
    a.withUnsafeBytes { ra in b.withUnsafeBytes { rb in compareBytes(ra, rb) } }
}

@inlinable
public func compareBytes(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Int {
    let n = min(a.count, b.count)
    if n > 0 {
        let c = memcmpBytes(a.baseAddress!, b.baseAddress!, n)
        if c != 0 { return c }
    }
    return a.count - b.count
}

@usableFromInline
func memcmpBytes(_ a: UnsafeRawPointer, _ b: UnsafeRawPointer, _ n: Int) -> Int {
    var i = 0
    while i + 8 <= n {
        let x = UInt64(bigEndian: a.loadUnaligned(fromByteOffset: i, as: UInt64.self))
        let y = UInt64(bigEndian: b.loadUnaligned(fromByteOffset: i, as: UInt64.self))
        if x != y { return x < y ? -1 : 1 }
        i += 8
    }
    while i < n {
        let x = a.load(fromByteOffset: i, as: UInt8.self), y = b.load(fromByteOffset: i, as: UInt8.self)
        if x != y { return x < y ? -1 : 1 }
        i += 1
    }
    return 0
}
