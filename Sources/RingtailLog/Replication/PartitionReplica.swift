// One node's replica of one topic partition and its part in replication:
// as leader it appends producers' batches, serves fetches, tracks each
// follower's log end, advances the high watermark over the in-sync set and
// proposes in-sync set changes; as follower it fetches from the leader,
// truncates where its log diverges and follows the high watermark. A pure
// state machine over the partition log: inputs with `now`, effects out.
// See docs/internals/log-replication.md.
import RingtailCore

/// Replication timing (Kafka's names in the comments).
public struct ReplicationConfig: Sendable, Equatable {
    /// A follower not caught up for this long leaves the in-sync set (`replica.lag.time.max.ms`).
    public var replicaLagMax: Duration = .seconds(10)
    /// How long a follower waits before fetching again after an error (`replica.fetch.backoff.ms`).
    public var fetchBackoff: Duration = .seconds(1)
    /// How long a follower's fetch may wait at the leader for new data (`replica.fetch.wait.max.ms`).
    public var fetchWait: Duration = .milliseconds(500)
    /// Bytes a follower asks for per fetch (`replica.fetch.max.bytes`).
    public var fetchBytesMax: Int = 1 << 20
    /// How long an in-sync set proposal may stay unanswered before it is sent again.
    public var proposalRetry: Duration = .seconds(2)
    /// A follower's fetch unanswered this long after its wait is counted as
    /// failed (the leader or the network is gone) and sent again.
    public var fetchTimeout: Duration = .seconds(2)

    public init() {}
}

public enum PartitionInput: Equatable, Sendable {
    /// The committed metadata for this partition changed (or was first seen).
    case metadata(PartitionState, minInsyncReplicas: Int, flushEveryBatch: Bool)
    case produce(id: UInt64, batch: [UInt8], acks: Acks, timeout: Duration)
    case fetch(id: UInt64, FetchRequest)
    /// Follower: the answer to the fetch it sent.
    case fetchResponse(FetchResponse)
    /// Follower: its fetch got no answer (connection failed or timed out).
    case fetchFailed
    case tick
}

public enum PartitionEffect: Equatable, Sendable {
    case replyProduce(id: UInt64, ProduceResponse)
    case replyFetch(id: UInt64, FetchResponse)
    case sendFetch(to: NodeID, FetchRequest)
    /// Ask the controller to change the in-sync set (an `alterPartition` command).
    case proposeIsr(isr: [NodeID], leaderEpoch: Int32, partitionEpoch: Int32)
}

/// A partition replica.
///
/// Not thread-safe: the node's log driver serializes `handle`.
/// Invariants: `highWatermark` never decreases while this node leads and
/// never exceeds the log end; every offset below it is on every member of
/// the committed in-sync set.
public final class PartitionReplica {
    public enum Role: Equatable, Sendable {
        case leader(epoch: Int32)
        case follower(leader: NodeID, epoch: Int32)
        /// No leader is known, or this node is not a replica any more.
        case offline
    }

    struct FollowerProgress {
        /// The follower's log end offset; -1 until it fetches from this leader.
        var logEndOffset: Int64 = -1
        var lastCaughtUp: Instant
        var lastFetch: Instant
        var leaderEndAtLastFetch: Int64 = -1
    }

    struct WaitingProduce {
        var id: UInt64
        var requiredOffset: Int64
        var baseOffset: Int64
        var deadline: Instant
    }

    struct WaitingFetch {
        var id: UInt64
        var request: FetchRequest
        var deadline: Instant
    }

    public let topic: String
    public let partition: Int
    public let node: NodeID
    public let log: PartitionLog
    public let config: ReplicationConfig
    public internal(set) var role: Role = .offline
    public internal(set) var highWatermark: Int64
    public private(set) var state: PartitionState?
    var minInsyncReplicas = 1
    var flushEveryBatch = false
    var followers: [NodeID: FollowerProgress] = [:]
    /// The in-sync set proposed to the controller, against which partition
    /// epoch, and when; cleared when the metadata moves past that epoch.
    var pendingIsr: (isr: [NodeID], partitionEpoch: Int32, since: Instant)?
    var waitingProduces: [WaitingProduce] = []
    var waitingFetches: [WaitingFetch] = []
    /// Follower: a fetch is out; or the time to send the next one.
    var fetchInFlight = false
    var fetchSentAt: Instant = .zero
    var nextFetchAt: Instant?
    /// The first offset this node wrote as leader of its current epoch.
    var leaderEpochStartOffset: Int64 = 0

