// Virtual time for a simulated cluster: one shared timeline that only the
// event loop moves, and per-node clocks on it whose wall time may be skewed
// (to study last-write-wins under clock skew). Monotonic instants are not
// skewed, so timers stay on the shared timeline.
import Synchronization
import RingtailCore

/// The shared virtual timeline. Thread-safe (read by node clocks).
public final class VirtualTimeline: Sendable {
    private let nanoseconds = Atomic<Int64>(0)
    /// Wall time (µs since the epoch) at virtual instant zero.
    public let wallMicrosAtZero: Int64

    public init(wallMicrosAtZero: Int64) { self.wallMicrosAtZero = wallMicrosAtZero }

    public var now: Instant { Instant(nanoseconds: nanoseconds.load(ordering: .relaxed)) }

    /// Unskewed wall time now, µs since the epoch.
    public var wallMicros: Int64 { wallMicrosAtZero + now.nanoseconds / 1000 }

    func move(to instant: Instant) {
        precondition(instant.nanoseconds >= nanoseconds.load(ordering: .relaxed), "virtual time only moves forward")
        nanoseconds.store(instant.nanoseconds, ordering: .relaxed)
    }
}

/// One node's clock on the timeline, its wall time off by `skew`.
public final class SkewedClock: Clock {
    public let timeline: VirtualTimeline
    public let skewMicros: Int64

    public init(timeline: VirtualTimeline, skew: Duration = .zero) {
        self.timeline = timeline
        self.skewMicros = skew.microsecondsClamped
    }

    public func now() -> Instant { timeline.now }
    public func wallMicros() -> Int64 { timeline.wallMicros + skewMicros }
}
