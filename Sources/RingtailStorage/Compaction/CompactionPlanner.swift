// Picks what to compact, as a pure function of the live SSTables'
// statistics and the time: size-tiered buckets, time windows, and whole
// SSTables whose data has all expired. No I/O, so tests call it directly.
import RingtailCore

/// What the planner knows of one SSTable.
struct CompactionCandidate: Hashable {
    var generation: UInt64
    var bytes: Int
    var minTimestamp: Int64
    var maxTimestamp: Int64
    var maxLocalDeletionTime: Int64
    var minToken: Int64
    var maxToken: Int64
    /// When this process wrote it (µs; 0 if found at open).
    var createdMicros: Int64 = 0
}

/// One unit of compaction work.
struct CompactionPlan: Equatable {
    enum Reason: String { case sizeTiered, timeWindow, expired, major }
    var reason: Reason
    /// Inputs to merge into one output (empty for a pure drop).
    var inputs: [UInt64]
    /// SSTables whose data has all expired and shadows nothing: deleted whole.
    var drops: [UInt64]
}

enum CompactionPlanner {
    /// The next compaction for a table, or nil if nothing is worth doing.
    /// - Parameters:
    ///   - gcBeforeMicros: tombstones and expired data older than this may go.
    ///   - memtableMinTimestamp: oldest timestamp still in memtables (for the drop rule).
    static func plan(_ candidates: [CompactionCandidate], strategy: CompactionStrategy, nowMicros: Int64,
                     gcBeforeMicros: Int64, memtableMinTimestamp: Int64) -> CompactionPlan? {
        let expired = fullyExpired(candidates, gcBeforeMicros: gcBeforeMicros, memtableMinTimestamp: memtableMinTimestamp)
        if !expired.isEmpty { return CompactionPlan(reason: .expired, inputs: [], drops: expired.sorted()) }
        switch strategy {
        case .sizeTiered(let st):
            return sizeTiered(candidates, st).map { CompactionPlan(reason: .sizeTiered, inputs: $0, drops: []) }
        case .timeWindow(let tw):
            return timeWindow(candidates, tw, nowMicros: nowMicros)
        }
    }

    /// SSTables whose every cell and tombstone expired before gc grace and
    /// whose newest write is older than anything overlapping them elsewhere.
    static func fullyExpired(_ candidates: [CompactionCandidate], gcBeforeMicros: Int64, memtableMinTimestamp: Int64) -> [UInt64] {
        var out: [UInt64] = []
        for c in candidates where c.maxLocalDeletionTime < gcBeforeMicros {
            var shadowsNothing = c.maxTimestamp < memtableMinTimestamp
            for other in candidates where other.generation != c.generation && shadowsNothing {
                let overlaps = other.minToken <= c.maxToken && c.minToken <= other.maxToken
                if overlaps && other.minTimestamp <= c.maxTimestamp && !(other.maxLocalDeletionTime < gcBeforeMicros) {
                    shadowsNothing = false
                }
            }
            if shadowsNothing { out.append(c.generation) }
        }
        return out
    }

    /// Buckets of similar size; the bucket with enough members and the
    /// smallest average size wins (cheapest work first).
    static func sizeTiered(_ candidates: [CompactionCandidate], _ st: SizeTieredOptions) -> [UInt64]? {
        let sorted = candidates.sorted { ($0.bytes, $0.generation) < ($1.bytes, $1.generation) }
        var buckets: [(average: Double, members: [CompactionCandidate])] = []
        for c in sorted {
            let size = Double(c.bytes)
            if let i = buckets.indices.last {
                let avg = buckets[i].average
                let small = c.bytes < st.minSSTableBytes.bytes && avg < Double(st.minSSTableBytes.bytes)
                if small || (size >= avg * st.bucketLow && size <= avg * st.bucketHigh) {
                    let n = Double(buckets[i].members.count)
                    buckets[i].members.append(c)
                    buckets[i].average = (avg * n + size) / (n + 1)
                    continue
                }
            }
            buckets.append((size, [c]))
        }
        let eligible = buckets.filter { $0.members.count >= st.minThreshold }
        guard let best = eligible.min(by: { $0.average < $1.average }) else { return nil }
        return best.members.prefix(st.maxThreshold).map(\.generation).sorted()
    }

    static func window(of timestamp: Int64, _ tw: TimeWindowOptions) -> Int64 {
        let w = tw.windowMicros
        return timestamp >= 0 ? timestamp / w : (timestamp - w + 1) / w
    }

    /// How long an older window must go without a new SSTable before it is
    /// merged down to one: the window's length, at most 10 minutes.
    static func quietMicros(_ tw: TimeWindowOptions) -> Int64 { min(tw.windowMicros, 600_000_000) }

    /// The current window, and any older window still receiving SSTables
    /// (late or back-filled data): size-tiered. An older window that has been
    /// quiet for `quietMicros`: all of its SSTables into one. Merging a busy
    /// older window whole on every flush would rewrite it each time, so a
    /// back-fill of one day would cost quadratic I/O.
    static func timeWindow(_ candidates: [CompactionCandidate], _ tw: TimeWindowOptions, nowMicros: Int64) -> CompactionPlan? {
        let current = window(of: nowMicros, tw)
        var byWindow: [Int64: [CompactionCandidate]] = [:]
        for c in candidates { byWindow[min(window(of: c.maxTimestamp, tw), current), default: []].append(c) }
        let quiet = quietMicros(tw)
        for w in byWindow.keys.sorted(by: >) {
            let members = byWindow[w]!
            let busy = w >= current || members.contains { $0.createdMicros > nowMicros &- quiet }
            if busy {
                if let pick = sizeTiered(members, tw.sizeTiered) {
                    return CompactionPlan(reason: .timeWindow, inputs: pick, drops: [])
                }
            } else if members.count > 1 {
                return CompactionPlan(reason: .timeWindow, inputs: members.map(\.generation).sorted(), drops: [])
            }
        }
        return nil
    }
}
