// Ranges of clustering keys: read slices ("readings between 10:00 and 11:00")
// and the extent of range tombstones. Keys compare as unsigned bytes.

/// One end of a clustering range.
public enum ClusteringBound: Hashable, Sendable {
    case unbounded
    case inclusive([UInt8])
    case exclusive([UInt8])

    var key: [UInt8]? {
        switch self {
        case .unbounded: return nil
        case .inclusive(let k), .exclusive(let k): return k
        }
    }
}

/// A range of clustering keys between two bounds.
public struct ClusteringRange: Hashable, Sendable, CustomStringConvertible {
    public var lower: ClusteringBound
    public var upper: ClusteringBound

    public init(lower: ClusteringBound = .unbounded, upper: ClusteringBound = .unbounded) {
        self.lower = lower
        self.upper = upper
    }

    public static let all = ClusteringRange()

    /// Keys from `lower` inclusive to `upper` exclusive.
    public static func halfOpen(_ lower: [UInt8], _ upper: [UInt8]) -> ClusteringRange {
        ClusteringRange(lower: .inclusive(lower), upper: .exclusive(upper))
    }

    public static func single(_ key: [UInt8]) -> ClusteringRange {
        ClusteringRange(lower: .inclusive(key), upper: .inclusive(key))
    }

    @inlinable
    public func contains(_ key: [UInt8]) -> Bool { !isBelow(key) && !isAbove(key) }

    /// True if `key` sorts before the lower bound.
    public func isBelow(_ key: [UInt8]) -> Bool {
        switch lower {
        case .unbounded: return false
        case .inclusive(let l): return compareBytes(key, l) < 0
        case .exclusive(let l): return compareBytes(key, l) <= 0
        }
    }

    /// True if `key` sorts after the upper bound.
    public func isAbove(_ key: [UInt8]) -> Bool {
        switch upper {
        case .unbounded: return false
        case .inclusive(let u): return compareBytes(key, u) > 0
        case .exclusive(let u): return compareBytes(key, u) >= 0
        }
    }

    /// False only if no key can lie in both ranges' hulls; `minKey...maxKey`
    /// is a closed interval (SSTable statistics).
    public func intersects(minKey: [UInt8], maxKey: [UInt8]) -> Bool {
        !isAbove(minKey) && !isBelow(maxKey)
    }

    /// True if the two ranges may share a key.
    public func overlaps(_ other: ClusteringRange) -> Bool {
        // Each lower bound must not be above the other's upper bound.
        func lowerBeyondUpper(_ l: ClusteringBound, _ u: ClusteringBound) -> Bool {
            guard let lk = l.key, let uk = u.key else { return false }
            let c = compareBytes(lk, uk)
            if c > 0 { return true }
            if c == 0, case .inclusive = l, case .inclusive = u { return false }
            return c == 0
        }
        return !lowerBeyondUpper(lower, other.upper) && !lowerBeyondUpper(other.lower, upper)
    }

    public var description: String {
        func hex(_ k: [UInt8]) -> String { k.map { String($0, radix: 16) }.joined(separator: ".") }
        let l: String
        switch lower {
        case .unbounded: l = "(-inf"
        case .inclusive(let k): l = "[" + hex(k)
        case .exclusive(let k): l = "(" + hex(k)
        }
        let u: String
        switch upper {
        case .unbounded: u = "+inf)"
        case .inclusive(let k): u = hex(k) + "]"
        case .exclusive(let k): u = hex(k) + ")"
        }
        return l + ", " + u
    }
}

/// A tombstone over a range of clustering keys in one partition.
public struct RangeTombstone: Hashable, Sendable {
    public var range: ClusteringRange
    public var deletion: DeletionTime

    public init(range: ClusteringRange, deletion: DeletionTime) {
        self.range = range
        self.deletion = deletion
    }
}
