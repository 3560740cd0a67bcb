// One node: its storage engine, hint store, gossip and failure detector,
// and the coordinator state machine, behind three entry points (a frame from
// a peer, a timer, a client request) that return effects for a driver to
// perform (send a frame, set a timer, reply). Storage is performed inline,
// through the FileSystem and Clock capabilities the node was given, so the
// same node runs in the seeded simulator and in a real process.
import RingtailCore
import RingtailStorage
import RingtailWire
import RingtailCluster
import RingtailLog

/// Timers a node asks its driver for.
public enum NodeTimer: Hashable, Sendable {
    case gossip
    case hintDelivery
    case coordinator(CoordinatorTimer)
    /// The append log's tick (LogServiceConfiguration.tickInterval).
    case log
}

public enum NodeEffect: Hashable, Sendable {
    /// Send an encoded frame (WireCodec) to a peer; to itself too.
    case send(to: NodeID, frame: [UInt8])
    /// Send a gossip SYN to one of the configured seeds (an address, not a
    /// node yet known): the node knows no live peer. Drivers without seeds ignore it.
    case gossipToSeed(frame: [UInt8])
    case setTimer(at: Instant, NodeTimer)
    case reply(request: UInt64, ClientResult)
    /// Answer an append-log client request (a LogClientReply, encoded).
    case replyLog(request: UInt64, [UInt8])
    /// Apply a replica write to storage, then hand it to `finish(_:_:)`.
    /// The write may wait for a commit log sync, so a driver may run
    /// several at once off the node's thread (they share fsyncs); see
    /// `ReplicaWrite`.
    case applyReplicaWrite(ReplicaWrite)
    /// Record a client write in the write journal (`record(_:)`, which may
    /// wait for a commit log sync, so off the node's thread like replica
    /// writes), then hand the outcome to `journaled(_:stored:)`.
    case recordJournal(JournalEntry)
}

/// A replica write decoded and routed by the node, for its driver to apply.
///
/// `ClusterNode.apply(_:)` is thread-safe (it touches only the storage
/// engine); `finish(_:_:)` must run on the node's thread like every other
/// entry point.
public struct ReplicaWrite: Hashable, Sendable {
    public var source: NodeID
    public var messageID: UInt64
    public var table: TableID
    public var update: PartitionUpdate
    public var isHint: Bool
}

public enum ClientCommand: Hashable, Sendable {
    case write(WriteCommand)
    case read(ReadCommand)
}

public struct NodeConfiguration: Sendable {
    public var id: NodeID
    public var location: NodeLocation
    public var clusterName = "ringtail"
    /// Where this node's storage lives (on the file system it is given).
    public var directory: String
    public var engine = EngineOptions()
    public var coordinator = Coordinator.Options()
    public var gossipInterval: Duration = .seconds(1)
    /// Phi above which a peer is held down (Cassandra's phi_convict_threshold).
    public var phiConvictThreshold: Double = 8
    public var hints = HintStore.Options()
    public var hintDeliveryInterval: Duration = .seconds(1)
    /// Hint bytes delivered per second, over all targets (Cassandra: 1024 KiB).
    public var hintThrottleBytesPerSecond = 1 << 20
    /// Codec limits for frames from peers.
    public var wireLimits = WireCodec.Limits()
    /// Application values this node gossips about itself besides dc, rack,
    /// tokens, status, schema and load (a real node: its addresses).
    public var advertised: [String: String] = [:]
    /// The append log (topics): nil runs the node without one.
    public var log: LogServiceConfiguration?

    public init(id: NodeID, location: NodeLocation, directory: String) {
        self.id = id
        self.location = location
        self.directory = directory
    }
}

/// Counters of one node's activity since it started.
public struct NodeStatistics: Hashable, Sendable {
    public var framesReceived = 0
    /// Frames that failed to decode, or came from another cluster: dropped.
    public var framesRejected = 0
    public var mutationsApplied = 0
    public var mutationsFailed = 0
    public var readsServed = 0
    public var clientRequests = 0
    public var hintsSent = 0
    /// Hints the engine could not store (an I/O error): lost.
    public var hintStoreFailures = 0
    /// Hints received from coordinators and applied here.
    public var hintsReceived = 0
    /// The oldest hint this node has sent, as its age when sent (µs); a
    /// hint older than the hint window must never be sent.
    public var hintAgeMaxMicros: Int64 = 0
    public var lastRejection = ""
    /// Schema changes from peers this node could not adopt (a storage error).
    public var schemaFailures = 0
    /// Times the ring changed because gossip brought new or moved tokens.
    public var ringChanges = 0
    /// Tokens a peer claimed that another node already owns: ignored.
    public var tokenConflicts = 0
    /// Write journal entries kept after their write finished, because a hint
    /// for it was dropped or failed (the next start hints the write again).
    public var journalEntriesKept = 0
}

