// Time as a capability. Deterministic modules never read the system clock;
// they are handed a `Clock`, which is the wall clock in real processes
// (RingtailPosix.SystemClock) and a `ManualClock` in tests and the simulator.
import Synchronization

/// A point on a monotonic timeline, in nanoseconds from an arbitrary origin.
public struct Instant: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var nanoseconds: Int64

    public init(nanoseconds: Int64) { self.nanoseconds = nanoseconds }

    public static let zero = Instant(nanoseconds: 0)

    public static func < (a: Instant, b: Instant) -> Bool { a.nanoseconds < b.nanoseconds }

    public static func + (a: Instant, d: Duration) -> Instant {
        Instant(nanoseconds: a.nanoseconds &+ d.nanosecondsClamped)
    }

    public static func - (a: Instant, b: Instant) -> Duration { .nanoseconds(a.nanoseconds &- b.nanoseconds) }

    public var description: String { "@\(nanoseconds)ns" }
}

extension Duration {
    /// Whole nanoseconds, clamped to Int64.
    public var nanosecondsClamped: Int64 {
        // From the attoseconds directly: `components` divides a 128-bit
        // value by 10^18 first, about 4x slower (this runs per message).
        let ns = attoseconds / 1_000_000_000
        return ns > Int128(Int64.max) ? .max : ns < Int128(Int64.min) ? .min : Int64(truncatingIfNeeded: ns)
    }

    public var microsecondsClamped: Int64 { nanosecondsClamped / 1000 }

    public var secondsDouble: Double { Double(nanosecondsClamped) / 1e9 }
}

/// Source of time for a node: monotonic instants for timers and durations,
/// wall-clock microseconds for write timestamps, TTL expiry and gc grace.
public protocol Clock: Sendable {
    /// Monotonic now; never goes backwards.
    func now() -> Instant
    /// Microseconds since the Unix epoch (may jump; used for data timestamps).
    func wallMicros() -> Int64
}

/// A clock that moves only when told to. Thread-safe.
public final class ManualClock: Clock {
    private let state: Mutex<(Instant, Int64)>

    /// - Parameter wallMicros: the wall time at `Instant.zero`.
    public init(wallMicros: Int64 = 1_767_225_600_000_000 /* 2026-01-01T00:00:00Z */) {
        state = Mutex((.zero, wallMicros))
    }

    public func now() -> Instant { state.withLock { $0.0 } }
    public func wallMicros() -> Int64 { state.withLock { $0.1 } }

    /// Moves both timelines forward by `duration`.
    public func advance(by duration: Duration) {
        precondition(duration >= .zero, "time only moves forward")
        state.withLock {
            $0.0 = $0.0 + duration
            $0.1 += duration.microsecondsClamped
        }
    }
}
