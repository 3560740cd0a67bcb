// The coordinator: the node a client talks to, which sends a request to the
// replicas of its partition and answers once the consistency level is met.
// A pure state machine in the style of DESIGN.md: inputs (client requests,
// replica responses, timers) go in with the time, effects (messages to send,
// hints to store, timers to set, replies) come out for a driver to perform.
// Write path: Coordinator+Write.swift. Read path: Coordinator+Read.swift.
// See docs/internals/consistency.md.
import RingtailCore
import RingtailStorage
import RingtailWire

/// What a node knows about one partition's replicas when a request arrives.
public struct ReplicaContext: Hashable, Sendable {
    /// The natural replicas of the partition's token, in ring order.
    public var replicas: [NodeID]
    /// Those the local failure detector holds up (a few: searched linearly).
    public var alive: [NodeID]
    /// Datacenter of every replica.
    public var datacenters: [NodeID: String]
    public var strategy: ReplicationStrategy
    public var localDatacenter: String

    public init(replicas: [NodeID], alive: [NodeID], datacenters: [NodeID: String], strategy: ReplicationStrategy,
                localDatacenter: String) {
        self.replicas = replicas
        self.alive = alive
        self.datacenters = datacenters
        self.strategy = strategy
        self.localDatacenter = localDatacenter
    }
}

/// A client write: one partition update to one table at a level.
public struct WriteCommand: Hashable, Sendable {
    public var table: String
    public var update: PartitionUpdate
    public var level: ConsistencyLevel

    public init(table: String, update: PartitionUpdate, level: ConsistencyLevel) {
        self.table = table
        self.update = update
        self.level = level
    }
}

/// A client read: one partition's clustering slice at a level.
public struct ReadCommand: Hashable, Sendable {
    public var table: String
    public var key: [UInt8]
    public var slice: ClusteringRange
    public var limit: Int
    public var descending: Bool
    public var level: ConsistencyLevel

    public init(table: String, key: [UInt8], slice: ClusteringRange = .all, limit: Int = .max, descending: Bool = false,
                level: ConsistencyLevel) {
        self.table = table
        self.key = key
        self.slice = slice
        self.limit = limit
        self.descending = descending
        self.level = level
    }
}

/// What a client gets back.
public enum ClientResult: Hashable, Sendable {
    case written
    /// The live rows of the slice (empty if none).
    case rows([Row])
    case failed(RequestError)
}

/// Timers a coordinator asks for; the driver hands them back when due.
public enum CoordinatorTimer: Hashable, Sendable {
    case writeTimeout(request: UInt64)
    case readTimeout(request: UInt64)
    case speculativeRetry(request: UInt64)
}

public enum CoordinatorEffect: Hashable, Sendable {
    case send(NodeID, Message)
    /// Store a hint for `target` durably (the hint store on this node).
    case storeHint(target: NodeID, table: String, update: PartitionUpdate)
    case setTimer(Instant, CoordinatorTimer)
    case reply(request: UInt64, ClientResult)
    /// Record the write in the journal durably, then hand back `.journaled`.
    /// Performed off the node's thread if the driver likes (it may wait for
    /// a commit log sync); the write's messages go out meanwhile.
    case journal(JournalEntry)
    /// Remove a journal entry (every replica acknowledged or was hinted); it
    /// need not be durable.
    case forgetJournal(id: UInt64, timestamp: Int64)
}

public enum CoordinatorInput: Hashable, Sendable {
    case write(request: UInt64, WriteCommand, ReplicaContext)
    case read(request: UInt64, ReadCommand, ReplicaContext)
    case mutationResponse(from: NodeID, MutationResponse)
    case readResponse(from: NodeID, ReadResponse)
    case timer(CoordinatorTimer)
    /// A `.journal` effect was performed: `stored` if the entry is durable.
    case journaled(id: UInt64, stored: Bool)
}

