// Local, per-node judgement of whether a peer is up: a phi-accrual failure
// detector over gossip heartbeat arrivals (Hayashibara et al.), computed as
// Cassandra does with an exponential model of inter-arrival times. Pure:
// time comes in as `Instant` arguments.
import RingtailCore
import RingtailWire

/// Phi accrual over each peer's heartbeat arrivals.
///
/// `phi = elapsed / meanInterval * log10(e)`: the suspicion that a peer
/// whose heartbeats arrived every `meanInterval` on average is down, given
/// `elapsed` since the last one (phi 1 is a 10% chance of a false
/// conviction, phi 8 about 1 in 10^8 under the model). A peer is down when
/// phi exceeds the threshold (8 by default, as Cassandra). Intervals longer
/// than `maxIntervalSample` are not learned from (a pause should not teach
/// the detector that pauses are normal). Bounded: at most `windowSize`
/// intervals are kept per peer.
public struct PhiAccrualFailureDetector: Sendable {
    public var threshold: Double
    public let windowSize: Int
    public let initialInterval: Duration
    public let maxIntervalSample: Duration

    struct ArrivalWindow: Sendable {
        var last: Instant?
        var intervals: [Int64] = []
        var next = 0
        var sum: Int64 = 0
    }

    private var windows: [NodeID: ArrivalWindow] = [:]

    public init(threshold: Double = 8, windowSize: Int = 1000, initialInterval: Duration = .seconds(1),
                maxIntervalSample: Duration = .seconds(2)) {
        precondition(threshold > 0 && windowSize > 0)
        self.threshold = threshold
        self.windowSize = windowSize
        self.initialInterval = initialInterval
        self.maxIntervalSample = maxIntervalSample
    }

    /// Records a heartbeat from `peer` arriving at `now`.
    public mutating func heartbeat(from peer: NodeID, at now: Instant) {
        var w = windows[peer] ?? ArrivalWindow()
        if let last = w.last {
            let interval = (now - last).nanosecondsClamped
            if interval > 0 && interval <= maxIntervalSample.nanosecondsClamped { add(interval, to: &w) }
        } else {
            // Seed the window so a new peer is judged against the gossip interval.
            add(initialInterval.nanosecondsClamped, to: &w)
        }
        if w.last.map({ now > $0 }) ?? true { w.last = now }
        windows[peer] = w
    }

    private func add(_ interval: Int64, to w: inout ArrivalWindow) {
        if w.intervals.count < windowSize {
            w.intervals.append(interval)
        } else {
            w.sum -= w.intervals[w.next]
            w.intervals[w.next] = interval
            w.next = (w.next + 1) % windowSize
        }
        w.sum += interval
    }

    /// Suspicion level of `peer` at `now`; 0 for a peer never heard from
    /// (it is unknown, not suspected: see `isAlive`).
    public func phi(of peer: NodeID, at now: Instant) -> Double {
        // One hash lookup, and the window read in place (not copied out).
        guard let i = windows.index(forKey: peer) else { return 0 }
        return Self.phi(windows.values[i], at: now)
    }

    private static func phi(_ w: ArrivalWindow, at now: Instant) -> Double {
        guard let last = w.last, !w.intervals.isEmpty else { return 0 }
        let mean = Double(w.sum) / Double(w.intervals.count)
        let elapsed = Double(max(0, (now - last).nanosecondsClamped))
        return elapsed / mean * 0.4342944819032518 // log10(e)
    }

    /// True if `peer` has been heard from and its phi is below the threshold.
    public func isAlive(_ peer: NodeID, at now: Instant) -> Bool {
        guard let i = windows.index(forKey: peer), windows.values[i].last != nil else { return false }
        return Self.phi(windows.values[i], at: now) < threshold
    }

    /// Forgets a peer (removed from the cluster).
    public mutating func remove(_ peer: NodeID) { windows[peer] = nil }

    /// How long after its last heartbeat a peer with a steady `interval`
    /// is convicted: `threshold / log10(e) * interval`.
    public func convictionDelay(steadyInterval interval: Duration) -> Duration {
        .nanoseconds(Int64(threshold / 0.4342944819032518 * Double(interval.nanosecondsClamped)))
    }
}
