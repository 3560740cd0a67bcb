// A clustering slice as a read request carries it, and back: the one place
// that maps RingtailStorage's bounds to RingtailWire's (the wire layer knows
// no storage types).
import RingtailStorage
import RingtailWire

extension ClusteringRange {
    /// The slice from a read request's bounds.
    public init(wireLower lower: WireBound, upper: WireBound) {
        self.init(lower: ClusteringBound(wire: lower), upper: ClusteringBound(wire: upper))
    }

    /// The slice's bounds for a read request.
    public var wireBounds: (lower: WireBound, upper: WireBound) { (lower.wire, upper.wire) }
}

extension ClusteringBound {
    init(wire: WireBound) {
        switch wire {
        case .unbounded: self = .unbounded
        case .inclusive(let k): self = .inclusive(k)
        case .exclusive(let k): self = .exclusive(k)
        }
    }

    var wire: WireBound {
        switch self {
        case .unbounded: return .unbounded
        case .inclusive(let k): return .inclusive(k)
        case .exclusive(let k): return .exclusive(k)
        }
    }
}
