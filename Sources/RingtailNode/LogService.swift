// One node's append log: its member of the metadata Raft group (or, on a
// node that is not a voter, the committed metadata it follows), the metadata
// image, the controller's duties while this node leads the group, and the
// partition replicas this node holds. Entry points take peer messages,
// client requests and ticks, and return effects for the node's driver; files
// go through the injected FileSystem, time through the Clock, so the seeded
// simulator runs it as real processes do. docs/internals/log-replication.md.
import RingtailCore
import RingtailLog
import RingtailRaft

/// What the log service asks its driver to do.
public enum LogEffect: Equatable, Sendable {
    case send(to: NodeID, LogPeerMessage)
    case reply(request: UInt64, LogClientReply)
}

public struct LogServiceConfiguration: Sendable {
    /// The metadata Raft group's voters. A node not listed follows the
    /// committed metadata through its heartbeats to the controller.
    public var voters: [NodeID]
    /// Time between ticks (Raft ticks, replica ticks, heartbeats).
    public var tickInterval: Duration = .milliseconds(100)
    /// Ticks between heartbeats to the controller.
    public var heartbeatTicks = 5
    /// A node silent this long is fenced by the controller.
    public var sessionTimeout: Duration = .seconds(3)
    /// How often retention runs over the partition logs.
    public var retentionInterval: Duration = .seconds(60)
    public var raft = RaftConfig()
    public var replication = ReplicationConfig()
    /// Log settings other than those a topic sets.
    public var log = LogConfig()
    /// Metadata entries sent per update to a node that is not a voter.
    public var metadataEntriesPerUpdate = 256

    public init(voters: [NodeID]) { self.voters = voters }
}

/// Counters since start.
public struct LogStatistics: Equatable, Sendable {
    public var messagesRejected = 0
    public var lastRejection = ""
    public var proposalsForwarded = 0
    public var replicaFailures = 0
}

/// The append log of one node. Confined: one thread at a time.
public final class LogService {
    /// Who is waiting for the answer to something this node started.
    enum Origin {
        case client(UInt64)
        case peerFetch(NodeID, UInt64)
        case peerProposal(NodeID, UInt64)
        /// A group's offset commit waiting for its record to replicate.
        case groupCommit(UInt64, String, [TopicPartitionID: Int64])
        case local
    }

    public let id: NodeID
    public let location: NodeLocation
    public let configuration: LogServiceConfiguration
    let directory: String
    let fileSystem: FileSystem
    let clock: Clock
    let incarnation: UInt64
    public internal(set) var image = MetadataImage()
    public internal(set) var statistics = LogStatistics()
    /// This node's Raft member, if it is a voter.
    var raft: RaftNode?
    var raftStore: RaftStore?
    var replicas: [TopicPartitionID: PartitionReplica] = [:]
    /// The metadata each replica was last told.
    var fedStates: [TopicPartitionID: PartitionState] = [:]
    var nextID: UInt64 = 1
    /// Requests started here and not yet answered, by internal id.
    var origins: [UInt64: Origin] = [:]
    /// When each proposal forwarded to the controller left (by internal id):
    /// one the controller never answers (it died, or the message was lost)
    /// is answered as rejected after `forwardedProposalTimeout`.
    var forwardedAt: [UInt64: Instant] = [:]
    /// The partition of each follower fetch out, by fetch id (a replica has at
    /// most one; an answer to an older one, after a timeout, matches nothing).
    var outstandingFetches: [UInt64: TopicPartitionID] = [:]
    var fetchOfPartition: [TopicPartitionID: UInt64] = [:]
    /// Controller: proposals by Raft index, with the term they were proposed in.
    var proposalsByIndex: [UInt64: (term: UInt64, origin: Origin)] = [:]
    /// The origin of the proposal being handed to Raft right now.
    var pendingProposalOrigin: Origin?
    /// Controller: each broker's session.
    var sessions: [NodeID: Session] = [:]
    /// Producer ids this node may hand out.
    var producerIds: (next: Int64, end: Int64) = (0, 0)
    var waitingForProducerIds: [UInt64] = []
    var ticks = 0
    /// Consumer groups this node coordinates (it leads their offsets partition).
    var groups: [String: GroupCoordinator] = [:]
    /// The leader epoch at which each offsets partition's commits were loaded.
    var loadedOffsets: [Int: Int32] = [:]
    /// When this node last asked for the offsets topic to be created.
    var offsetsTopicRequestedAt: Instant?
    var lastRetention: Instant
    /// The clients' addresses of nodes, from the driver (gossip).
    public var clientAddress: (NodeID) -> String = { _ in "" }

