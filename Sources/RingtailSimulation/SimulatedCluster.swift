// A whole cluster in one thread: real ClusterNodes (storage, coordinator,
// gossip, hints) driven by an event loop on virtual time, every message
// through the wire codec and a seeded network with per-link latency, loss
// and network partitions. Nodes crash (memory and unsynced disk lost) and
// restart. The simulator and the embedding facade both drive clusters
// through this type. See docs/internals/simulator.md.
import RingtailCore
import RingtailStorage
import RingtailWire
import RingtailCluster
import RingtailNode
import RingtailLog

public final class SimulatedCluster: @unchecked Sendable {
    /// Where node storage lives.
    public enum Storage: Sendable {
        /// A crashable in-memory file system per node: a crash loses what was not synced.
        case memory
        /// Real directories under `root`, one per node, through `fileSystem`.
        case directory(root: String, fileSystem: FileSystem)
    }

    public struct Options: Sendable {
        public var nodes: [(id: NodeID, location: NodeLocation)]
        public var tokensPerNode = TokenAllocator.defaultTokenCount
        /// The strategy the balanced token allocator optimizes for.
        public var allocationStrategy: ReplicationStrategy = .simple(replicationFactor: 3)
        public var latencies = LinkLatencies()
        /// Chance that any one message is lost.
        public var lossRate = 0.0
        public var seed: UInt64 = 1
        public var wallMicrosAtZero: Int64 = 1_767_225_600_000_000
        /// Wall-clock skew per node (default none).
        public var clockSkews: [NodeID: Duration] = [:]
        public var storage = Storage.memory
        /// Applied to every node's configuration before it starts.
        public var configure: @Sendable (inout NodeConfiguration) -> Void = { _ in }

        public init(nodes: [(id: NodeID, location: NodeLocation)]) { self.nodes = nodes }

        /// Nodes n1…nN dealt to datacenters dc1…dcD in turn, and within a
        /// datacenter to racks r1…rR in turn (the simulator's and the
        /// embedded cluster's layout).
        public static func dealt(nodes: Int, datacenters: Int, racksPerDatacenter: Int) -> [(id: NodeID, location: NodeLocation)] {
            precondition(nodes >= 1 && datacenters >= 1 && racksPerDatacenter >= 1)
            return (0..<nodes).map { i in
                let rack = (i / datacenters) % racksPerDatacenter
                return (NodeID("n\(i + 1)"), NodeLocation(datacenter: "dc\(i % datacenters + 1)", rack: "r\(rack + 1)"))
            }
        }
    }

    enum Event {
        case deliver(to: Int, incarnation: Int, frame: [UInt8])
        case timer(node: Int, incarnation: Int, NodeTimer)
        case action((SimulatedCluster) -> Void)
    }

    final class SimNode {
        let id: NodeID
        let location: NodeLocation
        let clock: SkewedClock
        let memory: CrashableFileSystem?
        var node: ClusterNode?
        /// Bumped at every crash or restart; events of an old incarnation are dropped.
        var incarnation = 0
        var generation: Int64 = 0

        init(id: NodeID, location: NodeLocation, clock: SkewedClock, memory: CrashableFileSystem?) {
            self.id = id
            self.location = location
            self.clock = clock
            self.memory = memory
        }
    }

    public let options: Options
    public let ring: TokenRing
    public let timeline: VirtualTimeline
    public private(set) var schema = ClusterSchema()
    // The event loop's hot state skips the runtime exclusivity check (about
    // a tenth of the simulator's instructions): one thread drives the loop,
    // and no access to these spans a callback (replies and scheduled actions
    // run with none held).
    @exclusivity(unchecked) var queue = EventQueue<Event>()
    @exclusivity(unchecked) var entropy: SeededEntropy
    @exclusivity(unchecked) var simNodes: [SimNode] = []
    @exclusivity(unchecked) var index: [NodeID: Int] = [:]
    /// The latency model of each directed link, source * nodes + target
    /// (looked up per message; the datacenter-pair lookup hashes strings).
    @exclusivity(unchecked) var linkModels: [LatencyModel] = []
    /// Directed links that drop every message (network partitions).
    @exclusivity(unchecked) var blocked = Set<Link>()
    var nextRequest: UInt64 = 1
    /// The id the next `submit` will return.
    public var nextRequestID: UInt64 { nextRequest }
    /// Where each in-flight client request went.
    @exclusivity(unchecked) var pendingRequests: [UInt64: Int] = [:]
    /// Replies not yet taken by `takeReply`. With an `onReply` handler,
    /// which sees every reply, only the one `execute` waits for is kept
    /// (a long run would otherwise hold every reply it ever made).
    @exclusivity(unchecked) var replies: [UInt64: ClientResult] = [:]
    var logReplies: [UInt64: LogClientReply] = [:]
    var executing: UInt64?
    /// Called for every reply, at the virtual instant it is made.
    public var onReply: ((UInt64, ClientResult) -> Void)?
    @exclusivity(unchecked) public private(set) var statistics = NetworkStatistics()
    /// FNV-1a over every event the loop processed: equal for equal seeds.
    @exclusivity(unchecked) public private(set) var traceHash: UInt64 = 0xcbf2_9ce4_8422_2325