/// One Ringtail node. Confined: its driver calls it from one thread at a time.
public final class ClusterNode: @unchecked Sendable {
    public let configuration: NodeConfiguration
    public var id: NodeID { configuration.id }
    public internal(set) var schema: ClusterSchema
    /// The token ring as this node knows it: the ring it started with, and
    /// every node's tokens as gossip brings them.
    public internal(set) var ring: TokenRing
    public let engine: StorageEngine
    public let hintStore: HintStore
    public let journal: WriteJournal
    /// The append log, if configured.
    public let logService: LogService?
    // A node is driven by one thread at a time and no access to these spans
    // a callback, so the hottest skip the runtime exclusivity check.
    @exclusivity(unchecked) public internal(set) var statistics = NodeStatistics()
    let clock: Clock
    let fileSystem: FileSystem
    /// What a coordinator and a replica need of each table, by qualified
    /// name: one lookup per request or message instead of copying table and
    /// keyspace definitions (the engine's lookup by name copies them).
    struct TableRoute {
        /// The local table.
        var id: TableID
        var defaultTTLSeconds: Int32
        var replication: ReplicationStrategy
        var placement: ReplicaPlacement
    }
    @exclusivity(unchecked) var routes: [String: TableRoute] = [:]
    /// The datacenter of every node in the ring.
    var datacenters: [NodeID: String]
    /// Every other node known from the ring or gossip, ascending.
    var peers: [NodeID]
    /// When this node last pulled the schema from a peer whose digest differed.
    var schemaPulls: [NodeID: Instant] = [:]
    /// The placement version (see `placementVersion`) each peer was last placed at.
    var placedVersions: [NodeID: HeartbeatState] = [:]
    /// The schema's encoding and its digest as gossip carries it (hex),
    /// computed once per schema change.
    public internal(set) var schemaVersion = ""
    public internal(set) var schemaEncoded: [UInt8] = []
    var gossipRounds = 0
    var gossip: GossipState
    @exclusivity(unchecked) var detector: PhiAccrualFailureDetector
    @exclusivity(unchecked) var coordinator: Coordinator
    var entropy: SeededEntropy
    var deliveries: [NodeID: HintDeliveryInFlight] = [:]
    var hintMessageOwners: [UInt64: NodeID] = [:]
    /// Hint message ids live in the upper half so they never meet coordinator
    /// ids; like those, each incarnation starts its own range.
    var nextHintMessageID: UInt64 = 1 << 63
    var hintBudgetBytes = 0

    /// Opens (or creates) the node's storage, replays its commit log, and
    /// creates any table of `schema` it lacks.
    /// - Parameter generation: gossip generation; must grow at every restart.
    public init(configuration: NodeConfiguration, ring: TokenRing, schema: ClusterSchema, fileSystem: FileSystem,
                clock: Clock, generation: Int64, seed: UInt64) throws(StorageError) {
        self.configuration = configuration
        self.ring = ring
        var datacenters: [NodeID: String] = [:]
        for n in ring.nodes { datacenters[n] = ring.location(of: n)?.datacenter }
        self.datacenters = datacenters
        peers = ring.nodes.filter { $0 != configuration.id }
        self.schema = ClusterSchema()
        self.clock = clock
        self.fileSystem = fileSystem
        engine = try StorageEngine(directory: configuration.directory, fileSystem: fileSystem, clock: clock,
                                   options: configuration.engine)
        do {
            hintStore = try HintStore(engine: engine, clock: clock, options: configuration.hints)
            journal = try WriteJournal(engine: engine, clock: clock)
        } catch {
            try? engine.close()
            throw error
        }
        if let log = configuration.log {
            do {
                logService = try LogService(id: configuration.id, location: configuration.location, directory: configuration.directory,
                                            configuration: log, fileSystem: fileSystem, clock: clock,
                                            incarnation: UInt64(truncatingIfNeeded: generation), seed: seed ^ 0x6c6f67)
            } catch {
                try? engine.close()
                throw StorageError(code: .io, message: "the append log's metadata store: \(error)", path: error.path)
            }
        } else {
            logService = nil
        }
        gossip = GossipState(local: configuration.id, generation: generation)
        gossip.set("dc", configuration.location.datacenter)
        gossip.set("rack", configuration.location.rack)
        for (key, value) in configuration.advertised.sorted(by: { $0.key < $1.key }) { gossip.set(key, value) }
        let ownTokens = ring.tokens(of: configuration.id)
        gossip.set("status", ownTokens.isEmpty ? NodeStatus.joining : NodeStatus.normal)
        if !ownTokens.isEmpty { gossip.set("tokens", Self.format(tokens: ownTokens)) }
        detector = PhiAccrualFailureDetector(threshold: configuration.phiConvictThreshold,
                                             initialInterval: configuration.gossipInterval)
        // Message ids are unique across restarts: the generation (which grows
        // at every restart) picks the range. Replica answers still queued for
        // the previous incarnation then match nothing here.
        let incarnation = UInt64(truncatingIfNeeded: generation) & 0x7FFF_FFFF
        coordinator = Coordinator(local: configuration.id, options: configuration.coordinator,
                                  firstMessageID: incarnation << 32 | 1)
        nextHintMessageID = 1 << 63 | incarnation << 32
        entropy = SeededEntropy(seed: seed)
        do {
            let saved = try loadSchema()
            var merged = saved
            merged.merge(schema)
            self.schema = saved
            try adopt(merged, initial: true)
            try recoverJournal()
        } catch {
            try? engine.close()
            throw error
        }
    }

