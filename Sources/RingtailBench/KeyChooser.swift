// Which record a request touches: YCSB's request distributions (uniform,
// zipfian, latest), drawn from a `SeededEntropy`, so a seed fixes every key a
// run asks for. The zipfian draw is Gray et al.'s ("Quickly generating
// billion-record synthetic databases", SIGMOD 1994), as YCSB's
// ZipfianGenerator uses it, with YCSB's constant 0.99 and its scrambling (a
// 64-bit FNV-1a hash of the rank) so the popular records are spread over the
// key space instead of all being the lowest ids.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import RingtailCore

/// A YCSB request distribution.
public enum RequestDistribution: String, Sendable, Hashable, CaseIterable, Codable {
    /// Every record equally likely.
    case uniform
    /// Scrambled zipfian: a few records take most requests, spread over the key space.
    case zipfian
    /// Zipfian over recency: the newest records are the most popular (YCSB workload D).
    case latest
}

/// Draws record ids in `0..<count` for one distribution. `count` may grow
/// (inserts); the zipfian constants follow it incrementally, as YCSB's do.
public struct KeyChooser: Sendable {
    public static let zipfianConstant = 0.99
    public let distribution: RequestDistribution
    public private(set) var count: Int
    private var zetaN: Double
    private var zeta2: Double
    private let theta = KeyChooser.zipfianConstant
    private var alpha: Double { 1 / (1 - theta) }
    private var eta: Double { (1 - pow(2 / Double(count), 1 - theta)) / (1 - zeta2 / zetaN) }

    /// - Precondition: `count >= 1`.
    public init(_ distribution: RequestDistribution, count: Int) {
        precondition(count >= 1, "a key chooser needs at least one record")
        self.distribution = distribution
        self.count = count
        zeta2 = Self.zeta(from: 0, to: 2, theta: KeyChooser.zipfianConstant, initial: 0)
        zetaN = distribution == .uniform ? 0 : Self.zeta(from: 0, to: count, theta: KeyChooser.zipfianConstant, initial: 0)
    }

    /// Σ 1/i^θ for i in (from, to], added to `initial`.
    static func zeta(from: Int, to: Int, theta: Double, initial: Double) -> Double {
        var sum = initial
        var i = from
        while i < to {
            i += 1
            sum += 1 / pow(Double(i), theta)
        }
        return sum
    }

    /// Records now number `newCount` (only grows): extends zeta(n) by the new terms.
    public mutating func grow(to newCount: Int) {
        guard newCount > count else { return }
        if distribution != .uniform { zetaN = Self.zeta(from: count, to: newCount, theta: theta, initial: zetaN) }
        count = newCount
    }

    /// The next record id, in `0..<count`.
    public mutating func next(_ entropy: inout SeededEntropy) -> Int {
        switch distribution {
        case .uniform:
            return entropy.next(below: count)
        case .zipfian:
            return Int(Self.fnv1a64(UInt64(zipfianRank(&entropy))) % UInt64(count))
        case .latest:
            return count - 1 - zipfianRank(&entropy)
        }
    }

    /// A rank in `0..<count`, rank 0 the most popular.
    func zipfianRank(_ entropy: inout SeededEntropy) -> Int {
        let u = Double(entropy.next() >> 11) * 0x1.0p-53
        let uz = u * zetaN
        if uz < 1 { return 0 }
        if uz < 1 + pow(0.5, theta) { return min(1, count - 1) }
        let rank = Int(Double(count) * pow(eta * u - eta + 1, alpha))
        return min(max(rank, 0), count - 1)
    }

    /// FNV-1a over the value's 8 little-endian bytes (YCSB's scrambling hash).
    static func fnv1a64(_ value: UInt64) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        var v = value
        for _ in 0..<8 {
            hash ^= v & 0xFF
            hash = hash &* 0x0000_0100_0000_01B3
            v >>= 8
        }
        return hash
    }
}