    struct Link: Hashable { var source: Int; var target: Int }

    public struct NetworkStatistics: Hashable, Sendable {
        public var messagesSent = 0
        public var messagesDelivered = 0
        public var messagesLost = 0
        public var messagesBlocked = 0
        public var bytesSent = 0
        public var events = 0
    }

    public init(options: Options) throws(StorageError) {
        precondition(!options.nodes.isEmpty, "a cluster needs nodes")
        self.options = options
        entropy = SeededEntropy(seed: options.seed)
        timeline = VirtualTimeline(wallMicrosAtZero: options.wallMicrosAtZero)
        var ring = TokenRing.empty
        var allocation = SeededEntropy(seed: options.seed ^ 0x746F_6B65_6E73)
        for (id, location) in options.nodes {
            let tokens = TokenAllocator.balanced(for: id, location: location, count: options.tokensPerNode, ring: ring,
                                                 strategy: options.allocationStrategy, entropy: &allocation)
            ring = ring.adding(id, location: location, tokens: tokens)
        }
        self.ring = ring
        for (i, (id, location)) in options.nodes.enumerated() {
            let memory: CrashableFileSystem? = if case .memory = options.storage { CrashableFileSystem() } else { nil }
            simNodes.append(SimNode(id: id, location: location,
                                    clock: SkewedClock(timeline: timeline, skew: options.clockSkews[id] ?? .zero),
                                    memory: memory))
            index[id] = i
        }
        for s in simNodes {
            for t in simNodes { linkModels.append(options.latencies.model(from: s.location.datacenter, to: t.location.datacenter)) }
        }
        for i in simNodes.indices { try startNode(i) }
    }

    public var now: Instant { timeline.now }
    public var nodeIDs: [NodeID] { simNodes.map(\.id) }
    public func location(of node: NodeID) -> NodeLocation? { indexOf(node).map { simNodes[$0].location } }
    /// The running node, or nil while it is down.
    public func node(_ id: NodeID) -> ClusterNode? { indexOf(id).flatMap { simNodes[$0].node } }
    public func isRunning(_ id: NodeID) -> Bool { node(id) != nil }
    /// The running nodes, in cluster order.
    /// (Kept up to date as nodes stop and start: a workload asks per request.)
    public private(set) var runningNodeIDs: [NodeID] = []
    func refreshRunning() { runningNodeIDs = simNodes.compactMap { $0.node == nil ? nil : $0.id } }

    func fileSystem(_ i: Int) -> FileSystem {
        if let m = simNodes[i].memory { return m }
        if case .directory(_, let fs) = options.storage { return fs }
        fatalError("unreachable: storage is memory or directory")
    }

    func directory(_ i: Int) -> String {
        if case .directory(let root, _) = options.storage { return root + "/" + simNodes[i].id.name }
        return "/" + simNodes[i].id.name
    }

