// A shared, byte-bounded cache of decompressed SSTable blocks and index
// chunks, evicting with the CLOCK (second chance) policy.
import RingtailCore

/// Decompressed blocks keyed by (reader, block). Thread-safe.
final class BlockCache: @unchecked Sendable {
    struct Key: Hashable {
        var reader: UInt64
        /// Data blocks are >= 0; index chunks are encoded as -(chunk + 1).
        var block: Int
    }

    private struct Entry {
        var bytes: [UInt8]
        var referenced: Bool
        var slot: Int
    }

    private struct State {
        var map: [Key: Entry] = [:]
        var ring: [Key?] = []
        var free: [Int] = []
        var hand = 0
        var usedBytes = 0
        var hits = 0
        var misses = 0
    }

    let capacityBytes: Int
    private let state = Locked(State())

    init(capacityBytes: Int) {
        self.capacityBytes = capacityBytes
    }

    func get(_ key: Key) -> [UInt8]? {
        state.withLock { s in
            if let e = s.map[key] {
                if !e.referenced { s.map[key]!.referenced = true }
                s.hits += 1
                return e.bytes
            }
            s.misses += 1
            return nil
        }
    }

    func put(_ key: Key, _ bytes: [UInt8]) {
        let size = bytes.count + 64
        guard size <= capacityBytes / 4 else { return }
        state.withLock { s in
            guard s.map[key] == nil else { return }
            while s.usedBytes + size > capacityBytes, !s.map.isEmpty {
                if s.hand >= s.ring.count { s.hand = 0 }
                if let k = s.ring[s.hand] {
                    if s.map[k]!.referenced {
                        s.map[k]!.referenced = false
                    } else {
                        s.usedBytes -= s.map[k]!.bytes.count + 64
                        s.map.removeValue(forKey: k)
                        s.ring[s.hand] = nil
                        s.free.append(s.hand)
                    }
                }
                s.hand += 1
            }
            let slot: Int
            if let f = s.free.popLast() {
                slot = f
                s.ring[f] = key
            } else {
                slot = s.ring.count
                s.ring.append(key)
            }
            s.map[key] = Entry(bytes: bytes, referenced: false, slot: slot)
            s.usedBytes += size
        }
    }

    /// Drops every block of a reader (its file was deleted).
    func evict(reader: UInt64) {
        state.withLock { s in
            for (k, e) in s.map where k.reader == reader {
                s.usedBytes -= e.bytes.count + 64
                s.ring[e.slot] = nil
                s.free.append(e.slot)
                s.map.removeValue(forKey: k)
            }
        }
    }

    var statistics: (hits: Int, misses: Int, bytes: Int) { state.withLock { ($0.hits, $0.misses, $0.usedBytes) } }
}
