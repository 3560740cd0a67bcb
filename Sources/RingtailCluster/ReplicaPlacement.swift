// Replicas of every token range of one ring under one strategy, computed once
// so the hot path (coordinators, the simulator) is a binary search and a slice.
import RingtailCore

import RingtailStorage

/// Every range's replica list for one `TokenRing` and `ReplicationStrategy`.
///
/// Built in O(tokens × walk length) by `TokenRing.placement(for:)`; rebuild
/// it when the ring changes. `replicas(for:)` is O(log tokens) and does not
/// allocate. Every range has the same number of replicas,
/// `replicasPerRange` (per datacenter, `min(rf, nodes there)`). Immutable and
/// safe to share across threads.
public struct ReplicaPlacement: Sendable {
    public let strategy: ReplicationStrategy
    public let replicasPerRange: Int
    /// The ring's tokens, ascending; range i is `(tokens[i-1], tokens[i]]`.
    public let tokens: [Int64]
    /// Replicas of range i at `i * replicasPerRange ..< (i + 1) * replicasPerRange`.
    private let replicaTable: [NodeID]

    init(ring: TokenRing, strategy: ReplicationStrategy) {
        var walker = ReplicaWalker(strategy: strategy, locations: ring.locations)
        let perRange = ring.tokens.isEmpty ? 0 : walker.replicasPerRange
        var table: [NodeID] = []
        table.reserveCapacity(ring.tokens.count * perRange)
        var found: [Int32] = []
        for i in ring.tokens.indices {
            _ = walker.walk(from: i, positionCount: ring.tokens.count, into: &found) { ring.owners[$0] }
            precondition(found.count == perRange, "range \(i) got \(found.count) replicas, expected \(perRange)")
            for node in found { table.append(ring.nodes[Int(node)]) }
        }
        self.strategy = strategy
        self.replicasPerRange = perRange
        self.tokens = ring.tokens
        self.replicaTable = table
    }

    public var rangeCount: Int { tokens.count }

    /// The replicas of the range holding `token`, primary first. Empty for an
    /// empty ring.
    @inlinable
    public func replicas(for token: Int64) -> ArraySlice<NodeID> {
        guard !tokens.isEmpty else { return [] }
        return replicas(ofRange: rangeIndex(containing: token))
    }

    /// Index of the range holding `token` (see `range(at:)`).
    @inlinable
    public func rangeIndex(containing token: Int64) -> Int {
        var low = 0, high = tokens.count
        while low < high {
            let mid = (low &+ high) >> 1
            if tokens[mid] < token { low = mid + 1 } else { high = mid }
        }
        return low == tokens.count ? 0 : low
    }

    /// The replicas of range `index`.
    @inlinable
    public func replicas(ofRange index: Int) -> ArraySlice<NodeID> {
        replicaTableSlice(index * replicasPerRange, (index + 1) * replicasPerRange)
    }

    @usableFromInline
    func replicaTableSlice(_ lower: Int, _ upper: Int) -> ArraySlice<NodeID> { replicaTable[lower..<upper] }

    /// Range `index`: `(tokens[index-1], tokens[index]]`, wrapping for 0.
    public func range(at index: Int) -> TokenRange {
        TokenRange(lower: tokens[index == 0 ? tokens.count - 1 : index - 1], upper: tokens[index])
    }

    /// Every range `node` replicates (as primary or not), in token order.
    public func ranges(replicatedBy node: NodeID) -> [TokenRange] {
        tokens.indices.filter { replicas(ofRange: $0).contains(node) }.map { range(at: $0) }
    }
}