    func startNode(_ i: Int) throws(StorageError) {
        let s = simNodes[i]
        var config = NodeConfiguration(id: s.id, location: s.location, directory: directory(i))
        config.engine.background = .manual
        config.engine.syncMode = .batch
        config.engine.memtableBudget = .mebibytes(16)
        config.engine.blockCacheBytes = .mebibytes(1)
        options.configure(&config)
        let fs = fileSystem(i)
        if case .directory = options.storage {
            if !fs.fileExists(config.directory) { try? fs.createDirectory(config.directory) }
        } else if !fs.fileExists(config.directory) {
            do { try fs.createDirectory(config.directory) } catch { throw StorageError(code: .io, message: "\(error)") }
        }
        s.generation += 1
        s.incarnation += 1
        let node = try ClusterNode(configuration: config, ring: ring, schema: schema, fileSystem: fs, clock: s.clock,
                                   generation: s.generation, seed: options.seed &+ UInt64(i) &* 0x9E37_79B9 &+ UInt64(s.generation))
        s.node = node
        refreshRunning()
        perform(node.start(), from: i)
    }

    // MARK: Schema

    /// Adds a keyspace on every node (running ones now, stopped ones when they restart).
    public func create(_ keyspace: KeyspaceDefinition) throws(RequestError) {
        var next = schema
        try next.add(keyspace)
        try adopt(next)
    }

    public func create(_ table: TableDefinition) throws(RequestError) {
        var next = schema
        try next.add(table)
        try adopt(next)
    }

    func adopt(_ next: ClusterSchema) throws(RequestError) {
        for s in simNodes {
            do { try s.node?.update(schema: next) } catch { throw .invalidRequest("\(s.id): \(error.description)") }
        }
        schema = next
    }

    // MARK: Client requests

    /// Sends a client request to `coordinator`; its reply arrives later
    /// through `onReply` and `takeReply`. A down coordinator answers
    /// `.coordinatorLost` at once.
    @discardableResult
    public func submit(_ command: ClientCommand, to coordinator: NodeID) -> UInt64 {
        let request = nextRequest
        nextRequest += 1
        guard let i = indexOf(coordinator), let node = simNodes[i].node else {
            deliverReply(request, .failed(.coordinatorLost))
            return request
        }
        pendingRequests[request] = i
        perform(node.submit(request: request, command), from: i)
        return request
    }

    /// Takes the reply to `request` if it has arrived.
    public func takeReply(_ request: UInt64) -> ClientResult? { replies.removeValue(forKey: request) }

    /// Sends an append-log request to `node`; its reply arrives later in
    /// `takeLogReply`. A down node answers at once with `.failed`.
    @discardableResult
    public func submit(_ request: LogClientRequest, to target: NodeID) -> UInt64 {
        let id = nextRequest
        nextRequest += 1
        guard let i = indexOf(target), let node = simNodes[i].node else {
            logReplies[id] = .failed("\(target) is down")
            return id
        }
        pendingRequests[id] = i
        let (effects, answer) = node.handle(client: ClientRequest(id: id, operation: .log(LogMessageCodec.encode(request))), as: id)
        if case .error(let e)? = answer { logReplies[id] = .failed(e.message) }
        perform(effects, from: i)
        return id
    }

    public func takeLogReply(_ request: UInt64) -> LogClientReply? { logReplies.removeValue(forKey: request) }

    /// Submits a log request and runs the cluster until it is answered or
    /// `limit` of virtual time passes (then `.failed`).
    public func execute(_ request: LogClientRequest, at target: NodeID, limit: Duration = .seconds(30)) -> LogClientReply {
        let id = submit(request, to: target)
        let deadline = now + limit
        while logReplies[id] == nil, let next = queue.nextTime, next <= deadline { step() }
        return takeLogReply(id) ?? .failed("no answer within \(limit)")
    }

    /// Submits and runs the cluster until the reply (or until `limit` of
    /// virtual time passes, which a coordinator's timeouts make impossible
    /// unless it crashes).
    public func execute(_ command: ClientCommand, at coordinator: NodeID, limit: Duration = .seconds(60)) -> ClientResult {
        executing = nextRequest  // the id submit hands out (it may reply at once)
        defer { executing = nil }
        let request = submit(command, to: coordinator)
        let deadline = now + limit
        while replies[request] == nil, let next = queue.nextTime, next <= deadline {
            step()
        }
        return takeReply(request) ?? .failed(.coordinatorLost)
    }

    func deliverReply(_ request: UInt64, _ result: ClientResult) {
        pendingRequests[request] = nil
        if onReply == nil || executing == request { replies[request] = result }
        mix(0x52, UInt64(truncatingIfNeeded: request))
        onReply?(request, result)
    }

    // MARK: Event loop