    /// The first timers; call once after init.
    public func start() -> [NodeEffect] {
        let now = clock.now()
        var effects: [NodeEffect] = [.setTimer(at: now + configuration.gossipInterval, .gossip),
                                     .setTimer(at: now + configuration.hintDeliveryInterval, .hintDelivery)]
        if let log = configuration.log {
            logService?.clientAddress = { [unowned self] node in self.gossipState(of: node)?.application["client"]?.value ?? "" }
            effects.append(.setTimer(at: now + log.tickInterval, .log))
        }
        return effects
    }

    /// Closes storage (final commit log sync). The node is unusable after.
    public func close() throws(StorageError) {
        logService?.close()
        try engine.close()
    }

    /// The process dies here: nothing more is written or synced (what the
    /// file system already holds stays, as after SIGKILL).
    public func kill() {
        logService?.close()
        engine.kill()
    }

    /// Whether this node's failure detector holds `peer` up (itself: always).
    public func isAlive(_ peer: NodeID) -> Bool {
        peer == id || detector.isAlive(peer, at: clock.now())
    }

    /// This node's wall clock, µs since the epoch (what it stamps writes with).
    public var wallClockMicros: Int64 { clock.wallMicros() }

    /// Client requests this node coordinates that are not finished yet.
    public var requestsInFlight: Int { coordinator.inFlight }

    /// Client writes not yet acknowledged or hinted for every replica.
    public var unfinishedWrites: [UInt64] { coordinator.unfinishedWrites }

    // MARK: Entry points

    /// A client request to coordinate. Always ends in one `.reply` effect,
    /// now or later.
    public func submit(request: UInt64, _ command: ClientCommand) -> [NodeEffect] {
        statistics.clientRequests += 1
        switch command {
        case .write(var write):
            guard let route = routes[write.table] else {
                return [.reply(request: request, .failed(.invalidRequest("unknown table \(write.table)")))]
            }
            do {
                write.update.normalize()
                try engine.options.limits.check(write.update)
            } catch {
                return [.reply(request: request, .failed(.invalidRequest(error.description)))]
            }
            // Stamp once here so every replica stores identical cells.
            write.update.stampLocalTimes(nowMicros: clock.wallMicros(), defaultTTLSeconds: route.defaultTTLSeconds)
            let context = replicaContext(key: write.update.key, route: route)
            return perform(coordinator.handle(.write(request: request, write, context), now: clock.now(),
                                              wallMicros: clock.wallMicros()))
        case .read(let read):
            guard let route = routes[read.table] else {
                return [.reply(request: request, .failed(.invalidRequest("unknown table \(read.table)")))]
            }
            guard !read.key.isEmpty, read.key.count <= engine.options.limits.partitionKeyBytesMax, read.limit >= 0 else {
                return [.reply(request: request, .failed(.invalidRequest(
                    "a read needs a partition key of 1 to \(engine.options.limits.partitionKeyBytesMax) bytes and a limit >= 0")))]
            }
            let context = replicaContext(key: read.key, route: route)
            return perform(coordinator.handle(.read(request: request, read, context), now: clock.now(),
                                              wallMicros: clock.wallMicros()))
        }
    }

    func replicaContext(key: [UInt8], route: TableRoute) -> ReplicaContext {
        let replicas = Array(route.placement.replicas(for: Murmur3.token(key)))
        let now = clock.now()
        var alive: [NodeID] = []
        alive.reserveCapacity(replicas.count)
        for r in replicas where r == id || detector.isAlive(r, at: now) { alive.append(r) }
        // Every node's datacenter (the ring is fixed): shared, not rebuilt per request.
        return ReplicaContext(replicas: replicas, alive: alive, datacenters: datacenters, strategy: route.replication,
                              localDatacenter: configuration.location.datacenter)
    }

