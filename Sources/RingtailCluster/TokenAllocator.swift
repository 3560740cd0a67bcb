// Choosing a joining node's tokens (virtual nodes): uniformly at random, or
// balanced for a replication strategy in the spirit of Cassandra's
// `allocate_tokens_for_local_replication_factor`. See docs/internals/ring.md.

import RingtailCore

/// Token choice for a node joining a ring. Pure: randomness only from the
/// `SeededEntropy` passed in, so the same seed gives the same tokens.
public enum TokenAllocator {
    /// Tokens per node unless configured (Cassandra 4's `num_tokens`).
    public static let defaultTokenCount = 16

    /// `count` distinct tokens drawn uniformly, none in `existing` and none
    /// equal to the reserved `Int64.min`. Ascending.
    public static func random(count: Int, existing: Set<Int64>, entropy: inout SeededEntropy) -> [Int64] {
        precondition(count >= 0 && count <= 1 << 20, "token count out of range: \(count)")
        var chosen: [Int64] = []
        var taken = existing
        while chosen.count < count {  // a collision in 2^64 is rare; each draw succeeds almost surely
            let token = Int64(bitPattern: entropy.next())
            if token == Murmur3.minimumToken || !taken.insert(token).inserted { continue }
            chosen.append(token)
        }
        return chosen.sorted()
    }

    /// `count` tokens for `node` joining `ring` at `location`, chosen so the
    /// effective ownership under `strategy` stays even. Ascending.
    ///
    /// The objective is the sum of squared effective ownerships of all nodes
    /// (the new one included) plus a small weight times the sum of squared
    /// raw ownerships (which decides while every node replicates everything,
    /// e.g. fewer nodes than the replication factor). Greedy, one token at a
    /// time: every range of the ring is a candidate; the objective is a convex
    /// quadratic in where the range is split, so each range's best split is
    /// found in closed form, and the best range wins. Each candidate is scored
    /// exactly by re-walking only the ranges whose replica walk passes the new
    /// token. Then up to `refinementPasses` passes move each new token to its
    /// best place given the others, keeping a move only if the objective drops.
    ///
    /// An empty ring gets `count` evenly spaced tokens at an offset drawn from
    /// `entropy`; otherwise `entropy` is not used (the choice is a function of
    /// the ring). Cost: about (1 + passes) × count × tokens × (ranges a walk
    /// crosses) walks; 16 tokens into a 12-node ring take well under a second in a debug build.
    public static func balanced(for node: NodeID, location: NodeLocation, count: Int, ring: TokenRing,
                                strategy: ReplicationStrategy, entropy: inout SeededEntropy) -> [Int64] {
        precondition(count >= 1 && count <= 1 << 12, "token count out of range: \(count)")
        precondition(ring.location(of: node) == nil, "\(node) already has tokens")
        if ring.isEmpty { return evenlySpaced(count: count, entropy: &entropy) }
        var state = BalancedAllocation(ring: ring, joining: location, strategy: strategy)
        var chosen: [Int64] = []
        for _ in 0..<count {
            state.recompute()
            guard let token = state.bestToken() else { break }  // only when no range can be split
            state.insert(token)
            chosen.append(token)
        }
        precondition(chosen.count == count, "ring too crowded to place \(count) tokens")
        // Greedy placement is short-sighted: move each token, in turn, to the
        // best place given all the others, while that lowers the objective.
        for _ in 0..<(state.tokens.count > 2 * BalancedAllocation.candidateLimit ? 3 : BalancedAllocation.refinementPasses) {
            var moved = false
            for k in chosen.indices {
                state.recompute()
                let before = state.objective
                state.remove(chosen[k])
                state.recompute()
                guard let token = state.bestToken() else { state.insert(chosen[k]); continue }
                state.insert(token)
                state.recompute()
                if state.objective < before - 1e-15 && token != chosen[k] {
                    chosen[k] = token
                    moved = true
                } else {
                    state.remove(token)
                    state.insert(chosen[k])
                }
            }
            if !moved { break }
        }
        return chosen.sorted()
    }

