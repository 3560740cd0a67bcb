// Measured replica latency, for two decisions a read coordinator makes:
// which replica is closest (gets the data request; the rest get digests),
// and when a replica is slow enough to retry elsewhere (speculative retry at
// a percentile of recent read latencies). Pure and bounded.
import RingtailCore

/// Per-replica smoothed latency and a window of recent read latencies.
public struct LatencyTracker: Sendable {
    /// Weight of a new sample in the per-replica moving average.
    public let smoothing: Double
    /// Recent latencies kept for percentiles (a ring buffer).
    public let windowSize: Int
    private var averages: [NodeID: Double] = [:]
    private var window: [Int64] = []
    private var next = 0
    private var cachedPercentile: (percentile: Double, value: Duration)?
    private var samplesSinceCache = 0

    public init(smoothing: Double = 0.2, windowSize: Int = 1024) {
        precondition(smoothing > 0 && smoothing <= 1 && windowSize > 0)
        self.smoothing = smoothing
        self.windowSize = windowSize
    }

    /// Records that `replica` answered after `latency`.
    public mutating func record(_ replica: NodeID, latency: Duration) {
        let ns = max(0, latency.nanosecondsClamped)
        let old = averages[replica]
        averages[replica] = old.map { $0 + smoothing * (Double(ns) - $0) } ?? Double(ns)
        if window.count < windowSize {
            window.append(ns)
        } else {
            window[next] = ns
            next = (next + 1) % windowSize
        }
        samplesSinceCache += 1
    }

    /// `replicas` closest first: measured ones by smoothed latency, then
    /// unmeasured ones in their given order. `local` always comes first.
    public func sortedByProximity(_ replicas: [NodeID], local: NodeID) -> [NodeID] {
        // Sort keys computed once (rank: local, measured, unmeasured), so the
        // comparator neither captures the tracker nor hashes node names.
        var keyed: [(rank: Int, average: Double, offset: Int, node: NodeID)] = []
        keyed.reserveCapacity(replicas.count)
        for (offset, node) in replicas.enumerated() {
            if node == local {
                keyed.append((0, 0, offset, node))
            } else if let average = averages[node] {
                keyed.append((1, average, offset, node))
            } else {
                keyed.append((2, 0, offset, node))
            }
        }
        keyed.sort { a, b in
            if a.rank != b.rank { return a.rank < b.rank }
            if a.average != b.average { return a.average < b.average }
            return a.offset < b.offset
        }
        return keyed.map(\.node)
    }

    /// The `percentile` (0–100) of recent latencies; nil with fewer than 20
    /// samples. Recomputed after every 256 new samples (a sort of the window):
    /// a percentile of the last 1,024 latencies moves slowly.
    public mutating func percentile(_ percentile: Double) -> Duration? {
        guard window.count >= 20 else { return nil }
        if let c = cachedPercentile, c.percentile == percentile, samplesSinceCache < 256 { return c.value }
        let sorted = window.sorted()
        let rank = min(sorted.count - 1, max(0, Int((percentile / 100 * Double(sorted.count)).rounded(.up)) - 1))
        let value = Duration.nanoseconds(sorted[rank])
        cachedPercentile = (percentile, value)
        samplesSinceCache = 0
        return value
    }
}