    /// Runs one event; false if there is none.
    @discardableResult
    public func step() -> Bool {
        guard let entry = queue.pop() else { return false }
        timeline.move(to: entry.time)
        statistics.events += 1
        mix(0x45, UInt64(bitPattern: entry.time.nanoseconds))
        switch entry.payload {
        case .deliver(let target, let incarnation, let frame):
            let s = simNodes[target]
            guard s.incarnation == incarnation, let node = s.node else {
                statistics.messagesLost += 1
                return true
            }
            statistics.messagesDelivered += 1
            perform(node.receive(frame: frame), from: target)
        case .timer(let i, let incarnation, let timer):
            let s = simNodes[i]
            guard s.incarnation == incarnation, let node = s.node else { return true }
            perform(node.fire(timer), from: i)
        case .action(let action):
            action(self)
        }
        return true
    }

    /// Runs every event up to and including `instant`, then moves time there.
    public func run(until instant: Instant) {
        while let next = queue.nextTime, next <= instant { step() }
        if instant > now { timeline.move(to: instant) }
    }

    public func run(for duration: Duration) { run(until: now + duration) }

    /// Schedules `action` on the loop at `instant` (fault schedules, workloads).
    public func schedule(at instant: Instant, _ action: @escaping (SimulatedCluster) -> Void) {
        queue.push(.action(action), at: max(instant, now))
    }

    func perform(_ effects: [NodeEffect], from i: Int) {
        for effect in effects {
            switch effect {
            case .send(let target, let frame):
                send(frame, from: i, to: target)
            case .setTimer(let at, let timer):
                queue.push(.timer(node: i, incarnation: simNodes[i].incarnation, timer), at: at,
                           lane: i * Self.timerLanes + Self.lane(of: timer))
            case .reply(let request, let result):
                deliverReply(request, result)
            case .replyLog(let request, let bytes):
                pendingRequests[request] = nil
                mix(0x4c, UInt64(truncatingIfNeeded: request))
                logReplies[request] = (try? LogMessageCodec.decodeClientReply(bytes)) ?? .failed("reply does not decode")
            case .applyReplicaWrite(let write):
                // One thread, so at once: the node's storage syncs inline.
                guard let node = simNodes[i].node else { continue }
                perform(node.finish(write, node.apply(write)), from: i)
            case .recordJournal(let entry):
                // A little later, as a real node's thread pool and group
                // commit would: the replicas' answers may come first, and a
                // crash in between loses the entry (and the answer it held).
                let incarnation = simNodes[i].incarnation
                queue.push(.action { c in
                    guard c.simNodes[i].incarnation == incarnation, let node = c.simNodes[i].node else { return }
                    c.perform(node.journaled(entry.id, stored: node.record(entry)), from: i)
                }, at: now + Self.journalDelay)
            case .gossipToSeed:
                break  // simulated nodes all know the whole ring
            }
        }
    }

    /// How long a journal entry takes to become durable (a group commit).
    public static let journalDelay: Duration = .microseconds(400)

    /// Timers of one kind on one node are mostly set a fixed delay ahead,
    /// so each kind gets its own lane of the agenda (see EventQueue).
    static let timerLanes = 6
    static func lane(of timer: NodeTimer) -> Int {
        switch timer {
        case .coordinator(.writeTimeout): return 0
        case .coordinator(.readTimeout): return 1
        case .coordinator(.speculativeRetry): return 2
        case .gossip: return 3
        case .hintDelivery: return 4
        case .log: return 5
        }
    }

    /// The index of a node: a scan of a few names beats hashing one.
    @inline(__always) func indexOf(_ id: NodeID) -> Int? {
        if simNodes.count > 8 { return index[id] }
        for k in simNodes.indices where simNodes[k].id == id { return k }
        return nil
    }

    func send(_ frame: [UInt8], from i: Int, to target: NodeID) {
        guard let t = indexOf(target) else { return }
        statistics.messagesSent += 1
        statistics.bytesSent += frame.count
        // The frame's CRC stands in for its bytes in the trace.
        mix(UInt64(i) << 32 | UInt64(t), UInt64(WireCodec.readUInt32(frame, at: 4)))
        if i != t {
            if !blocked.isEmpty && blocked.contains(Link(source: i, target: t)) {
                statistics.messagesBlocked += 1
                return
            }
            if options.lossRate > 0 && entropy.chance(options.lossRate) {
                statistics.messagesLost += 1
                return
            }
        }
        let delay: Duration = i == t ? .zero : linkModels[i * simNodes.count + t].sample(&entropy)
        queue.push(.deliver(to: t, incarnation: simNodes[t].incarnation, frame: frame), at: now + delay)
    }