    /// A frame from a peer (or from this node to itself). A frame that does
    /// not decode is counted and dropped; the node keeps running.
    public func receive(frame: [UInt8]) -> [NodeEffect] {
        statistics.framesReceived += 1
        let envelope: Envelope
        do {
            envelope = try WireCodec.decode(frame: frame, limits: configuration.wireLimits)
        } catch {
            statistics.framesRejected += 1
            statistics.lastRejection = error.description
            return []
        }
        let source = envelope.source
        switch envelope.message {
        case .gossipSyn(let syn):
            return receiveSyn(syn, from: source)
        case .gossipAck(let ack):
            return receiveAck(ack, from: source)
        case .gossipAck2(let ack2):
            return merge(ack2.states)
        case .mutation(let m):
            return [replicaWrite(m, from: source)]
        case .readRequest(let r):
            return [send(.readResponse(serveRead(r)), to: source)]
        case .mutationResponse(let response):
            if response.id >= 1 << 63 { return hintAcknowledged(response, from: source) }
            return perform(coordinator.handle(.mutationResponse(from: source, response), now: clock.now(),
                                              wallMicros: clock.wallMicros()))
        case .readResponse(let response):
            return perform(coordinator.handle(.readResponse(from: source, response), now: clock.now(),
                                              wallMicros: clock.wallMicros()))
        case .schemaPull:
            return [send(.schemaPush(SchemaPush(schema: schemaEncoded)), to: source)]
        case .schemaPush(let push):
            return receiveSchema(push, from: source)
        case .log(let bytes):
            guard let logService else {
                statistics.framesRejected += 1
                statistics.lastRejection = "append-log frame from \(source): this node runs no append log"
                return []
            }
            return perform(logService.receive(from: source, bytes: bytes))
        case .hello, .clientRequest, .clientResponse:
            // Connection-level messages: the driver handles them; a peer never sends them here.
            statistics.framesRejected += 1
            statistics.lastRejection = "unexpected \(envelope.message.kindName) from \(source) on the peer path"
            return []
        }
    }

    public func fire(_ timer: NodeTimer) -> [NodeEffect] {
        switch timer {
        case .gossip:
            return gossipRound() + [.setTimer(at: clock.now() + configuration.gossipInterval, .gossip)]
        case .hintDelivery:
            return deliverHints() + [.setTimer(at: clock.now() + configuration.hintDeliveryInterval, .hintDelivery)]
        case .coordinator(let t):
            return perform(coordinator.handle(.timer(t), now: clock.now(), wallMicros: clock.wallMicros()))
        case .log:
            guard let logService, let log = configuration.log else { return [] }
            return perform(logService.tick()) + [.setTimer(at: clock.now() + log.tickInterval, .log)]
        }
    }

    /// The log service's effects as node effects.
    func perform(_ effects: [LogEffect]) -> [NodeEffect] {
        effects.map { effect in
            switch effect {
            case .send(let target, let message):
                return send(.log(LogMessageCodec.encode(message)), to: target)
            case .reply(let request, let reply):
                return .replyLog(request: request, LogMessageCodec.encode(reply))
            }
        }
    }

    func send(_ message: Message, to target: NodeID) -> NodeEffect {
        .send(to: target, frame: WireCodec.encode(Envelope(source: id, message: message)))
    }

    /// Performs the coordinator's hint effects here and passes the rest on.
    func perform(_ effects: [CoordinatorEffect]) -> [NodeEffect] {
        var out: [NodeEffect] = []
        out.reserveCapacity(effects.count)
        // A write sends one message to every replica: encode it once.
        var lastEncoded: (message: Message, frame: [UInt8])?
        // A hint of this batch was dropped over budget or failed to store.
        var hintLost = false
        for effect in effects {
            switch effect {
            case .send(let target, let message):
                if lastEncoded?.message != message {
                    lastEncoded = (message, WireCodec.encode(Envelope(source: id, message: message)))
                }
                out.append(.send(to: target, frame: lastEncoded!.frame))
            case .storeHint(let target, let table, let update):
                do {
                    if case .droppedOverBudget = try hintStore.store(update, table: table, for: target) { hintLost = true }
                } catch {
                    statistics.hintStoreFailures += 1
                    hintLost = true
                }
            case .setTimer(let at, let timer):
                out.append(.setTimer(at: at, .coordinator(timer)))
            case .reply(let request, let result):
                out.append(.reply(request: request, result))
            case .journal(let entry):
                out.append(.recordJournal(entry))
            case .forgetJournal(let id, let timestamp):
                // A write whose hint was just dropped or failed keeps its
                // entry: it is then the only record for the replica that
                // lacks the write, and the next start hints it again. A
                // failed removal leaves the entry too (hinted again: harmless).
                if hintLost {
                    statistics.journalEntriesKept += 1
                } else {
                    try? journal.forget(id: id, timestamp: timestamp)
                }
            }
        }
        return out
    }
}
