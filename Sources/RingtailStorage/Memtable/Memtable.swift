// The in-memory write buffer of one table: a hash map of partitions, each
// with rows kept sorted. Sorting of partitions happens once, at flush (or
// for a rare token-range scan), which keeps the write path to one hash
// lookup and usually one append. The map is keyed by (token, key) and
// hashed by the token alone: the Murmur3 token is already computed for
// every write and spreads keys well, so no byte-by-byte hashing is needed.
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

    /// A partition key with its token; hashes by the token only.
    struct Key: Hashable {
        var token: Int64
        var key: [UInt8]

        func hash(into hasher: inout Hasher) { hasher.combine(token) }

        static func == (a: Key, b: Key) -> Bool {
            a.token == b.token && compareBytes(a.key, b.key) == 0
        }
    }

    struct State {
        var partitions: [Key: PartitionUpdate] = [:]
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

    /// - Parameter expectedPartitions: a capacity hint (e.g. the previous
    ///   memtable's partition count) so the map does not rehash as it fills.
    init(table: TableID, id: UInt64, expectedPartitions: Int = 0) {
        self.table = table
        self.id = id
        if expectedPartitions > 0 {
            state.withLock { $0.partitions.reserveCapacity(expectedPartitions) }
        }
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
            // Merge in place if present (no copy of the stored partition);
            // a new partition is stored as is. The token hash makes the
            // second probe on insert cheap.
            let key = Key(token: token, key: update.key)
            if let i = s.partitions.index(forKey: key) {
                s.partitions.values[i].merge(update)
            } else {
                s.partitions[key] = update
            }
        }
        return size
    }

    /// A snapshot of one partition (copy-on-write: O(1) until written again).
    func partition(_ key: [UInt8], token: Int64) -> PartitionUpdate? {
        let k = Key(token: token, key: key)
        return state.withLock { $0.partitions[k] }
    }

    func freeze() { state.withLock { $0.frozen = true } }

    /// All partitions sorted by (token, key): the SSTable and scan order.
    func sortedPartitions() -> [Entry] {
        var entries: [Entry] = []
        state.withLock { s in
            entries.reserveCapacity(s.partitions.count)
            for (k, u) in s.partitions { entries.append(Entry(token: k.token, update: u)) }
        }
        entries.sort(by: partitionOrder)
        return entries
    }

    /// Sorted (token, key) pairs with token in `range`.
    func keys(in range: TokenRange) -> [PartitionPosition] {
        let keys = state.withLock { s in
            s.partitions.keys.compactMap { k in range.contains(k.token) ? PartitionPosition(token: k.token, key: k.key) : nil }
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
