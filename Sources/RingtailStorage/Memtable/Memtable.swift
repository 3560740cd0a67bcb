// The in-memory write buffer of one table: a hash map of partitions, each
// with rows kept sorted. Sorting of partitions happens once, at flush (or
// for a rare token-range scan), which keeps the write path to one hash
// lookup and usually one append.
import RingtailCore

/// Recent writes to one table, not yet in an SSTable.
///
/// Thread safety: all methods take the memtable's own lock; a frozen
/// memtable (`freeze()` called) is never written again.
/// Byte accounting is conservative: each applied update adds its own size,
/// even when it overwrites, so the budget can only be overestimated.
final class Memtable: @unchecked Sendable {
    struct Entry {
        var token: Int64
        var update: PartitionUpdate
    }

    struct State {
        var partitions: [[UInt8]: Entry] = [:]
        var bytes = 0
        var minTimestamp = Int64.max
        var maxTimestamp = Int64.min
        var frozen = false
        /// Commit log position of the first write, or nil if empty.
        var lowerBound: CommitLogPosition?
    }

    let table: TableID
    /// Engine-wide sequence; newer memtables have larger ids.
    let id: UInt64
    private let state = Locked(State())

    init(table: TableID, id: UInt64) {
        self.table = table
        self.id = id
    }

    var bytes: Int { state.withLock { $0.bytes } }
    var isEmpty: Bool { state.withLock { $0.partitions.isEmpty } }
    var partitionCount: Int { state.withLock { $0.partitions.count } }
    var lowerBound: CommitLogPosition? { state.withLock { $0.lowerBound } }
    var timestampRange: (min: Int64, max: Int64) { state.withLock { ($0.minTimestamp, $0.maxTimestamp) } }

    /// Applies an update; returns the bytes it added to the budget.
    /// - Parameter position: where the mutation sits in the commit log (nil during tests without one).
    @discardableResult
    func apply(_ update: PartitionUpdate, token: Int64, position: CommitLogPosition?) -> Int {
        let size = update.memoryBytes
        let lo = update.minTimestamp, hi = update.maxTimestamp
        state.withLock { s in
            precondition(!s.frozen, "write to a frozen memtable")
            if let position, s.lowerBound == nil || position < s.lowerBound! { s.lowerBound = position }
            s.bytes += size
            if lo < s.minTimestamp { s.minTimestamp = lo }
            if hi > s.maxTimestamp { s.maxTimestamp = hi }
            if s.partitions[update.key] != nil {
                s.partitions[update.key]!.update.merge(update)
            } else {
                s.partitions[update.key] = Entry(token: token, update: update)
            }
        }
        return size
    }

    /// A snapshot of one partition (copy-on-write: O(1) until written again).
    func partition(_ key: [UInt8]) -> PartitionUpdate? {
        state.withLock { $0.partitions[key]?.update }
    }

    func freeze() { state.withLock { $0.frozen = true } }

    /// All partitions sorted by (token, key): the SSTable and scan order.
    func sortedPartitions() -> [Entry] {
        let entries = state.withLock { Array($0.partitions.values) }
        return entries.sorted(by: partitionOrder)
    }

    /// Sorted (token, key) pairs with token in `range`.
    func keys(in range: TokenRange) -> [PartitionPosition] {
        let keys = state.withLock { s in
            s.partitions.values.compactMap { e in range.contains(e.token) ? PartitionPosition(token: e.token, key: e.update.key) : nil }
        }
        return keys.sorted()
    }
}

@inline(__always)
func partitionOrder(_ a: Memtable.Entry, _ b: Memtable.Entry) -> Bool {
    if a.token != b.token { return a.token < b.token }
    return compareBytes(a.update.key, b.update.key) < 0
}

/// A partition's place on the ring: token first, key bytes to break ties.
public struct PartitionPosition: Hashable, Comparable, Sendable {
    public var token: Int64
    public var key: [UInt8]

    public init(token: Int64, key: [UInt8]) {
        self.token = token
        self.key = key
    }

    public init(key: [UInt8]) {
        self.token = Murmur3.token(key)
        self.key = key
    }

    public static func < (a: PartitionPosition, b: PartitionPosition) -> Bool {
        a.token != b.token ? a.token < b.token : compareBytes(a.key, b.key) < 0
    }
}

/// A range of tokens `(lower, upper]` as on a Cassandra ring; `lower ==
/// upper` is the whole ring, and a range may wrap past `Int64.max`.
public struct TokenRange: Hashable, Sendable, CustomStringConvertible {
    public var lower: Int64
    public var upper: Int64

    public init(lower: Int64, upper: Int64) {
        self.lower = lower
        self.upper = upper
    }

    public static let full = TokenRange(lower: Int64.min, upper: Int64.min)

    public func contains(_ token: Int64) -> Bool {
        if lower == upper { return true }
        if lower < upper { return token > lower && token <= upper }
        return token > lower || token <= upper
    }

    public var description: String { "(\(lower), \(upper)]" }
}