/// In-flight client requests of one node.
///
/// Pure: never sends, sleeps or reads a clock. Every request ends with
/// exactly one `.reply`, at the latest when its timeout timer fires, so a
/// client never hangs. Bounded by the driver's admission (one entry per
/// in-flight request, removed when it finishes or times out).
public struct Coordinator: Sendable {
    public struct Options: Hashable, Sendable {
        public var writeTimeout: Duration = .seconds(2)
        public var readTimeout: Duration = .seconds(5)
        /// Retry a read on another replica when one has not answered by this
        /// percentile of recent read latencies (nil: never).
        public var speculativeRetryPercentile: Double? = 99
        /// Never speculate sooner than this.
        public var speculativeRetryMin: Duration = .milliseconds(1)
        /// Journal every write sent to replicas (see WriteJournal): "written"
        /// waits until the entry is durable too, unless every replica has
        /// answered or been hinted by then. Off: a coordinator that dies
        /// within the write timeout of a write leaves its silent replicas
        /// without a hint (Cassandra's behaviour).
        public var journal = true
        public init() {}
    }

    public let local: NodeID
    public let options: Options
    public internal(set) var latencies = LatencyTracker()
    var writes: [UInt64: PendingWrite] = [:]
    var reads: [UInt64: PendingRead] = [:]
    /// Replica message id -> the client request it serves.
    var owners: [UInt64: UInt64] = [:]
    var nextMessageID: UInt64 = 1

    /// - Parameter firstMessageID: where this incarnation's replica message
    ///   ids start. Give each restart its own range (ClusterNode derives it
    ///   from the gossip generation): a replica's late answer to the previous
    ///   incarnation must never match a new message and count as an
    ///   acknowledgement of a write the replica never received.
    public init(local: NodeID, options: Options = Options(), firstMessageID: UInt64 = 1) {
        self.local = local
        self.options = options
        nextMessageID = firstMessageID
    }

    /// Client requests not yet finished (replied or not).
    public var inFlight: Int { writes.count + reads.count }

    /// Client writes whose replicas have not all answered or been hinted yet
    /// (a crash now may leave a replica without the write and without a hint).
    public var unfinishedWrites: [UInt64] { writes.keys.sorted() }

    public mutating func handle(_ input: CoordinatorInput, now: Instant, wallMicros: Int64) -> [CoordinatorEffect] {
        var effects: [CoordinatorEffect] = []
        effects.reserveCapacity(6) // a message per replica, a timer, a reply: one allocation
        switch input {
        case .write(let request, let command, let context):
            startWrite(request, command, context, now: now, wallMicros: wallMicros, effects: &effects)
        case .read(let request, let command, let context):
            startRead(request, command, context, now: now, wallMicros: wallMicros, effects: &effects)
        case .mutationResponse(let source, let response):
            guard let request = owners[response.id] else { break } // late answer to a finished request
            // index(forKey:), not `[request] != nil`: that copies the pending state out.
            if writes.index(forKey: request) != nil {
                writeResponse(request, from: source, response, effects: &effects)
            } else if reads.index(forKey: request) != nil {
                repairResponse(request, messageID: response.id, from: source, response, now: now, wallMicros: wallMicros,
                               effects: &effects)
            }
        case .readResponse(let source, let response):
            guard let request = owners[response.id], reads.index(forKey: request) != nil else { break }
            readResponse(request, messageID: response.id, from: source, response.payload, now: now,
                         wallMicros: wallMicros, effects: &effects)
        case .timer(.writeTimeout(let request)):
            writeTimedOut(request, effects: &effects)
        case .timer(.readTimeout(let request)):
            readTimedOut(request, effects: &effects)
        case .timer(.speculativeRetry(let request)):
            speculate(request, now: now, effects: &effects)
        case .journaled(let id, let stored):
            guard let request = owners[id], writes.index(forKey: request) != nil else { break } // finished already
            journaled(request, stored: stored, effects: &effects)
        }
        return effects
    }

    mutating func takeMessageID(for request: UInt64) -> UInt64 {
        defer { nextMessageID += 1 }
        owners[nextMessageID] = request
        return nextMessageID
    }
}
