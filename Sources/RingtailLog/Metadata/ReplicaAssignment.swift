// Where a new topic's partition replicas go: spread over the live nodes,
// racks interleaved so one partition's replicas land on distinct racks while
// there are enough, each partition starting at a different node so leaders
// spread too, and the starting node chosen from the topic name so topics do
// not all pile their first leader on one node (Kafka's rack-aware assignment).
import RingtailCore

enum ReplicaAssignment {
    /// Replicas for each partition; the first of each is the preferred leader.
    /// Deterministic in its inputs. Requires `brokers.count ≥ replicationFactor`.
    static func assign(topic: String, partitions: Int, replicationFactor: Int,
                       brokers: [(NodeID, NodeLocation)]) -> [[NodeID]] {
        precondition(brokers.count >= replicationFactor && replicationFactor > 0)
        let ordered = interleavedByRack(brokers)
        let rackOf = Dictionary(uniqueKeysWithValues: brokers.map { ($0.0, $0.1.datacenter + "/" + $0.1.rack) })
        let n = ordered.count
        let start = Int(UInt32(bitPattern: Murmur2.hash(Array(topic.utf8))) % UInt32(n))
        return (0..<partitions).map { p in
            let first = (start + p) % n
            // Followers start a shift away that changes every n partitions, so a
            // leader does not always pair with the same followers.
            let shift = 1 + (p / n) % max(1, n - 1)
            let candidates = (0..<n).map { ordered[(first + shift + $0) % n] }.filter { $0 != ordered[first] }
            var replicas = [ordered[first]]
            var racks: Set<String> = [rackOf[ordered[first]]!]
            // First a new rack for each replica while there are any; then any node.
            for candidate in candidates where replicas.count < replicationFactor && !racks.contains(rackOf[candidate]!) {
                replicas.append(candidate)
                racks.insert(rackOf[candidate]!)
            }
            for candidate in candidates where replicas.count < replicationFactor && !replicas.contains(candidate) {
                replicas.append(candidate)
            }
            return replicas
        }
    }

    /// Brokers ordered rack by rack in turn: r1's first, r2's first, …, r1's second.
    static func interleavedByRack(_ brokers: [(NodeID, NodeLocation)]) -> [NodeID] {
        var byRack: [String: [NodeID]] = [:]
        for (node, location) in brokers { byRack[location.datacenter + "/" + location.rack, default: []].append(node) }
        let racks = byRack.keys.sorted()
        for rack in racks { byRack[rack]!.sort() }
        var out: [NodeID] = []
        var round = 0
        while out.count < brokers.count {
            for rack in racks where round < byRack[rack]!.count { out.append(byRack[rack]![round]) }
            round += 1
        }
        return out
    }
}
