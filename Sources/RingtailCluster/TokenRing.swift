// The token ring: which node owns which tokens (virtual nodes), where each
// node sits, and from that the primary owner, replicas, ranges and ownership
// of any token. An immutable value; TokenAllocator chooses new tokens for it.

import RingtailCore
import RingtailStorage

/// A share of the ring held by one node, as fractions of the whole token space.
///
/// `raw` is the part of the ring whose primary (first) replica is the node;
/// raw shares sum to 1. `effective` is the part of the data the node stores
/// under a replication strategy; effective shares sum to the replicas per
/// range (the total replication factor once every datacenter has enough nodes).
public struct Ownership: Hashable, Sendable {
    public var raw: Double
    public var effective: Double
}

/// Tokens of the nodes in a cluster, sorted, with each node's location.
///
/// Token `t` belongs to the range `(previous token, next token ≥ t]`, so a
/// node owns the ranges ending at its tokens; the range ending at the lowest
/// token wraps past `Int64.max`. `Int64.min` is the partitioner's reserved
/// minimum and is never a node token.
///
/// Invariants: `tokens` is strictly ascending; every token's owner has a
/// location. Lookups are O(log tokens); `placement(for:)` builds a table for
/// hot paths. A value type, safe to share across threads.
public struct TokenRing: Sendable {
    /// Every node token, ascending.
    public let tokens: [Int64]
    /// Nodes owning at least one token, ascending; `owners` indexes this.
    public let nodes: [NodeID]
    /// The owner of `tokens[i]`, as an index into `nodes`.
    let owners: [Int32]
    /// `locations[i]` is where `nodes[i]` sits.
    let locations: [NodeLocation]
    let nodeIndex: [NodeID: Int32]

    public static let empty = TokenRing(tokens: [:], locations: [:])

    /// A ring from each token's owner and each owner's location. Extra
    /// locations (nodes without tokens) are ignored.
    public init(tokens tokenOwners: [Int64: NodeID], locations: [NodeID: NodeLocation]) {
        precondition(tokenOwners[Murmur3.minimumToken] == nil, "Int64.min is reserved, never a node token")
        let nodes = Set(tokenOwners.values).sorted()
        var index: [NodeID: Int32] = [:]
        for (i, node) in nodes.enumerated() { index[node] = Int32(i) }
        self.nodes = nodes
        self.nodeIndex = index
        self.locations = nodes.map { node in
            guard let location = locations[node] else { preconditionFailure("no location for node \(node)") }
            return location
        }
        self.tokens = tokenOwners.keys.sorted()
        self.owners = self.tokens.map { index[tokenOwners[$0]!]! }
    }

    /// This ring with `node` joined at `location` owning `newTokens` as well.
    public func adding(_ node: NodeID, location: NodeLocation, tokens newTokens: [Int64]) -> TokenRing {
        var map = tokenOwners
        var locationMap = Dictionary(uniqueKeysWithValues: zip(nodes, locations))
        locationMap[node] = location
        for t in newTokens {
            precondition(map[t] == nil, "token \(t) already owned by \(map[t]!)")
            map[t] = node
        }
        return TokenRing(tokens: map, locations: locationMap)
    }

    /// Each token's owner.
    public var tokenOwners: [Int64: NodeID] {
        Dictionary(uniqueKeysWithValues: zip(tokens, owners.map { nodes[Int($0)] }))
    }

    public var isEmpty: Bool { tokens.isEmpty }

    public func location(of node: NodeID) -> NodeLocation? {
        nodeIndex[node].map { locations[Int($0)] }
    }

    /// The tokens of `node`, ascending; empty if it is not in the ring.
    public func tokens(of node: NodeID) -> [Int64] {
        guard let i = nodeIndex[node] else { return [] }
        return tokens.indices.filter { owners[$0] == i }.map { tokens[$0] }
    }

    /// Index of the range holding `token`: the first position whose token is
    /// ≥ `token`, wrapping to 0 past the highest. Requires a non-empty ring.
    @inline(__always)
    func rangeIndex(containing token: Int64) -> Int {
        TokenRing.rangeIndex(in: tokens, containing: token)
    }

