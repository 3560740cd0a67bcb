// Helpers shared by the ring tests: growing a cluster one node at a time with
// either allocator, and the spread of ownership across nodes.

import RingtailCore
@testable import RingtailCluster

enum Allocation: String, CaseIterable {
    /// Every node's tokens uniformly at random.
    case random
    /// Every node's tokens from the balanced allocator. The first node gets
    /// evenly spaced tokens and the rest follows from the ring, so seeds only
    /// rotate the whole ring.
    case balanced
    /// The first node's tokens at random (a cluster that started without the
    /// allocator), every later node's from the balanced allocator: here the
    /// seed changes the outcome.
    case randomFirstThenBalanced = "random first, then balanced"
}

/// Node i's name and place: racks assigned round robin within one DC.
func nodeName(_ i: Int) -> NodeID { NodeID("n\(i < 10 ? "0" : "")\(i)") }

/// A ring grown from empty by adding `nodeCount` nodes one at a time, as a
/// real cluster grows, each with `tokensPerNode` tokens from `allocation`.
func grownRing(nodeCount: Int, tokensPerNode: Int = 16, racks: Int, allocation: Allocation,
               strategy: ReplicationStrategy, seed: UInt64) -> TokenRing {
    var entropy = SeededEntropy(seed: seed)
    var ring = TokenRing.empty
    for i in 0..<nodeCount {
        let node = nodeName(i)
        let location = NodeLocation(datacenter: "dc1", rack: "r\(i % racks)")
        let tokens: [Int64]
        if allocation == .random || (allocation == .randomFirstThenBalanced && i == 0) {
            tokens = TokenAllocator.random(count: tokensPerNode, existing: Set(ring.tokens), entropy: &entropy)
        } else {
            tokens = TokenAllocator.balanced(for: node, location: location, count: tokensPerNode,
                                             ring: ring, strategy: strategy, entropy: &entropy)
        }
        ring = ring.adding(node, location: location, tokens: tokens)
    }
    return ring
}

/// max / min over nodes of raw and of effective ownership.
func spread(_ ownership: [NodeID: Ownership]) -> (raw: Double, effective: Double) {
    let raw = ownership.values.map(\.raw), effective = ownership.values.map(\.effective)
    return (raw.max()! / raw.min()!, effective.max()! / effective.min()!)
}
