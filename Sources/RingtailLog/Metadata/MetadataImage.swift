// The cluster's log metadata as every node sees it after applying the
// committed metadata log: brokers and their sessions, topics, and each
// partition's replicas, leader, in-sync set and epochs. `apply` is a pure,
// deterministic function of the image and the command, so every node that
// applies the same log holds the same image, and leader elections need no
// messages of their own: fencing a broker moves its leaderships in the same
// step. See docs/internals/log-replication.md.
import RingtailCore

/// A node as the metadata knows it.
public struct BrokerState: Equatable, Sendable {
    public var location: NodeLocation
    public var incarnation: UInt64
    public var fenced: Bool
}

/// One partition's replicas and leadership.
public struct PartitionState: Equatable, Sendable {
    /// The assigned replicas; the first is the preferred leader.
    public var replicas: [NodeID]
    public var leader: NodeID?
    /// Bumped whenever the leader changes; fences stale leaders.
    public var leaderEpoch: Int32
    /// The in-sync replicas, in assignment order.
    public var isr: [NodeID]
    /// Bumped on every change to this partition.
    public var partitionEpoch: Int32

    public init(replicas: [NodeID], leader: NodeID?, leaderEpoch: Int32, isr: [NodeID], partitionEpoch: Int32) {
        self.replicas = replicas
        self.leader = leader
        self.leaderEpoch = leaderEpoch
        self.isr = isr
        self.partitionEpoch = partitionEpoch
    }
}

public struct TopicState: Equatable, Sendable {
    /// Distinguishes this topic from an earlier one of the same name.
    public var id: UInt64
    public var config: TopicConfig
    public var partitions: [PartitionState]
}

/// What applying one command did, for the proposer and for partition drivers.
public enum MetadataOutcome: Equatable, Sendable {
    case applied
    case rejected(String)
    case producerIds(first: Int64, count: Int64)
}

/// The metadata image.
///
/// Value type; not thread-safe. Every mutation goes through `apply`.
public struct MetadataImage: Equatable, Sendable {
    public static let producerIdBlock: Int64 = 1000

    public private(set) var brokers: [NodeID: BrokerState] = [:]
    public private(set) var topics: [String: TopicState] = [:]
    public private(set) var nextProducerId: Int64 = 0
    /// The Raft index of the last entry applied.
    public private(set) var appliedIndex: UInt64 = 0
    /// Committed entries this build could not decode (a newer version wrote them).
    public private(set) var unreadableEntries = 0

    public init() {}

    public var liveBrokers: [NodeID] { brokers.filter { !$0.value.fenced }.map(\.key).sorted() }

    public func partition(_ topic: String, _ partition: Int) -> PartitionState? {
        guard let t = topics[topic], partition >= 0, partition < t.partitions.count else { return nil }
        return t.partitions[partition]
    }

    /// Applies a committed Raft entry (no-ops advance the index only).
    @discardableResult
    public mutating func apply(entryAt index: UInt64, data: [UInt8]?) -> MetadataOutcome {
        apply(entryAt: index, decoded: data.map { try? MetadataCommandCodec.decode($0) })
    }

    /// The same, for an entry its caller decoded already: nil for a no-op,
    /// `.some(nil)` for data that did not decode.
    @discardableResult
    public mutating func apply(entryAt index: UInt64, decoded: MetadataCommand??) -> MetadataOutcome {
        precondition(index > appliedIndex, "entries apply once, in order")
        appliedIndex = index
        guard let decoded else { return .applied }
        guard let command = decoded else {
            unreadableEntries += 1
            return .rejected("entry \(index) does not decode with this build")
        }
        return apply(command)
    }