    struct Session {
        var incarnation: UInt64
        var lastHeartbeat: Instant
        /// The last metadata index the node reported applied.
        var appliedIndex: UInt64
        /// A registration or fence proposed and not yet seen applied.
        var pending: Bool
    }

    /// Opens the node's metadata store (a voter) under `directory`.
    /// Partition replicas open as the metadata assigns them.
    public init(id: NodeID, location: NodeLocation, directory: String, configuration: LogServiceConfiguration,
                fileSystem: FileSystem, clock: Clock, incarnation: UInt64, seed: UInt64) throws(FileSystemError) {
        self.id = id
        self.location = location
        self.directory = directory
        self.configuration = configuration
        self.fileSystem = fileSystem
        self.clock = clock
        self.incarnation = incarnation
        lastRetention = clock.now()
        if configuration.voters.contains(id) {
            let store = try RaftStore(path: Path.join(directory, "metadata/raft.log"), fileSystem: fileSystem)
            raftStore = store
            raft = RaftNode(id: id, voters: configuration.voters, config: configuration.raft, restored: store.state, seed: seed)
        }
    }

    public func close() {
        raftStore?.close()
        for replica in replicas.values { replica.log.close() }
    }

    /// The node that leads the metadata group, as far as this node knows.
    public var controller: NodeID? {
        if let raft { return raft.leader }
        return knownController
    }
    var knownController: NodeID?
    /// When a node outside the group last heard from the controller.
    var lastControllerContact: Instant?
    public var isController: Bool { raft?.role == .leader }

    func newID() -> UInt64 {
        defer { nextID += 1 }
        return nextID
    }

    /// The replica of a partition this node holds, if any (for tools and tests).
    public func replica(topic: String, partition: Int) -> PartitionReplica? {
        replicas[TopicPartitionID(topic: topic, partition: partition)]
    }

    // MARK: Ticks

    /// Call every `configuration.tickInterval`.
    public func tick() -> [LogEffect] {
        var out: [LogEffect] = []
        ticks += 1
        let now = clock.now()
        if raft != nil { stepRaft(.tick, &out) }
        if ticks % configuration.heartbeatTicks == 0 { heartbeat(&out) }
        if isController { expireSessions(now: now, &out) }
        expireForwardedProposals(now: now, &out)
        for key in replicas.keys.sorted() {
            guard let replica = replicas[key] else { continue }
            perform(replica.handle(.tick, now: now), for: key, &out)
        }
        let counts = partitionCounts()
        for name in groups.keys.sorted() {
            guard coordinator(for: name) != nil else {
                groups[name] = nil // leadership of its offsets partition moved
                continue
            }
            performGroup(groups[name]!.tick(now: now, partitions: counts), &out)
        }
        if now - lastRetention >= configuration.retentionInterval {
            lastRetention = now
            applyRetention()
        }
        return out
    }

    func heartbeat(_ out: inout [LogEffect]) {
        let message = LogPeerMessage.heartbeat(incarnation: incarnation, location: location, appliedIndex: image.appliedIndex)
        // A node outside the group that has not heard from the controller
        // within a session timeout asks every voter: only the controller answers.
        if raft == nil, let contact = lastControllerContact, clock.now() - contact > configuration.sessionTimeout {
            knownController = nil
        }
        guard let controller else {
            if raft == nil { for voter in configuration.voters { out.append(.send(to: voter, message)) } }
            return
        }
        if controller == id {
            receiveHeartbeat(from: id, incarnation: incarnation, location: location, appliedIndex: image.appliedIndex, &out)
        } else {
            out.append(.send(to: controller, message))
        }
    }

    func applyRetention() {
        let nowMillis = clock.wallMicros() / 1000
        for (key, replica) in replicas {
            do { try replica.log.applyRetention(nowMillis: nowMillis, deletableBelow: replica.highWatermark) } catch {
                statistics.replicaFailures += 1
                statistics.lastRejection = "retention of \(key.topic)-\(key.partition): \(error)"
            }
        }
    }
}