    @inline(__always)
    static func rangeIndex(in tokens: [Int64], containing token: Int64) -> Int {
        var low = 0, high = tokens.count
        while low < high {
            let mid = (low &+ high) >> 1
            if tokens[mid] < token { low = mid + 1 } else { high = mid }
        }
        return low == tokens.count ? 0 : low
    }

    /// The range `(tokens[i-1], tokens[i]]`, wrapping for i = 0.
    public func range(at i: Int) -> TokenRange {
        TokenRange(lower: tokens[i == 0 ? tokens.count - 1 : i - 1], upper: tokens[i])
    }

    /// The range's share of the ring, in (0, 1]; `lower == upper` is the whole ring.
    static func width(lower: Int64, upper: Int64) -> Double {
        lower == upper ? 1.0 : Double(UInt64(bitPattern: upper &- lower)) * 0x1p-64
    }

    /// The node whose token is the first at or after `token` (clockwise).
    public func primary(for token: Int64) -> NodeID {
        precondition(!tokens.isEmpty, "empty ring")
        return nodes[Int(owners[rangeIndex(containing: token)])]
    }

    /// The replicas of `token` under `strategy`, in the order the strategy
    /// accepts them (so the primary first, unless its datacenter keeps no
    /// replicas). Builds a walker per call: use
    /// `placement(for:)` when looking up many tokens.
    public func replicas(for token: Int64, strategy: ReplicationStrategy) -> [NodeID] {
        guard !tokens.isEmpty else { return [] }
        var walker = ReplicaWalker(strategy: strategy, locations: locations)
        var found: [Int32] = []
        _ = walker.walk(from: rangeIndex(containing: token), positionCount: tokens.count, into: &found) { owners[$0] }
        return found.map { nodes[Int($0)] }
    }

    /// The ranges ending at `node`'s tokens (where it is the primary replica),
    /// in token order. Over all nodes they partition the ring.
    public func primaryRanges(of node: NodeID) -> [TokenRange] {
        guard let n = nodeIndex[node] else { return [] }
        return tokens.indices.filter { owners[$0] == n }.map { range(at: $0) }
    }

    /// Every range's replicas under `strategy`, precomputed for fast lookups.
    /// O(tokens × walk length).
    public func placement(for strategy: ReplicationStrategy) -> ReplicaPlacement {
        ReplicaPlacement(ring: self, strategy: strategy)
    }

    /// Raw and effective ownership of every node in the ring under `strategy`.
    public func ownership(strategy: ReplicationStrategy) -> [NodeID: Ownership] {
        var raw = [Double](repeating: 0, count: nodes.count)
        var effective = raw
        var walker = ReplicaWalker(strategy: strategy, locations: locations)
        var replicas: [Int32] = []
        for i in tokens.indices {
            let r = range(at: i)
            let w = TokenRing.width(lower: r.lower, upper: r.upper)
            raw[Int(owners[i])] += w
            _ = walker.walk(from: i, positionCount: tokens.count, into: &replicas) { owners[$0] }
            for node in replicas { effective[Int(node)] += w }
        }
        var result: [NodeID: Ownership] = [:]
        for (i, node) in nodes.enumerated() { result[node] = Ownership(raw: raw[i], effective: effective[i]) }
        return result
    }
}

extension TokenRing {
    /// This ring with `node` at `location` owning `newTokens` instead of what
    /// it owned before. A token another node owns stays with that node:
    /// `refused` counts them, so input from a peer never breaks the ring's
    /// invariants.
    public func placing(_ node: NodeID, at location: NodeLocation, tokens newTokens: [Int64]) -> (ring: TokenRing, refused: Int) {
        var owners = tokenOwners
        var locations: [NodeID: NodeLocation] = [node: location]
        for n in nodes where n != node { locations[n] = self.location(of: n) }
        for (t, owner) in owners where owner == node { owners[t] = nil }
        var refused = 0
        for t in newTokens where t != Murmur3.minimumToken {
            if let other = owners[t], other != node {
                refused += 1
            } else {
                owners[t] = node
            }
        }
        return (TokenRing(tokens: owners, locations: locations), refused)
    }
}