    /// Applies one command; invalid or stale commands change nothing.
    public mutating func apply(_ command: MetadataCommand) -> MetadataOutcome {
        switch command {
        case .registerBroker(let node, let incarnation, let location):
            if let known = brokers[node], known.incarnation > incarnation { return .rejected("\(node) has a newer incarnation") }
            brokers[node] = BrokerState(location: location, incarnation: incarnation, fenced: false)
            electLeaders { $0.leader == nil && $0.isr.contains(node) }
            return .applied
        case .fenceBroker(let node, let incarnation):
            guard var broker = brokers[node], broker.incarnation == incarnation, !broker.fenced else {
                return .rejected("\(node) incarnation \(incarnation) is not a live session")
            }
            broker.fenced = true
            brokers[node] = broker
            fence(node)
            return .applied
        case .createTopic(let name, let config):
            if topics[name] != nil { return .rejected("topic \(name) exists") }
            if let problem = config.problem { return .rejected(problem) }
            if let problem = Self.nameProblem(name) { return .rejected(problem) }
            let live = liveBrokers
            guard live.count >= config.replicationFactor else {
                return .rejected("replication factor \(config.replicationFactor) needs \(config.replicationFactor) live nodes; \(live.count) are live")
            }
            let assignment = ReplicaAssignment.assign(topic: name, partitions: config.partitions, replicationFactor: config.replicationFactor,
                                                      brokers: live.map { ($0, brokers[$0]!.location) })
            topics[name] = TopicState(id: appliedIndex, config: config, partitions: assignment.map {
                PartitionState(replicas: $0, leader: $0[0], leaderEpoch: 0, isr: $0, partitionEpoch: 0)
            })
            return .applied
        case .deleteTopic(let name):
            guard topics.removeValue(forKey: name) != nil else { return .rejected("no topic \(name)") }
            return .applied
        case .alterPartition(let topic, let index, let leader, let leaderEpoch, let partitionEpoch, let isr):
            guard var state = partition(topic, index) else { return .rejected("no partition \(topic)-\(index)") }
            guard state.leader == leader, state.leaderEpoch == leaderEpoch, state.partitionEpoch == partitionEpoch else {
                return .rejected("\(topic)-\(index) changed since (leader \(state.leader?.name ?? "none") epoch \(state.leaderEpoch), partition epoch \(state.partitionEpoch))")
            }
            guard isr.contains(leader), !isr.isEmpty, Set(isr).isSubset(of: state.replicas), Set(isr).count == isr.count else {
                return .rejected("in-sync set \(isr) must hold the leader and only assigned replicas")
            }
            // A fenced node may leave the in-sync set but never join it.
            let joining = Set(isr).subtracting(state.isr)
            guard joining.allSatisfy({ brokers[$0]?.fenced == false }) else { return .rejected("a fenced node cannot join the in-sync set") }
            state.isr = state.replicas.filter { isr.contains($0) }
            state.partitionEpoch += 1
            topics[topic]!.partitions[index] = state
            return .applied
        case .allocateProducerIds:
            let first = nextProducerId
            nextProducerId += Self.producerIdBlock
            return .producerIds(first: first, count: Self.producerIdBlock)
        }
    }

    /// A topic name Kafka would also accept: 1-249 of [A-Za-z0-9._-], not "." or "..".
    public static func nameProblem(_ name: String) -> String? {
        let ok = !name.isEmpty && name.utf8.count <= 249 && name != "." && name != ".."
            && name.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5a) || ($0 >= 0x61 && $0 <= 0x7a) || $0 == 0x2e || $0 == 0x5f || $0 == 0x2d }
        return ok ? nil : "topic name \"\(name)\" must be 1-249 characters of letters, digits, '.', '_' and '-'"
    }

    /// Removes a fenced node from in-sync sets (never emptying one) and moves
    /// its leaderships to the first live in-sync replica.
    private mutating func fence(_ node: NodeID) {
        for (name, topic) in topics {
            for (i, var p) in topic.partitions.enumerated() where p.replicas.contains(node) {
                var changed = false
                if p.isr.count > 1, p.isr.contains(node) {
                    p.isr.removeAll { $0 == node }
                    changed = true
                }
                if p.leader == node {
                    p.leader = p.isr.first { brokers[$0]?.fenced == false }
                    p.leaderEpoch += 1
                    changed = true
                }
                if changed {
                    p.partitionEpoch += 1
                    topics[name]!.partitions[i] = p
                }
            }
        }
    }

    /// Gives a leader to each matching leaderless partition from its live ISR.
    private mutating func electLeaders(where matches: (PartitionState) -> Bool) {
        for (name, topic) in topics {
            for (i, var p) in topic.partitions.enumerated() where matches(p) {
                guard let leader = p.isr.first(where: { brokers[$0]?.fenced == false }) else { continue }
                p.leader = leader
                p.leaderEpoch += 1
                p.partitionEpoch += 1
                topics[name]!.partitions[i] = p
            }
        }
    }
}
