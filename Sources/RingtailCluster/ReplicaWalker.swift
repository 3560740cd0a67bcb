// The one place that decides which nodes replicate a token range: a walk
// clockwise over the ring's tokens from the range's upper token, accepting
// nodes as the replication strategy says. TokenRing, ReplicaPlacement and the
// balanced TokenAllocator all place replicas through it, so they agree.
import RingtailCore

/// Walks a ring of tokens (given as the owner of each position) and returns
/// the replicas of the range that ends at the starting position.
///
/// Nodes are dense indices `0..<nodeCount`; `locations[i]` is node i's place.
/// Rules, per `ReplicationStrategy`:
/// - `simple(rf)`: the first `min(rf, nodeCount)` distinct nodes.
/// - `networkTopology`: per datacenter with factor `rf` and `n` nodes,
///   `min(rf, n)` replicas. A node from a rack not yet used in its datacenter
///   is accepted; a node from a used rack is remembered (in walk order) and
///   accepted only once every rack of the datacenter holds a replica, and
///   after that nodes are accepted in walk order. This is Cassandra's
///   `NetworkTopologyStrategy.calculateNaturalReplicas` (3.x formulation;
///   4.x takes the same set of nodes).
///
/// Not thread-safe (scratch buffers are reused): one walker per caller.
/// Cost: O(steps) per walk, where steps ≤ the number of ring positions.
struct ReplicaWalker {
    private let isSimple: Bool
    /// Per node: index of its datacenter among those with a factor > 0, or -1.
    private let nodeSlot: [Int32]
    /// Per node: a rack id unique across datacenters.
    private let nodeRack: [Int32]
    /// Per datacenter slot: replicas wanted (`min(rf, nodes)`) and racks present.
    private let slotTarget: [Int]
    private let slotRackCount: [Int]
    private let activeSlotCount: Int
    /// Replicas every complete walk returns: the sum of `slotTarget`.
    let replicasPerRange: Int

    // Scratch state of one walk; `stamp` marks nodes and racks used in it.
    private var stamp: UInt32 = 0
    private var nodeStamp: [UInt32]
    private var rackStamp: [UInt32]
    private var slotCount: [Int]
    private var slotRacksSeen: [Int]
    private var skipped: [(slot: Int32, node: Int32)] = []

    init(strategy: ReplicationStrategy, locations: [NodeLocation]) {
        let n = locations.count
        var racks: [NodeLocation: Int32] = [:]
        var rack = [Int32](repeating: 0, count: n)
        for (i, loc) in locations.enumerated() {
            if let id = racks[loc] { rack[i] = id } else {
                rack[i] = Int32(racks.count)
                racks[loc] = rack[i]
            }
        }
        var slot = [Int32](repeating: -1, count: n)
        var target: [Int] = [], rackCount: [Int] = []
        switch strategy {
        case .simple(let rf):
            precondition(rf >= 0, "replication factor must be >= 0")
            isSimple = true
            if rf > 0 && n > 0 {
                slot = [Int32](repeating: 0, count: n)
                target = [min(rf, n)]
                rackCount = [1]  // unused: simple ignores racks
            }
        case .networkTopology(let factors):
            isSimple = false
            // Slots in datacenter-name order so walks never depend on hashing.
            for (dc, rf) in factors.sorted(by: { $0.key < $1.key }) {
                precondition(rf >= 0, "replication factor for \(dc) must be >= 0")
                let members = locations.indices.filter { locations[$0].datacenter == dc }
                guard rf > 0, !members.isEmpty else { continue }
                for i in members { slot[i] = Int32(target.count) }
                target.append(min(rf, members.count))
                rackCount.append(Set(members.map { rack[$0] }).count)
            }
        }
        nodeSlot = slot
        nodeRack = rack
        slotTarget = target
        slotRackCount = rackCount
        activeSlotCount = target.count
        replicasPerRange = target.reduce(0, +)
        nodeStamp = [UInt32](repeating: 0, count: n)
        rackStamp = [UInt32](repeating: 0, count: racks.count)
        slotCount = [Int](repeating: 0, count: target.count)
        slotRacksSeen = [Int](repeating: 0, count: target.count)
    }

    /// Fills `replicas` with the replicas of the range ending at position
    /// `start` of a ring with `positionCount` positions, in the order they
    /// are accepted, and returns how many positions the walk examined
    /// (`start`, `start + 1`, … wrapping). `ownerAt(i)` is the node at i.
    @inline(__always)
    mutating func walk(from start: Int, positionCount: Int, into replicas: inout [Int32],
                       ownerAt: (Int) -> Int32) -> Int {
        replicas.removeAll(keepingCapacity: true)
        guard activeSlotCount > 0, positionCount > 0 else { return 0 }
        precondition(start >= 0 && start < positionCount)
        beginWalk()
        var done = 0, steps = 0, position = start
        while steps < positionCount && done < activeSlotCount {  // bounded by the ring
            let node = ownerAt(position)
            steps += 1
            position = position + 1 == positionCount ? 0 : position + 1
            let slot = Int(nodeSlot[Int(node)])
            if slot < 0 || slotCount[slot] >= slotTarget[slot] { continue }
            if isSimple || slotRacksSeen[slot] == slotRackCount[slot] {
                if nodeStamp[Int(node)] != stamp { accept(node, slot: slot, into: &replicas, done: &done) }
                continue
            }
            let rack = Int(nodeRack[Int(node)])
            if rackStamp[rack] == stamp {
                skipped.append((Int32(slot), node))
                continue
            }
            rackStamp[rack] = stamp
            slotRacksSeen[slot] += 1
            accept(node, slot: slot, into: &replicas, done: &done)
            if slotRacksSeen[slot] == slotRackCount[slot] {
                // Every rack now holds a replica: take the remembered nodes in order.
                for s in skipped where Int(s.slot) == slot && slotCount[slot] < slotTarget[slot] {
                    if nodeStamp[Int(s.node)] != stamp { accept(s.node, slot: slot, into: &replicas, done: &done) }
                }
            }
        }
        return steps
    }

    private mutating func beginWalk() {
        stamp &+= 1
        if stamp == 0 {  // wrapped after 2^32 walks: clear the marks once
            for i in nodeStamp.indices { nodeStamp[i] = 0 }
            for i in rackStamp.indices { rackStamp[i] = 0 }
            stamp = 1
        }
        for i in slotCount.indices { slotCount[i] = 0; slotRacksSeen[i] = 0 }
        skipped.removeAll(keepingCapacity: true)
    }

    @inline(__always)
    private mutating func accept(_ node: Int32, slot: Int, into replicas: inout [Int32], done: inout Int) {
        nodeStamp[Int(node)] = stamp
        replicas.append(node)
        slotCount[slot] += 1
        if slotCount[slot] == slotTarget[slot] { done += 1 }
    }
}