    /// `count` tokens `2^64 / count` apart, starting at a random offset.
    static func evenlySpaced(count: Int, entropy: inout SeededEntropy) -> [Int64] {
        let step = UInt64.max / UInt64(count)
        let offset = entropy.next() % step
        return (0..<UInt64(count)).map { k in
            let token = Murmur3.minimumToken &+ Int64(bitPattern: offset &+ k &* step)
            return token == Murmur3.minimumToken ? token + 1 : token
        }.sorted()
    }
}

/// The working state of one `TokenAllocator.balanced` call: the ring as
/// dense arrays, with the joining node already counted in the topology (so
/// the baseline and every candidate are walked under the same rules).
struct BalancedAllocation {
    /// Weight of raw ownership in the score, relative to effective ownership.
    static let rawWeight = 0.1
    /// Passes of moving each chosen token to its best place (each pass costs
    /// about as much as the greedy placement).
    static let refinementPasses = 3
    /// The split of a range is kept within these fractions of its width, so
    /// no token lands on top of another.
    static let splitBounds = (lower: 1.0 / 64, upper: 63.0 / 64)
    /// Rings with more ranges than this score only this many candidate
    /// ranges per token: the most promising by a cheap estimate (see
    /// `candidates()`). Scoring one range exactly costs a replica walk per
    /// range that can reach it, so scoring all of a 1,600-range ring for
    /// every token made a 100-node start take most of a minute.
    static let candidateLimit = 192

    var tokens: [Int64]
    var owners: [Int32]
    let joining: Int32
    /// Per node: in the joining node's datacenter (only those replicas can
    /// lose ownership to it).
    let sameDatacenter: [Bool]
    var walker: ReplicaWalker
    // Recomputed after every accepted token:
    var replicas: [[Int32]] = []
    var widths: [Double] = []
    var effective: [Double]
    var raw: [Double]
    /// Σ effective² + rawWeight × Σ raw²: what the allocator minimises.
    var objective = 0.0
    /// covering[p]: ranges whose replica walk examines position p.
    var covering: [[Int32]] = []
    // Scratch for scoring one insertion point.
    var delta: [Double]
    var touchedMark: [Bool]
    var touched: [Int32] = []
    var walkScratch: [Int32] = []

    init(ring: TokenRing, joining location: NodeLocation, strategy: ReplicationStrategy) {
        tokens = ring.tokens
        owners = ring.owners
        joining = Int32(ring.nodes.count)
        // Under NetworkTopologyStrategy a new token changes replica sets only
        // in the joining node's datacenter (elsewhere both halves of a split
        // range keep the same replicas), so the other datacenters' terms of
        // the objective are constant: walk for the local datacenter alone,
        // which is far shorter than finding replicas in every datacenter.
        let walked: ReplicationStrategy = switch strategy {
        case .simple: strategy
        case .networkTopology(let factors): .networkTopology([location.datacenter: factors[location.datacenter] ?? 0])
        }
        walker = ReplicaWalker(strategy: walked, locations: ring.locations + [location])
        sameDatacenter = (ring.locations + [location]).map { $0.datacenter == location.datacenter }
        let n = ring.nodes.count + 1
        effective = [Double](repeating: 0, count: n)
        raw = effective
        delta = effective
        touchedMark = [Bool](repeating: false, count: n)
    }

