// Per-operation latency in nanoseconds, on an HdrHistogram laid out exactly
// like peer_bench.c's histogram, and read out the way peer_bench.c does.
import Histogram

/// An HdrHistogram with 2 significant digits has 256 sub-buckets: values
/// below 256 are exact and larger values keep their top 8 significant bits
/// (128 buckets per octave), the same buckets as peer_bench.c's `hist_t`.
/// Percentiles use the C harness's rule too: the smallest bucket whose
/// cumulative count reaches ceil(q * count), reported at the bucket's
/// midpoint clamped to the observed min and max.
struct LatencyHistogram {
    /// Values above this (about 73 minutes) are recorded as this.
    static let highestTrackable: UInt64 = 1 << 42

    private(set) var histogram = Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: highestTrackable,
                                                   numberOfSignificantValueDigits: .two)
    private(set) var count: UInt64 = 0
    private(set) var min: UInt64 = .max
    private(set) var max: UInt64 = 0

    @inline(__always)
    mutating func record(_ nanoseconds: UInt64) {
        let v = Swift.min(nanoseconds, Self.highestTrackable)
        histogram.record(v)
        count += 1
        if v < min { min = v }
        if v > max { max = v }
    }

    mutating func merge(_ other: LatencyHistogram) {
        histogram.add(other.histogram)
        count += other.count
        min = Swift.min(min, other.min)
        max = Swift.max(max, other.max)
    }

    /// The q-quantile (0 < q <= 1) in nanoseconds.
    func quantile(_ q: Double) -> Double {
        guard count > 0 else { return 0 }
        var rank = UInt64((q * Double(count)).rounded(.up))
        if rank < 1 { rank = 1 }
        if rank > count { rank = count }
        for bucket in histogram.recordedValues() where bucket.totalCountToThisValue >= rank {
            let lo = Double(histogram.lowestEquivalentForValue(bucket.value))
            let hi = Double(histogram.highestEquivalentForValue(bucket.value))
            return Swift.min(Swift.max((lo + hi) / 2, Double(min)), Double(max))
        }
        return Double(max)
    }

    /// Checks the bucket layout against peer_bench.c's formula; returns the
    /// number of buckets up to 2^40 and the worst relative midpoint error.
    static func selfCheck() -> (buckets: Int, worst: Double)? {
        let h = Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: highestTrackable, numberOfSignificantValueDigits: .two)
        func cRange(_ v: UInt64) -> (UInt64, UInt64) {
            if v < 256 { return (v, v) }
            let msb = 63 - v.leadingZeroBitCount
            let shift = msb - 7
            let lo = (v >> UInt64(shift)) << UInt64(shift)
            return (lo, lo + (1 << UInt64(shift)) - 1)
        }
        var worst = 0.0
        var v: UInt64 = 1
        while v < 1 << 40 {
            let (lo, hi) = cRange(v)
            guard h.lowestEquivalentForValue(v) == lo, h.highestEquivalentForValue(v) == hi else { return nil }
            let err = abs((Double(lo) + Double(hi)) / 2 - Double(v)) / Double(v)
            if err > worst { worst = err }
            v = v + 1 + v / 97
        }
        return (256 + (64 - 7 - 1) * 128, worst)
    }
}
