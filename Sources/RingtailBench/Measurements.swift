// What one benchmark run measures while it runs: latency histograms
// (hdrhistogram, µs) per operation kind, outcomes and errors, and staleness:
// k-staleness of the workload's reads (how many acknowledged versions a read
// was behind) and t-visibility probes (a write to a fresh key, then one read
// exactly t after its acknowledgement: did it see the write?). Drivers feed
// it; `summary()` turns it into the numbers a report shows.
import Histogram

/// Collects one run's measurements. Not thread-safe: one driver feeds it.
public struct Measurements: Sendable {
    /// Latencies above an hour are recorded as an hour.
    static let latencyMicrosMax: UInt64 = 3_600_000_000
    var latency: [OperationKind: Histogram<UInt64>] = [:]
    var all = Histogram<UInt64>(highestTrackableValue: latencyMicrosMax, numberOfSignificantValueDigits: .three)
    var reads = Histogram<UInt64>(highestTrackableValue: latencyMicrosMax, numberOfSignificantValueDigits: .three)
    var writes = Histogram<UInt64>(highestTrackableValue: latencyMicrosMax, numberOfSignificantValueDigits: .three)
    public private(set) var attempted: [OperationKind: Int] = [:]
    public private(set) var succeeded: [OperationKind: Int] = [:]
    public private(set) var errors: [String: Int] = [:]
    /// Reads by how many acknowledged versions they were behind (0: the latest).
    public private(set) var kStaleness: [Int: Int] = [:]
    /// Probe delay (µs) -> (reads, reads that saw the write).
    public private(set) var probes: [Int64: (reads: Int, fresh: Int)] = [:]

    public init() {}

    public mutating func record(_ kind: OperationKind, micros: Int64, error: String?) {
        attempted[kind, default: 0] += 1
        if let error {
            errors[error, default: 0] += 1
            return
        }
        succeeded[kind, default: 0] += 1
        let value = UInt64(clamping: max(0, micros))
        latency[kind, default: Histogram(highestTrackableValue: Self.latencyMicrosMax, numberOfSignificantValueDigits: .three)]
            .recordClamped(value)
        all.recordClamped(value)
        if kind.isWrite { writes.recordClamped(value) } else { reads.recordClamped(value) }
    }

    public mutating func recordStaleness(versionsBehind: Int) {
        kStaleness[max(0, versionsBehind), default: 0] += 1
    }

    public mutating func recordProbe(delayMicros: Int64, fresh: Bool) {
        var entry = probes[delayMicros] ?? (0, 0)
        entry.reads += 1
        if fresh { entry.fresh += 1 }
        probes[delayMicros] = entry
    }

    /// p99 of everything so far (for live progress), ms.
    public var runningP99Millis: Double { Double(all.valueAtPercentile(99)) / 1000 }
    public var totalAttempted: Int { attempted.values.reduce(0, +) }
    public var totalErrors: Int { errors.values.reduce(0, +) }

    /// The numbers of the run.
    public func summary(seconds: Double) -> RunSummary {
        let ok = succeeded.values.reduce(0, +)
        let tried = totalAttempted
        var byKind: [String: LatencySummary] = [:]
        for (kind, h) in latency { byKind[kind.rawValue] = LatencySummary(h) }
        let staleReads = kStaleness.filter { $0.key > 0 }.reduce(0) { $0 + $1.value }
        let judged = kStaleness.values.reduce(0, +)
        return RunSummary(
            attempted: tried, succeeded: ok,
            availability: tried == 0 ? 1 : Double(ok) / Double(tried),
            throughputPerSecond: seconds > 0 ? Double(ok) / seconds : 0,
            seconds: seconds,
            latency: LatencySummary(all), readLatency: LatencySummary(reads), writeLatency: LatencySummary(writes),
            latencyByKind: byKind,
            readCDF: LatencyCDF(reads), writeCDF: LatencyCDF(writes),
            errors: errors,
            kStaleness: kStaleness.sorted { $0.key < $1.key }.map { KStaleness(versionsBehind: $0.key, reads: $0.value) },
            staleReadShare: judged == 0 ? 0 : Double(staleReads) / Double(judged),
            tVisibility: probes.sorted { $0.key < $1.key }.map {
                TVisibilityPoint(delayMillis: Double($0.key) / 1000, reads: $0.value.reads,
                                 probability: $0.value.reads == 0 ? 1 : Double($0.value.fresh) / Double($0.value.reads))
            })
    }
}

/// Latency percentiles in milliseconds.
public struct LatencySummary: Sendable, Codable, Hashable {
    public var count: Int
    public var p50: Double, p95: Double, p99: Double, p999: Double, max: Double, mean: Double

    init(_ h: Histogram<UInt64>) {
        count = Int(h.totalCount)
        func ms(_ v: UInt64) -> Double { Double(v) / 1000 } // µs, whole: exact to the µs
        if h.totalCount == 0 {
            (p50, p95, p99, p999, max, mean) = (0, 0, 0, 0, 0, 0)
        } else {
            p50 = ms(h.valueAtPercentile(50))
            p95 = ms(h.valueAtPercentile(95))
            p99 = ms(h.valueAtPercentile(99))
            p999 = ms(h.valueAtPercentile(99.9))
            max = ms(h.max)
            mean = h.mean.rounded() / 1000
        }
    }
}

/// A latency distribution as (percentile, ms) points, for CDF charts.
public struct LatencyCDF: Sendable, Codable, Hashable {
    public var percentiles: [Double]
    public var millis: [Double]

    static let points: [Double] = [0, 1, 5, 10, 20, 30, 40, 50, 60, 70, 80, 90, 95, 97, 98, 99, 99.5, 99.9, 99.99, 100]

    init(_ h: Histogram<UInt64>) {
        guard h.totalCount > 0 else {
            percentiles = []
            millis = []
            return
        }
        percentiles = Self.points
        millis = Self.points.map { p in Double(p >= 100 ? h.max : p <= 0 ? h.min : h.valueAtPercentile(p)) / 1000 }
    }
}

public struct KStaleness: Sendable, Codable, Hashable {
    public var versionsBehind: Int
    public var reads: Int
}

/// P(a read t after a write's acknowledgement sees it).
public struct TVisibilityPoint: Sendable, Codable, Hashable {
    public var delayMillis: Double
    public var reads: Int
    public var probability: Double
}

/// One run's results.
public struct RunSummary: Sendable, Codable, Hashable {
    public var attempted: Int
    public var succeeded: Int
    /// Share of requests that succeeded.
    public var availability: Double
    public var throughputPerSecond: Double
    /// Length of the measured phase (virtual seconds in the simulator).
    public var seconds: Double
    public var latency: LatencySummary
    public var readLatency: LatencySummary
    public var writeLatency: LatencySummary
    public var latencyByKind: [String: LatencySummary]
    public var readCDF: LatencyCDF
    public var writeCDF: LatencyCDF
    public var errors: [String: Int]
    public var kStaleness: [KStaleness]
    /// Share of judged reads that missed at least one acknowledged version.
    public var staleReadShare: Double
    public var tVisibility: [TVisibilityPoint]
    /// Seconds from the downed nodes' return until every hint was delivered (nil: no hints, or not measured).
    public var hintDrainSeconds: Double?
    public var hintsStored: Int = 0
}

extension Histogram where Count == UInt64 {
    mutating func recordClamped(_ value: UInt64) {
        _ = record(Swift.min(value, Measurements.latencyMicrosMax))
    }
}