    mutating func recompute() {
        let count = tokens.count
        // Reuse the inner arrays (their capacity) from the last pass: this
        // runs several times per token placed.
        Self.resize(&replicas, to: count)
        Self.resize(&covering, to: count)
        widths = [Double](repeating: 0, count: count)
        for i in effective.indices { effective[i] = 0; raw[i] = 0 }
        var found: [Int32] = []
        for i in 0..<count {
            let steps = walker.walk(from: i, positionCount: count, into: &found) { owners[$0] }
            let w = TokenRing.width(lower: tokens[i == 0 ? count - 1 : i - 1], upper: tokens[i])
            widths[i] = w
            replicas[i].append(contentsOf: found)
            raw[Int(owners[i])] += w
            for r in found { effective[Int(r)] += w }
            var p = i
            for _ in 0..<steps {
                covering[p].append(Int32(i))
                p = p + 1 == count ? 0 : p + 1
            }
        }
        objective = zip(effective, raw).reduce(0) { $0 + $1.0 * $1.0 + BalancedAllocation.rawWeight * $1.1 * $1.1 }
    }

    private static func resize(_ lists: inout [[Int32]], to count: Int) {
        if lists.count > count { lists.removeLast(lists.count - count) }
        for i in lists.indices { lists[i].removeAll(keepingCapacity: true) }
        while lists.count < count { lists.append([]) }
    }

    /// The best new token, or nil if no range is wide enough to split.
    ///
    /// For a range of width W split at w (the joining node takes the lower
    /// part), the objective is a convex quadratic in w, so each range's best
    /// split is found in closed form and clamped to `splitBounds`.
    mutating func bestToken() -> Int64? {
        var best: (score: Double, token: Int64)? = nil
        var scratchA: [Int32] = [], scratchB: [Int32] = []
        for p in candidates() {
            let lower = tokens[p == 0 ? tokens.count - 1 : p - 1], upper = tokens[p]
            let widthBits = UInt64(bitPattern: upper &- lower)  // 0 means the whole ring
            let spanDouble = widthBits == 0 ? 0x1p64 : Double(widthBits)
            prepareDelta(insertingAt: p, repsA: &scratchA, repsB: &scratchB)
            let f = bestSplit(of: p, repsA: scratchA, repsB: scratchB)
            let offset = UInt64(f * spanDouble)
            if offset > 0, widthBits == 0 || offset < widthBits {
                let token = lower &+ Int64(bitPattern: offset)
                if token != Murmur3.minimumToken {
                    let score = self.score(splitting: p, at: f * widths[p], repsA: scratchA, repsB: scratchB)
                    if best == nil || score < best!.score { best = (score, token) }
                }
            }
            clearDelta()
        }
        return best?.token
    }

    /// The ranges worth scoring exactly: all of them in a small ring; in a
    /// large one the `candidateLimit` with the most to give, estimated as
    /// the range's width times the effective ownership of its replicas in
    /// the joining node's datacenter (the nodes a split there relieves).
    /// Ascending, so ties between equal scores resolve as in a full scan.
    func candidates() -> [Int] {
        let limit = BalancedAllocation.candidateLimit
        guard tokens.count > 2 * limit else { return Array(tokens.indices) }
        var estimates: [(value: Double, range: Int)] = []
        estimates.reserveCapacity(tokens.count)
        for p in tokens.indices {
            var load = 0.0
            for r in replicas[p] where r != joining && sameDatacenter[Int(r)] { load += effective[Int(r)] }
            estimates.append((widths[p] * load, p))
        }
        estimates.sort { $0.value != $1.value ? $0.value > $1.value : $0.range < $1.range }
        return estimates.prefix(limit).map(\.range).sorted()
    }

    /// The fraction of range p's width the joining node should take: the
    /// minimum of `score(splitting:at:)`, a quadratic a·w² + b·w + c.
    private func bestSplit(of p: Int, repsA: [Int32], repsB: [Int32]) -> Double {
        let width = widths[p]
        var a = 0.0, b = 0.0
        for t in touched {
            // Node t ends at c + s·w, with s = [in A] − [in B].
            let inA = repsA.contains(t), inB = repsB.contains(t)
            let s = (inA ? 1.0 : 0) - (inB ? 1.0 : 0)
            guard s != 0 else { continue }
            let c = effective[Int(t)] + delta[Int(t)] + (inB ? width : 0)
            a += s * s
            b += 2 * s * c
        }
        let loser = Int(owners[p]), gainer = Int(joining)
        if loser != gainer {
            a += 2 * BalancedAllocation.rawWeight
            b += 2 * BalancedAllocation.rawWeight * (raw[gainer] - raw[loser])
        }
        let bounds = BalancedAllocation.splitBounds
        guard a > 0 else { return 0.5 }
        return min(max(-b / (2 * a) / width, bounds.lower), bounds.upper)
    }