    public init(topic: String, partition: Int, node: NodeID, log: PartitionLog, config: ReplicationConfig = ReplicationConfig()) {
        self.topic = topic
        self.partition = partition
        self.node = node
        self.log = log
        self.config = config
        highWatermark = log.logStartOffset
    }

    public var isLeader: Bool { if case .leader = role { true } else { false } }
    /// Bounded queues: requests parked at once.
    public static let waitingMax = 10_000

    public func handle(_ input: PartitionInput, now: Instant) -> [PartitionEffect] {
        var out: [PartitionEffect] = []
        switch input {
        case .metadata(let partitionState, let minIsr, let flush):
            minInsyncReplicas = minIsr
            flushEveryBatch = flush
            apply(partitionState, now: now, &out)
        case .produce(let id, let batch, let acks, let timeout):
            produce(id: id, batch: batch, acks: acks, deadline: now + timeout, now: now, &out)
        case .fetch(let id, let request):
            fetch(id: id, request, now: now, &out)
        case .fetchResponse(let response):
            followerReceived(response, now: now, &out)
        case .fetchFailed:
            fetchInFlight = false
            nextFetchAt = now + config.fetchBackoff
        case .tick:
            tick(now: now, &out)
        }
        return out
    }

    /// Follows a metadata change: becomes leader, follower or offline.
    private func apply(_ new: PartitionState, now: Instant, _ out: inout [PartitionEffect]) {
        let previous = role
        state = new
        if let pending = pendingIsr, new.partitionEpoch != pending.partitionEpoch { pendingIsr = nil }
        if new.leader == node {
            if previous != .leader(epoch: new.leaderEpoch) { becomeLeader(epoch: new.leaderEpoch, now: now, &out) }
            // A shrink the controller committed may leave too few in-sync replicas for waiting acks=all produces.
            if new.isr.count < minInsyncReplicas { failWaitingProduces(.notEnoughReplicasAfterAppend, &out) }
            updateHighWatermark(now: now, &out)
        } else if let leader = new.leader, new.replicas.contains(node) {
            if previous != .follower(leader: leader, epoch: new.leaderEpoch) {
                resignLeadership(&out)
                role = .follower(leader: leader, epoch: new.leaderEpoch)
                fetchInFlight = false
                nextFetchAt = now
                sendFetchIfDue(now: now, &out)
            }
        } else {
            resignLeadership(&out)
            role = .offline
        }
    }

    private func becomeLeader(epoch: Int32, now: Instant, _ out: inout [PartitionEffect]) {
        role = .leader(epoch: epoch)
        leaderEpochStartOffset = log.logEndOffset
        followers = [:]
        for replica in state?.replicas ?? [] where replica != node {
            followers[replica] = FollowerProgress(lastCaughtUp: now, lastFetch: now)
        }
        pendingIsr = nil
        fetchInFlight = false
        nextFetchAt = nil
    }

    /// Answers everything parked here: this node no longer leads.
    private func resignLeadership(_ out: inout [PartitionEffect]) {
        guard isLeader else { return }
        failWaitingProduces(.notLeader, &out)
        for waiting in waitingFetches { out.append(.replyFetch(id: waiting.id, FetchResponse(error: .notLeader))) }
        waitingFetches = []
        followers = [:]
        pendingIsr = nil
    }

    func failWaitingProduces(_ error: PartitionErrorCode, _ out: inout [PartitionEffect]) {
        for waiting in waitingProduces {
            out.append(.replyProduce(id: waiting.id, ProduceResponse(error: error, baseOffset: waiting.baseOffset, logStartOffset: log.logStartOffset)))
        }
        waitingProduces = []
    }

    private func tick(now: Instant, _ out: inout [PartitionEffect]) {
        switch role {
        case .leader:
            var kept: [WaitingProduce] = []
            for waiting in waitingProduces {
                if waiting.deadline <= now {
                    out.append(.replyProduce(id: waiting.id, ProduceResponse(error: .requestTimedOut, baseOffset: waiting.baseOffset)))
                } else {
                    kept.append(waiting)
                }
            }
            waitingProduces = kept
            answerParkedFetches(now: now, expiredOnly: true, &out)
            maybeShrinkIsr(now: now, &out)
        case .follower:
            if fetchInFlight && now - fetchSentAt > config.fetchWait + config.fetchTimeout {
                fetchInFlight = false
                nextFetchAt = now
            }
            sendFetchIfDue(now: now, &out)
        case .offline:
            break
        }
    }
}
