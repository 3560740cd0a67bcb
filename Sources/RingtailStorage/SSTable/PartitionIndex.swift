// The partition index of one open SSTable, kept in memory chunk by chunk,
// as LevelDB keeps a table's index block with the open table: a chunk is
// read and verified on first use, then stays decoded for the reader's
// life, out of the shared block cache (where it crowded out data blocks).
// Memory is the live index bytes plus 16 bytes per partition.
import RingtailCore
import Synchronization

/// One verified index chunk: its bytes, and each entry's token and start.
///
/// An entry is `token (8, little-endian) | key (varint length + bytes) |
/// block | offset | row index` (docs/formats/sstable.md). Entries ascend
/// by (token, key), so `find` searches the tokens and compares keys only
/// where the token matches. The index is cold memory (a random read
/// touches a random chunk), so the layout is for few cache misses: token
/// and start side by side, the end tokens in the object, and an
/// interpolated guess (tokens are Murmur3 hashes, spread evenly) that
/// lands within a few entries, where a binary search touched seven or
/// eight lines scattered over the chunk.
final class IndexChunk: Sendable {
    struct Slot: Sendable {
        var token: Int64
        /// Offset of the entry in `bytes`.
        var start: UInt32
    }

    let bytes: [UInt8]
    /// One per entry, ascending.
    let slots: [Slot]
    let firstToken: Int64
    let lastToken: Int64

    var count: Int { slots.count }

    /// Resident bytes (payload, entry table and object headers).
    var memoryBytes: Int { bytes.capacity + slots.capacity * MemoryLayout<Slot>.stride + 128 }

    /// Walks every entry once, so a chunk that is kept decodes in full.
    init(bytes: [UInt8], limits: StorageLimits) throws(DecodeError) {
        precondition(bytes.count <= Int(UInt32.max))
        // Two passes: count, then fill an array of exactly that size.
        var count = 0
        var r = ByteReader(bytes)
        var last = Int64.min
        while !r.isAtEnd {
            let at = r.offset
            let token = try r.readInt64()
            guard token >= last else { throw .invalid(offset: at, reason: "index tokens out of order") }
            last = token
            try r.skip(try r.readLength(limit: limits.partitionKeyBytesMax))
            try Self.skipTail(&r, limits: limits)
            count += 1
        }
        guard count > 0 else { throw .invalid(offset: 0, reason: "empty index chunk") }
        var failure: DecodeError?
        slots = [Slot](unsafeUninitializedCapacity: count) { out, initialized in
            var r = ByteReader(bytes)
            do throws(DecodeError) {
                while initialized < count {
                    let at = r.offset
                    let token = try r.readInt64()
                    try r.skip(try r.readLength(limit: limits.partitionKeyBytesMax))
                    try Self.skipTail(&r, limits: limits)
                    (out.baseAddress! + initialized).initialize(to: Slot(token: token, start: UInt32(at)))
                    initialized += 1
                }
            } catch {
                failure = error
            }
        }
        if let failure { throw failure }
        self.bytes = bytes
        firstToken = slots[0].token
        lastToken = slots[count - 1].token
    }

    /// Index of the first entry whose token is >= `token` (`count` if none).
    func lowerBound(_ token: Int64) -> Int {
        slots.withUnsafeBufferPointer { s in
            Self.lowerBound(token, count: s.count, first: firstToken, last: lastToken) { s[$0].token }
        }
    }

    /// First index in ascending `tokens` whose token is >= `token`.
    static func lowerBound(_ token: Int64, in tokens: [Int64]) -> Int {
        tokens.withUnsafeBufferPointer { tk in
            guard let first = tk.first, let last = tk.last else { return 0 }
            return lowerBound(token, count: tk.count, first: first, last: last) { tk[$0] }
        }
    }

