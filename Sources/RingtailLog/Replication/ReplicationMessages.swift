// The requests and answers of partition replication and of producers and
// consumers talking to a partition leader. Pure values; RingtailWire
// encodes them. Error codes follow Kafka's names so a Kafka user reads them
// as they expect.

/// Why a produce or fetch did not succeed.
public enum PartitionErrorCode: UInt8, Sendable, Equatable, CustomStringConvertible {
    case none = 0
    /// This node does not lead the partition (ask the metadata who does).
    case notLeader = 1
    /// The request carried a newer leader epoch than this leader's: this node is a stale leader.
    case fencedLeaderEpoch = 2
    /// The request carried an older leader epoch: the requester must refresh its metadata.
    case unknownLeaderEpoch = 3
    case offsetOutOfRange = 4
    /// Fewer in-sync replicas than `min_insync_replicas`; nothing was written.
    case notEnoughReplicas = 5
    /// The batch was written, but the in-sync set shrank below the minimum before it was replicated.
    case notEnoughReplicasAfterAppend = 6
    /// `acks=all` was not met in time; the batch may still be committed later.
    case requestTimedOut = 7
    case invalidRecord = 8
    case recordTooLarge = 9
    case outOfOrderSequence = 10
    case invalidProducerEpoch = 11
    case unknownTopicOrPartition = 12
    /// The partition log failed (disk full, I/O error); the replica stops serving.
    case storageError = 13
    case unsupportedCompression = 14

    public var description: String {
        switch self {
        case .none: "none"
        case .notLeader: "not the leader"
        case .fencedLeaderEpoch: "fenced leader epoch"
        case .unknownLeaderEpoch: "unknown leader epoch"
        case .offsetOutOfRange: "offset out of range"
        case .notEnoughReplicas: "not enough in-sync replicas"
        case .notEnoughReplicasAfterAppend: "not enough in-sync replicas after append"
        case .requestTimedOut: "request timed out"
        case .invalidRecord: "invalid record"
        case .recordTooLarge: "record too large"
        case .outOfOrderSequence: "out of order sequence"
        case .invalidProducerEpoch: "invalid producer epoch"
        case .unknownTopicOrPartition: "unknown topic or partition"
        case .storageError: "storage error"
        case .unsupportedCompression: "unsupported compression"
        }
    }

    init(_ error: LogError) {
        switch error.code {
        case .invalidRecord, .corruption, .unsupportedVersion, .nonContiguousAppend, .invalidArgument: self = .invalidRecord
        case .recordTooLarge: self = .recordTooLarge
        case .unsupportedCompression: self = .unsupportedCompression
        case .offsetOutOfRange: self = .offsetOutOfRange
        case .outOfOrderSequence: self = .outOfOrderSequence
        case .invalidProducerEpoch: self = .invalidProducerEpoch
        case .io, .closed: self = .storageError
        }
    }
}

/// How many replicas must have a batch before the producer hears back.
public enum Acks: Int8, Sendable, Equatable {
    case none = 0
    case leader = 1
    case all = -1
}

/// A fetch from a follower (`replica` set) or a consumer (`replica` nil).
public struct FetchRequest: Equatable, Sendable {
    public var topic: String
    public var partition: Int
    public var replica: String?
    public var fetchOffset: Int64
    /// The epoch of the last batch the follower holds (-1 if none or a consumer).
    public var lastFetchedEpoch: Int32
    /// The leader epoch the requester believes current (-1: don't check).
    public var currentLeaderEpoch: Int32
    public var maxBytes: Int
    /// How long the leader may hold the fetch while there is nothing new.
    public var maxWait: Duration

    public init(topic: String, partition: Int, replica: String?, fetchOffset: Int64, lastFetchedEpoch: Int32 = -1,
                currentLeaderEpoch: Int32 = -1, maxBytes: Int = 1 << 20, maxWait: Duration = .milliseconds(500)) {
        self.topic = topic
        self.partition = partition
        self.replica = replica
        self.fetchOffset = fetchOffset
        self.lastFetchedEpoch = lastFetchedEpoch
        self.currentLeaderEpoch = currentLeaderEpoch
        self.maxBytes = maxBytes
        self.maxWait = maxWait
    }
}

/// A fetch's answer: whole batches, and where the log stands.
public struct FetchResponse: Equatable, Sendable {
    public var error: PartitionErrorCode
    public var highWatermark: Int64
    public var logStartOffset: Int64
    public var logEndOffset: Int64
    /// Set when the follower's log diverges: truncate to `min(endOffset, own end of epoch)`.
    public var divergingEpoch: Int32?
    public var divergingEndOffset: Int64?
    public var records: [UInt8]

    public init(error: PartitionErrorCode, highWatermark: Int64 = -1, logStartOffset: Int64 = -1, logEndOffset: Int64 = -1,
                divergingEpoch: Int32? = nil, divergingEndOffset: Int64? = nil, records: [UInt8] = []) {
        self.error = error
        self.highWatermark = highWatermark
        self.logStartOffset = logStartOffset
        self.logEndOffset = logEndOffset
        self.divergingEpoch = divergingEpoch
        self.divergingEndOffset = divergingEndOffset
        self.records = records
    }
}

/// A produce's answer.
public struct ProduceResponse: Equatable, Sendable {
    public var error: PartitionErrorCode
    public var baseOffset: Int64
    public var logStartOffset: Int64
    public var message: String?

    public init(error: PartitionErrorCode, baseOffset: Int64 = -1, logStartOffset: Int64 = -1, message: String? = nil) {
        self.error = error
        self.baseOffset = baseOffset
        self.logStartOffset = logStartOffset
        self.message = message
    }
}
