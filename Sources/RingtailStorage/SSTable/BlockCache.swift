// A shared, byte-bounded cache of decompressed SSTable data blocks,
// evicting with the CLOCK (second chance) policy. Index chunks are not
// cached here: each reader keeps its own (PartitionIndex.swift); the cache
// only counts their bytes, for statistics.
import RingtailCore
import Synchronization

/// Decompressed blocks keyed by (reader, block), each whole or a prefix
/// (a point read decompresses only up to the end of its partition). A
/// prefix is never returned where the whole block is asked for. Thread-safe.
final class BlockCache: @unchecked Sendable {
    struct Key: Hashable {
        var reader: UInt64
        /// Data block number (>= 0).
        var block: Int
    }

    /// One ring slot. The CLOCK hand walks the ring alone; the map is
    /// touched only to find a slot and to forget an evicted key.
    private struct Slot {
        var key: Key
        var bytes: [UInt8]
        /// `bytes` is the whole block, not a prefix.
        var complete: Bool
        var referenced: Bool
        var occupied: Bool
    }

    private struct State {
        var map: [Key: Int] = [:]
        var ring: [Slot] = []
        var free: [Int] = []
        var hand = 0
        var usedBytes = 0
        var hits = 0
        var misses = 0

        /// Frees a slot and its bytes (the one way an entry leaves the cache).
        mutating func release(_ slot: Int) {
            usedBytes -= ring[slot].bytes.count + BlockCache.entryOverheadBytes
            map.removeValue(forKey: ring[slot].key)
            ring[slot].bytes = []
            ring[slot].occupied = false
            free.append(slot)
        }
    }

    /// Bookkeeping bytes charged per cached block on top of its contents.
    static let entryOverheadBytes = 64

    let capacityBytes: Int
    private let state = Locked(State())
    private let indexBytes = Atomic<Int>(0)

    init(capacityBytes: Int) {
        self.capacityBytes = capacityBytes
    }

    /// The block's bytes if cached whole or as a prefix of at least
    /// `prefix` bytes (`.max`: only the whole block will do).
    func get(_ key: Key, prefix: Int = .max) -> [UInt8]? {
        state.withLock { s in
            if let slot = s.map[key], s.ring[slot].complete || s.ring[slot].bytes.count >= prefix {
                s.ring[slot].referenced = true
                s.hits += 1
                return s.ring[slot].bytes
            }
            s.misses += 1
            return nil
        }
    }

    /// Caches a block, whole or a prefix. A cached entry is replaced only
    /// by a longer one (a prefix never displaces the whole block).
    func put(_ key: Key, _ bytes: [UInt8], complete: Bool = true) {
        let size = bytes.count + Self.entryOverheadBytes
        guard size <= capacityBytes / 4 else { return }
        state.withLock { s in
            if let old = s.map[key] {
                guard !s.ring[old].complete, complete || bytes.count > s.ring[old].bytes.count else { return }
                s.release(old)
            }
            // Bounded: each full turn of the hand clears every reference
            // bit, so the second turn evicts until there is room.
            while s.usedBytes + size > capacityBytes, !s.map.isEmpty {
                if s.hand >= s.ring.count { s.hand = 0 }
                if s.ring[s.hand].occupied {
                    if s.ring[s.hand].referenced {
                        s.ring[s.hand].referenced = false
                    } else {
                        s.release(s.hand)
                    }
                }
                s.hand += 1
            }
            let entry = Slot(key: key, bytes: bytes, complete: complete, referenced: false, occupied: true)
            let slot: Int
            if let f = s.free.popLast() {
                slot = f
                s.ring[f] = entry
            } else {
                slot = s.ring.count
                s.ring.append(entry)
            }
            s.map[key] = slot
            s.usedBytes += size
        }
    }

    /// Drops every block of a reader (its file was deleted).
    func evict(reader: UInt64) {
        state.withLock { s in
            for (k, slot) in s.map where k.reader == reader { s.release(slot) }
        }
    }

    /// Counts partition index bytes readers hold (outside the capacity).
    func noteIndexBytes(_ delta: Int) {
        indexBytes.add(delta, ordering: .relaxed)
    }

    /// Partition index bytes held by the readers sharing this cache.
    var residentIndexBytes: Int { indexBytes.load(ordering: .relaxed) }

    var statistics: (hits: Int, misses: Int, bytes: Int) { state.withLock { ($0.hits, $0.misses, $0.usedBytes) } }
}