    /// First index `i` in `0..<count` with `tokenAt(i) >= token` (`count`
    /// if none), for ascending tokens from `first` to `last`: an
    /// interpolated guess, a galloping search outward from it for a
    /// bracket, then a binary search inside the bracket. O(log n) at worst
    /// whatever the distribution.
    @inline(__always)
    static func lowerBound(_ token: Int64, count n: Int, first: Int64, last: Int64, tokenAt: (Int) -> Int64) -> Int {
        guard n > 0, token > first else { return 0 }
        guard token <= last else { return n }
        // first < token <= last, so n >= 2. The span in Double can still
        // round to zero: then guess the middle.
        let span = Double(last) - Double(first)
        let fraction = span > 0 ? min(1, max(0, (Double(token) - Double(first)) / span)) : 0.5
        let guess = min(n - 1, Int(fraction * Double(n - 1)))
        // The answer lies in [lo, hi].
        var lo = 0, hi = n
        var step = 1
        if tokenAt(guess) < token {
            lo = guess + 1
            while true {
                let probe = guess + step
                if probe >= n { hi = n; break }
                if tokenAt(probe) >= token { hi = probe; break }
                lo = probe + 1
                step <<= 1
            }
        } else {
            hi = guess
            while true {
                let probe = guess - step
                if probe < 0 { lo = 0; break }
                if tokenAt(probe) < token { lo = probe + 1; break }
                hi = probe
                step <<= 1
            }
        }
        while lo < hi {
            let mid = (lo + hi) / 2
            if tokenAt(mid) < token { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    /// The entry for `position`, or nil if the chunk does not hold it.
    func find(_ position: PartitionPosition, limits: StorageLimits) throws(DecodeError) -> IndexEntry? {
        var i = lowerBound(position.token)
        while i < slots.count && slots[i].token == position.token {
            var r = ByteReader(bytes, offset: Int(slots[i].start) + 8)
            let keyLength = try r.readLength(limit: limits.partitionKeyBytesMax)
            let keyStart = r.offset
            try r.skip(keyLength)
            let c = bytes.withUnsafeBytes { raw in
                position.key.withUnsafeBytes { compareBytes(UnsafeRawBufferPointer(rebasing: raw[keyStart..<keyStart + keyLength]), $0) }
            }
            if c == 0 {
                var entry = try Self.decodeTail(&r, token: position.token, key: position.key, limits: limits)
                if entry.rowIndex.isEmpty && i + 1 < slots.count {
                    // The next partition's start ends this one if in the same block.
                    var next = ByteReader(bytes, offset: Int(slots[i + 1].start) + 8)
                    try next.skip(try next.readLength(limit: limits.partitionKeyBytesMax))
                    let block = try next.readLength(limit: Int(Int32.max))
                    let offset = try next.readLength(limit: Int(Int32.max))
                    if block == entry.block && offset > entry.offset { entry.end = offset }
                }
                return entry
            }
            if c > 0 { return nil }
            i += 1
        }
        return nil
    }

    /// Index of the first entry after `position` (`count` if none).
    func firstIndex(after position: PartitionPosition, limits: StorageLimits) throws(DecodeError) -> Int {
        var i = lowerBound(position.token)
        // Skip entries with an equal token whose key is not greater.
        while i < slots.count && slots[i].token == position.token {
            var r = ByteReader(bytes, offset: Int(slots[i].start) + 8)
            let key = try r.readLengthPrefixed(limit: limits.partitionKeyBytesMax)
            if compareBytes(key, position.key) > 0 { break }
            i += 1
        }
        return i
    }

    /// Decodes entry `i` in full.
    func entry(_ i: Int, limits: StorageLimits) throws(DecodeError) -> IndexEntry {
        var r = ByteReader(bytes, offset: Int(slots[i].start))
        let token = try r.readInt64()
        let key = try r.readLengthPrefixed(limit: limits.partitionKeyBytesMax)
        return try Self.decodeTail(&r, token: token, key: key, limits: limits)
    }

    private static func skipTail(_ r: inout ByteReader, limits: StorageLimits) throws(DecodeError) {
        _ = try r.readLength(limit: Int(Int32.max))
        _ = try r.readLength(limit: Int(Int32.max))
        let count = try r.readLength(limit: r.remaining)
        for _ in 0..<count {
            _ = try r.readLength(limit: Int(Int32.max))
            try r.skip(try r.readLength(limit: limits.clusteringKeyBytesMax))
        }
    }

    private static func decodeTail(_ r: inout ByteReader, token: Int64, key: [UInt8], limits: StorageLimits) throws(DecodeError) -> IndexEntry {
        let block = try r.readLength(limit: Int(Int32.max))
        let offset = try r.readLength(limit: Int(Int32.max))
        let count = try r.readLength(limit: r.remaining)
        var rowIndex: [(block: Int, first: [UInt8])] = []
        if count > 0 {
            rowIndex.reserveCapacity(count)
            for _ in 0..<count {
                let b = try r.readLength(limit: Int(Int32.max))
                rowIndex.append((b, try r.readLengthPrefixed(limit: limits.clusteringKeyBytesMax)))
            }
        }
        return IndexEntry(token: token, key: key, block: block, offset: offset, rowIndex: rowIndex)
    }
}

/// A fixed number of slots, each published at most once and then read
/// without a lock (acquire/release through `AtomicLazyReference`).
final class PublishedSlots<Value: AnyObject & Sendable>: @unchecked Sendable {
    let count: Int
    private let base: UnsafeMutablePointer<AtomicLazyReference<Value>>

    init(count: Int) {
        precondition(count >= 0)
        self.count = count
        base = .allocate(capacity: max(count, 1))
        for i in 0..<count { (base + i).initialize(to: AtomicLazyReference()) }
    }

    deinit {
        base.deinitialize(count: count)
        base.deallocate()
    }

    func load(_ i: Int) -> Value? {
        precondition(i >= 0 && i < count)
        return base[i].load()
    }

    /// Publishes `value` unless the slot is set; returns the slot's value.
    func storeIfNil(_ i: Int, _ value: Value) -> Value {
        precondition(i >= 0 && i < count)
        return base[i].storeIfNil(value)
    }
}
