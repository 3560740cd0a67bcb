// The append log's messages: between nodes (metadata Raft, broker
// heartbeats, forwarded proposals, replica fetches) and between clients and
// nodes (topics, produce, fetch, offsets). The wire layer carries them as
// opaque bytes (docs/formats/wire.md, kind 0x32 and client operation 7);
// their encoding is in LogMessageCodec.swift.
import RingtailCore
import RingtailRaft

/// Node-to-node append-log traffic.
public enum LogPeerMessage: Equatable, Sendable {
    case raft(RaftMessage)
    /// A node's session heartbeat to the controller, with the index of the
    /// last metadata entry it applied.
    case heartbeat(incarnation: UInt64, location: NodeLocation, appliedIndex: UInt64)
    /// Committed metadata entries from the controller to a node that is not a
    /// voter, in order, starting after the index the node last reported.
    case metadataUpdate(entries: [RaftEntry])
    /// A metadata command for the controller to propose; `id` is the
    /// sender's, echoed in the result (0: no answer wanted).
    case proposal(id: UInt64, command: MetadataCommand)
    case proposalResult(id: UInt64, outcome: MetadataOutcome)
    case fetch(id: UInt64, FetchRequest)
    case fetchResponse(id: UInt64, FetchResponse)
}

/// Where consumption starts when a partition has no committed offset, or
/// what `listOffsets` looks up.
public enum OffsetSpec: Equatable, Sendable {
    case earliest
    case latest
    /// The first offset whose record timestamp (ms) is at or after this.
    case timestamp(Int64)
}

/// A client's append-log request.
public enum LogClientRequest: Equatable, Sendable {
    case createTopic(name: String, config: TopicConfig)
    case deleteTopic(name: String)
    /// Topics, partitions, leaders and in-sync sets, and each node's client address.
    case describeCluster
    case produce(topic: String, partition: Int, acks: Acks, timeout: Duration, batch: [UInt8])
    case fetch(FetchRequest)
    case listOffsets(topic: String, partition: Int, OffsetSpec)
    /// Reserves an idempotent producer id.
    case initProducer
    /// Which node coordinates `group` (the leader of its offsets partition).
    case findCoordinator(group: String)
    case joinGroup(group: String, memberID: String, topics: [String], sessionTimeout: Duration, assignor: String)
    case syncGroup(group: String, memberID: String, generation: Int32)
    case heartbeat(group: String, memberID: String, generation: Int32)
    case leaveGroup(group: String, memberID: String)
    case commitOffsets(group: String, memberID: String, generation: Int32, offsets: [TopicPartitionID: Int64])
    case fetchOffsets(group: String)
    case describeGroup(group: String)
}

/// A group as `describeGroup` reports it.
public struct GroupDescription: Equatable, Sendable {
    public struct Member: Equatable, Sendable {
        public var memberID: String
        public var topics: [String]
        public var assignment: [TopicPartitionID]
        public init(memberID: String, topics: [String], assignment: [TopicPartitionID]) {
            self.memberID = memberID
            self.topics = topics
            self.assignment = assignment
        }
    }
    public var group: String
    public var state: String
    public var generation: Int32
    public var assignor: String
    public var members: [Member]
    public var committed: [TopicPartitionID: Int64]
    public init(group: String, state: String, generation: Int32, assignor: String, members: [Member], committed: [TopicPartitionID: Int64]) {
        self.group = group
        self.state = state
        self.generation = generation
        self.assignor = assignor
        self.members = members
        self.committed = committed
    }
}

/// One partition as `describeCluster` reports it.
public struct PartitionDescription: Equatable, Sendable {
    public var partition: Int
    public var leader: String?
    public var leaderEpoch: Int32
    public var replicas: [String]
    public var isr: [String]

    public init(partition: Int, leader: String?, leaderEpoch: Int32, replicas: [String], isr: [String]) {
        self.partition = partition
        self.leader = leader
        self.leaderEpoch = leaderEpoch
        self.replicas = replicas
        self.isr = isr
    }
}

public struct TopicDescription: Equatable, Sendable {
    public var name: String
    public var config: TopicConfig
    public var partitions: [PartitionDescription]

    public init(name: String, config: TopicConfig, partitions: [PartitionDescription]) {
        self.name = name
        self.config = config
        self.partitions = partitions
    }
}

public struct BrokerDescription: Equatable, Sendable {
    public var node: String
    /// `host:port` for client connections, if the node advertises one.
    public var clientAddress: String
    public var fenced: Bool

    public init(node: String, clientAddress: String, fenced: Bool) {
        self.node = node
        self.clientAddress = clientAddress
        self.fenced = fenced
    }
}

public struct ClusterDescription: Equatable, Sendable {
    public var controller: String?
    public var brokers: [BrokerDescription]
    public var topics: [TopicDescription]

    public init(controller: String?, brokers: [BrokerDescription], topics: [TopicDescription]) {
        self.controller = controller
        self.brokers = brokers
        self.topics = topics
    }
}

/// A node's answer to a `LogClientRequest`.
public enum LogClientReply: Equatable, Sendable {
    case ok
    case error(PartitionErrorCode, String)
    /// The request cannot be served (unknown topic, no controller yet, bad settings).
    case failed(String)
    case cluster(ClusterDescription)
    case produced(ProduceResponse)
    case fetched(FetchResponse)
    case offset(Int64)
    case producerId(Int64)
    case coordinator(node: String, clientAddress: String)
    case joined(JoinResult)
    case synced(GroupErrorCode, [TopicPartitionID])
    /// The answer to a heartbeat, leave or commit.
    case group(GroupErrorCode)
    case offsets([TopicPartitionID: Int64])
    case groupDescription(GroupDescription)
}
