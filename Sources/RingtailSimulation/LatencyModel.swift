// Seeded network latency distributions for the simulator: each message's
// delay is drawn from its link's model with the run's `SeededEntropy`, so a
// seed replays every delay. Links are chosen by datacenter pair.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import RingtailCore

/// A distribution of one-way message delays.
public enum LatencyModel: Hashable, Sendable, CustomStringConvertible {
    case constant(Duration)
    /// Uniform in `[lower, upper]`.
    case uniform(lower: Duration, upper: Duration)
    /// Exponential with the given mean (memoryless queueing delay).
    case exponential(mean: Duration)
    /// Log-normal: `median * e^(sigma * Z)`, Z standard normal (typical WAN jitter).
    case logNormal(median: Duration, sigma: Double)
    /// Pareto with minimum `scale` and tail index `shape` (> 1 for a finite
    /// mean, `shape * scale / (shape - 1)`): rare, very slow messages.
    case pareto(scale: Duration, shape: Double)

    /// Draws one delay; never negative.
    public func sample(_ entropy: inout SeededEntropy) -> Duration {
        switch self {
        case .constant(let d):
            return d
        case .uniform(let lower, let upper):
            let lo = lower.nanosecondsClamped, hi = max(lo, upper.nanosecondsClamped)
            return .nanoseconds(lo + Int64(entropy.next(below: Int(hi - lo) + 1)))
        case .exponential(let mean):
            return nanoseconds(-log(Self.unitOpen(&entropy)) * Double(mean.nanosecondsClamped))
        case .logNormal(let median, let sigma):
            return nanoseconds(Double(median.nanosecondsClamped) * exp(sigma * Self.standardNormal(&entropy)))
        case .pareto(let scale, let shape):
            return nanoseconds(Double(scale.nanosecondsClamped) / pow(Self.unitOpen(&entropy), 1 / shape))
        }
    }

    /// The distribution's mean (infinite Pareto means are reported as `.max`).
    public var mean: Duration {
        switch self {
        case .constant(let d): return d
        case .uniform(let lower, let upper): return (lower + upper) / 2
        case .exponential(let mean): return mean
        case .logNormal(let median, let sigma): return nanoseconds(Double(median.nanosecondsClamped) * exp(sigma * sigma / 2))
        case .pareto(let scale, let shape):
            return shape > 1 ? nanoseconds(shape * Double(scale.nanosecondsClamped) / (shape - 1)) : .nanoseconds(Int64.max)
        }
    }

    private func nanoseconds(_ x: Double) -> Duration {
        .nanoseconds(x.isFinite ? Int64(min(max(0, x), 9.0e18)) : Int64.max)
    }

    /// Uniform in (0, 1]: never 0, so logarithms and powers stay finite.
    static func unitOpen(_ entropy: inout SeededEntropy) -> Double {
        (Double(entropy.next() >> 11) + 1) * 0x1.0p-53
    }

    /// Box-Muller (one of the pair; the other is discarded for simplicity).
    static func standardNormal(_ entropy: inout SeededEntropy) -> Double {
        let u1 = unitOpen(&entropy), u2 = unitOpen(&entropy)
        return sqrt(-2 * log(u1)) * cos(2 * Double.pi * u2)
    }

    /// The model as `ringtail simulate` spells it: "constant:1ms",
    /// "uniform:1ms:3ms", "exponential:2ms", "lognormal:200us:0.3",
    /// "pareto:1ms:1.5". `init?(specification:)` reads it back.
    public var description: String {
        let f = SimulationScenario.format(_:)
        switch self {
        case .constant(let d): return "constant:\(f(d))"
        case .uniform(let a, let b): return "uniform:\(f(a)):\(f(b))"
        case .exponential(let mean): return "exponential:\(f(mean))"
        case .logNormal(let median, let sigma): return "lognormal:\(f(median)):\(sigma)"
        case .pareto(let scale, let shape): return "pareto:\(f(scale)):\(shape)"
        }
    }

    /// Parses the form `description` writes; nil if malformed.
    public init?(specification text: String) {
        let p = text.split(separator: ":").map(String.init)
        let parse = SimulationScenario.parseDuration(_:)
        switch (p.first ?? "", p.count) {
        case ("constant", 2):
            guard let d = parse(p[1]) else { return nil }
            self = .constant(d)
        case ("uniform", 3):
            guard let a = parse(p[1]), let b = parse(p[2]), a <= b else { return nil }
            self = .uniform(lower: a, upper: b)
        case ("exponential", 2):
            guard let m = parse(p[1]) else { return nil }
            self = .exponential(mean: m)
        case ("lognormal", 3):
            guard let m = parse(p[1]), let s = Double(p[2]), s >= 0 else { return nil }
            self = .logNormal(median: m, sigma: s)
        case ("pareto", 3):
            guard let m = parse(p[1]), let s = Double(p[2]), s > 0 else { return nil }
            self = .pareto(scale: m, shape: s)
        default:
            return nil
        }
    }
}

/// Latency models per (source datacenter, target datacenter); pairs not
/// listed use `sameDatacenter` or `crossDatacenter`. Asymmetric on purpose:
/// `a -> b` and `b -> a` may differ.
public struct LinkLatencies: Hashable, Sendable {
    public var sameDatacenter: LatencyModel
    public var crossDatacenter: LatencyModel
    public var pairs: [DatacenterPair: LatencyModel]

    public struct DatacenterPair: Hashable, Sendable {
        public var source: String
        public var target: String
        public init(_ source: String, _ target: String) {
            self.source = source
            self.target = target
        }
    }

    public init(sameDatacenter: LatencyModel = .logNormal(median: .microseconds(200), sigma: 0.3),
                crossDatacenter: LatencyModel = .logNormal(median: .milliseconds(40), sigma: 0.2),
                pairs: [DatacenterPair: LatencyModel] = [:]) {
        self.sameDatacenter = sameDatacenter
        self.crossDatacenter = crossDatacenter
        self.pairs = pairs
    }

    public func model(from source: String, to target: String) -> LatencyModel {
        if let m = pairs[DatacenterPair(source, target)] { return m }
        return source == target ? sameDatacenter : crossDatacenter
    }
}