    func mix(_ a: UInt64, _ b: UInt64) {
        var h = (traceHash ^ a) &* 0x0000_0100_0000_01B3
        h ^= h >> 29
        h = (h ^ b) &* 0x0000_0100_0000_01B3
        h ^= h >> 29
        traceHash = h
    }

    // MARK: Faults

    /// Kills `node` at once: its memory and (on the in-memory file system)
    /// every unsynced byte are lost; requests it coordinated never answer.
    public func crash(_ id: NodeID) {
        guard let i = indexOf(id), let node = takeDown(i) else { return }
        simNodes[i].memory?.crash(afterOperations: 0)
        node.kill()
        mix(0x43, UInt64(i))
    }

    /// Removes node `i` from the running set: its counters are kept in
    /// `retired`, events for it are dropped from now on, and the requests it
    /// coordinated are lost (they will never be answered).
    func takeDown(_ i: Int) -> ClusterNode? {
        guard let node = simNodes[i].node else { return nil }
        retire(node)
        simNodes[i].node = nil
        refreshRunning()
        simNodes[i].incarnation += 1
        for (request, coordinator) in pendingRequests.sorted(by: { $0.key < $1.key }) where coordinator == i {
            pendingRequests[request] = nil
            lostRequests.append(request)
        }
        return node
    }

    /// What a node instance counted before it crashed or stopped (its
    /// counters start over when it restarts), and the writes it left
    /// unfinished with no journal to recover them (journaling off).
    public private(set) var retired: [(node: NodeID, statistics: NodeStatistics, hints: HintStore.Statistics,
                                       unfinishedWrites: [UInt64])] = []

    func retire(_ node: ClusterNode) {
        // With the write journal on, a restart hints whatever the node left
        // unfinished, so nothing is exempt from convergence.
        retired.append((node.id, node.statistics, node.hintStore.statistics,
                        node.configuration.coordinator.journal ? [] : node.unfinishedWrites))
    }

    /// Requests whose coordinator crashed before answering (drained by the caller).
    public var lostRequests: [UInt64] = []

    /// Restarts a crashed or stopped node: torn unsynced tails are cut on
    /// the in-memory file system, the commit log is replayed, gossip starts
    /// with a new generation.
    public func restart(_ id: NodeID) throws(StorageError) {
        guard let i = indexOf(id), simNodes[i].node == nil else { return }
        if let m = simNodes[i].memory {
            var tear = SeededEntropy(seed: entropy.next())
            m.recoverFromCrash(entropy: &tear)
        }
        mix(0x52_53, UInt64(i))
        try startNode(i)
    }

    /// Stops a node cleanly: flushes nothing, but syncs and closes storage.
    public func stop(_ id: NodeID) throws(StorageError) {
        guard let i = indexOf(id), let node = takeDown(i) else { return }
        try node.close()
    }

    /// Cuts every link between the two groups, both ways (a symmetric network partition).
    public func partition(_ a: [NodeID], _ b: [NodeID]) {
        for x in a { for y in b { block(from: x, to: y); block(from: y, to: x) } }
    }

    /// Drops every message from `source` to `target` (one way).
    public func block(from source: NodeID, to target: NodeID) {
        guard let s = indexOf(source), let t = indexOf(target), s != t else { return }
        blocked.insert(Link(source: s, target: t))
        mix(0x42, UInt64(s) << 32 | UInt64(t))
    }

    /// Restores every link.
    public func heal() {
        blocked.removeAll()
        mix(0x48, 0)
    }

    /// Whether messages from `source` reach `target` now.
    public func isLinked(_ source: NodeID, _ target: NodeID) -> Bool {
        guard let s = indexOf(source), let t = indexOf(target) else { return false }
        return !blocked.contains(Link(source: s, target: t))
    }

    /// Closes every running node (final commit log sync).
    public func shutdown() {
        for i in simNodes.indices { try? takeDown(i)?.close() }
    }
}