    /// Fills `delta` with the effective-ownership change of inserting the
    /// joining node's token in range p, except the split range's new halves,
    /// whose replicas go to `repsA` (lower half) and `repsB` (upper half).
    private mutating func prepareDelta(insertingAt p: Int, repsA: inout [Int32], repsB: inout [Int32]) {
        let count = tokens.count + 1
        let owners = self.owners, joining = self.joining
        let virtualOwner: (Int) -> Int32 = { v in v < p ? owners[v] : (v == p ? joining : owners[v - 1]) }
        // The walk buffer is kept between calls (this runs once per candidate range).
        var found: [Int32] = []
        swap(&found, &walkScratch)
        defer { swap(&found, &walkScratch) }
        for i32 in covering[p] where Int(i32) != p {
            let i = Int(i32)
            _ = walker.walk(from: i < p ? i : i + 1, positionCount: count, into: &found, ownerAt: virtualOwner)
            for r in replicas[i] { addDelta(r, -widths[i]) }
            for r in found { addDelta(r, widths[i]) }
        }
        for r in replicas[p] { addDelta(r, -widths[p]) }
        _ = walker.walk(from: p, positionCount: count, into: &repsA, ownerAt: virtualOwner)
        _ = walker.walk(from: p + 1, positionCount: count, into: &repsB, ownerAt: virtualOwner)
        for r in repsA { addDelta(r, 0) }
        for r in repsB { addDelta(r, 0) }
        addDelta(joining, 0)
        addDelta(owners[p], 0)
    }

    /// Score change when the lower part of range p, `lowerWidth` wide, goes
    /// to the joining node.
    private func score(splitting p: Int, at lowerWidth: Double, repsA: [Int32], repsB: [Int32]) -> Double {
        let upperWidth = widths[p] - lowerWidth
        var effectiveChange = 0.0
        for t in touched {
            var d = delta[Int(t)]
            if repsA.contains(t) { d += lowerWidth }
            if repsB.contains(t) { d += upperWidth }
            let e = effective[Int(t)]
            effectiveChange += (e + d) * (e + d) - e * e
        }
        var rawChange = 0.0
        let loser = Int(owners[p]), gainer = Int(joining)
        if loser != gainer {
            let g = raw[gainer], l = raw[loser]
            rawChange = (g + lowerWidth) * (g + lowerWidth) - g * g + (l - lowerWidth) * (l - lowerWidth) - l * l
        }
        return effectiveChange + BalancedAllocation.rawWeight * rawChange
    }

    private mutating func addDelta(_ node: Int32, _ amount: Double) {
        if !touchedMark[Int(node)] { touchedMark[Int(node)] = true; touched.append(node) }
        delta[Int(node)] += amount
    }

    private mutating func clearDelta() {
        for t in touched { delta[Int(t)] = 0; touchedMark[Int(t)] = false }
        touched.removeAll(keepingCapacity: true)
    }

    mutating func remove(_ token: Int64) {
        guard let i = tokens.firstIndex(of: token) else { preconditionFailure("token \(token) not in ring") }
        tokens.remove(at: i)
        owners.remove(at: i)
    }

    mutating func insert(_ token: Int64) {
        let at = TokenRing.rangeIndex(in: tokens, containing: token)
        let position = (at == 0 && token > tokens[tokens.count - 1]) ? tokens.count : at
        tokens.insert(token, at: position)
        owners.insert(joining, at: position)
    }
}
