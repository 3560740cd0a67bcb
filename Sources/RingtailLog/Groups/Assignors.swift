// How a group's partitions are dealt to its members, computed by the group
// coordinator (server-side, as Kafka's KIP-848 does it): range (contiguous
// runs per topic, Kafka's default), round-robin (every partition in turn),
// and cooperative-sticky (balanced, keeping what each member owns, so a
// rebalance moves as few partitions as it can).

/// A topic partition, as groups name them.
public struct TopicPartitionID: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var topic: String
    public var partition: Int
    public init(topic: String, partition: Int) {
        self.topic = topic
        self.partition = partition
    }
    public static func < (a: Self, b: Self) -> Bool { (a.topic, a.partition) < (b.topic, b.partition) }
    public var description: String { "\(topic)-\(partition)" }
}

public enum Assignor: String, Sendable, CaseIterable {
    case range
    case roundRobin = "roundrobin"
    case cooperativeSticky = "cooperative-sticky"

    /// Deals the partitions of `topics` (topic → partition count) among the
    /// members (member → subscribed topics). `owned` is what each member held
    /// (used by cooperative-sticky). Deterministic; every partition of a
    /// subscribed topic goes to exactly one member subscribed to it.
    public func assign(members: [String: Set<String>], partitions topics: [String: Int],
                       owned: [String: Set<TopicPartitionID>] = [:]) -> [String: Set<TopicPartitionID>] {
        var result: [String: Set<TopicPartitionID>] = [:]
        for member in members.keys { result[member] = [] }
        let memberIDs = members.keys.sorted()
        switch self {
        case .range:
            for topic in topics.keys.sorted() {
                let subscribers = memberIDs.filter { members[$0]!.contains(topic) }
                guard !subscribers.isEmpty, let count = topics[topic] else { continue }
                let per = count / subscribers.count, extra = count % subscribers.count
                var next = 0
                for (i, member) in subscribers.enumerated() {
                    let take = per + (i < extra ? 1 : 0)
                    for p in next..<(next + take) { result[member]!.insert(TopicPartitionID(topic: topic, partition: p)) }
                    next += take
                }
            }
        case .roundRobin:
            var turn = 0
            for tp in allPartitions(topics) {
                let subscribers = memberIDs.filter { members[$0]!.contains(tp.topic) }
                guard !subscribers.isEmpty else { continue }
                // The next member in turn that subscribes to this topic.
                var chosen = memberIDs[turn % memberIDs.count]
                while !members[chosen]!.contains(tp.topic) {
                    turn += 1
                    chosen = memberIDs[turn % memberIDs.count]
                }
                result[chosen]!.insert(tp)
                turn += 1
            }
        case .cooperativeSticky:
            result = sticky(memberIDs: memberIDs, members: members, topics: topics, owned: owned)
        }
        return result
    }

    func allPartitions(_ topics: [String: Int]) -> [TopicPartitionID] {
        topics.keys.sorted().flatMap { t in (0..<topics[t]!).map { TopicPartitionID(topic: t, partition: $0) } }
    }

    /// Balanced within one partition per member (for members sharing their
    /// subscriptions), keeping owned partitions where the balance allows.
    private func sticky(memberIDs: [String], members: [String: Set<String>], topics: [String: Int],
                        owned: [String: Set<TopicPartitionID>]) -> [String: Set<TopicPartitionID>] {
        var result: [String: Set<TopicPartitionID>] = [:]
        for m in memberIDs { result[m] = [] }
        let all = allPartitions(topics).filter { tp in memberIDs.contains { members[$0]!.contains(tp.topic) } }
        guard !memberIDs.isEmpty, !all.isEmpty else { return result }
        let quota = (all.count + memberIDs.count - 1) / memberIDs.count   // ceiling
        var taken = Set<TopicPartitionID>()
        // Keep what members own, up to their quota, if still valid and not claimed twice.
        for m in memberIDs {
            for tp in (owned[m] ?? []).sorted() where result[m]!.count < quota && !taken.contains(tp)
                && members[m]!.contains(tp.topic) && tp.partition < (topics[tp.topic] ?? 0) {
                result[m]!.insert(tp)
                taken.insert(tp)
            }
        }
        // The rest to the least loaded subscriber (ties: member id).
        for tp in all where !taken.contains(tp) {
            let candidates = memberIDs.filter { members[$0]!.contains(tp.topic) }
            guard let m = candidates.min(by: { (result[$0]!.count, $0) < (result[$1]!.count, $1) }) else { continue }
            result[m]!.insert(tp)
            taken.insert(tp)
        }
        // Even out: move from the most to the least loaded while they differ by 2+.
        for _ in 0..<all.count {
            guard let most = memberIDs.max(by: { (result[$0]!.count, $1) < (result[$1]!.count, $0) }),
                  let least = memberIDs.min(by: { (result[$0]!.count, $0) < (result[$1]!.count, $1) }),
                  result[most]!.count - result[least]!.count >= 2,
                  let movable = result[most]!.sorted().last(where: { members[least]!.contains($0.topic) }) else { break }
            result[most]!.remove(movable)
            result[least]!.insert(movable)
        }
        return result
    }
}
