// The driver of one real node: it owns a ClusterNode on one SwiftNIO event
// loop and performs its effects (frames to peers over TCP, timers on the
// loop, replies to clients), runs replica writes on a thread pool so that
// concurrent writes share commit log syncs, keeps node.state, joins the
// ring through the seeds, and drains, flushes and closes on stop.
// Connections: PeerLinks.swift and NodeServer+Connections.swift.
import Foundation
import NIOCore
import NIOPosix
import Logging
import RingtailCore
import RingtailStorage
import RingtailWire
import RingtailCluster
import RingtailNode
import RingtailPosix

/// A running node process's server. Every method but `start`, `stop` and
/// `waitUntilStopped` runs on `loop`; they hop there themselves.
public final class NodeServer: @unchecked Sendable {
    public let configuration: ServerConfiguration
    public let logger: Logger
    let group: MultiThreadedEventLoopGroup
    let loop: EventLoop
    let pool: NIOThreadPool
    let clock = SystemClock()
    let fileSystem = PosixFileSystem()
    var node: ClusterNode!
    var generation: Int64 = 0
    var links: [Endpoint: PeerLink] = [:]
    /// Listen addresses of peers, from their hellos and their gossip.
    var addresses: [NodeID: Endpoint] = [:]
    /// Client requests in flight: our request id -> (session, the client's id, partition key).
    var pendingClients: [UInt64: (session: ClientSession, id: UInt64, key: [UInt8])] = [:]
    var nextRequest: UInt64 = 1
    /// Channels written since the last flush.
    var unflushed: [ObjectIdentifier: Channel] = [:]
    var listeners: [Channel] = []
    var alive: Set<NodeID> = []
    var savedState: NodeStateFile?
    /// `ringChanges` when node.state was last considered.
    var savedRingChanges = 0
    var stopping = false
    /// Storage is closed: nothing may touch the node any more.
    var storageClosed = false
    /// Fault injection (`isolate`): every peer frame in and out is dropped.
    var isolated = false
    var stopped: EventLoopPromise<Void>
    var replicaWritesInFlight = 0
    /// Replica writes and journal entries waiting for this loop turn's batch.
    var batchedWrites: [ReplicaWrite] = []
    var batchedJournal: [JournalEntry] = []
    var batchScheduled = false
    /// Nesting depth of `perform`: writes are flushed when it returns to 0.
    var performing = 0

    /// Most client requests in flight on one node; beyond, requests are refused as overloaded.
    static let clientRequestsMax = 65_536

    public init(configuration: ServerConfiguration, logger: Logger) {
        self.configuration = configuration
        var logger = logger
        logger[metadataKey: "node"] = "\(configuration.nodeName)"
        self.logger = logger
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        loop = group.next()
        pool = NIOThreadPool(numberOfThreads: configuration.replicaWriteThreads)
        stopped = loop.makePromise()
    }

    /// Opens storage (replaying the commit log), binds both listeners and
    /// starts gossip. Throws if storage or a port cannot be used.
    public func start() throws {
        pool.start()
        try loop.submit { try self.startOnLoop() }.wait()
        let clientListener = try bind(configuration.clientAddress, role: .client)
        let peerListener = try bind(configuration.listenAddress, role: .peer)
        try loop.submit {
            self.listeners = [peerListener, clientListener]
            self.perform(self.node.start())
            self.scheduleHousekeeping()
            if !self.node.isJoined { self.scheduleJoin(deadline: .now() + .nanoseconds(self.configuration.joinWait.nanosecondsClamped)) }
        }.wait()
        logger.info("listening", metadata: ["peers": "\(configuration.listenAddress)", "clients": "\(configuration.clientAddress)",
                                            "generation": "\(generation)", "datacenter": "\(configuration.datacenter)",
                                            "rack": "\(configuration.rack)"])
    }

    func startOnLoop() throws {
        let directory = configuration.dataDirectory
        if !fileSystem.fileExists(directory) { try createDirectories(directory) }
        let statePath = Path.join(directory, NodeStateFile.name)
        let wallSeconds = clock.wallMicros() / 1_000_000
        var ring = TokenRing.empty
        if fileSystem.fileExists(statePath) {
            let saved = try NodeStateFile(decoding: try fileSystem.readFile(statePath))
            generation = max(saved.generation + 1, wallSeconds)
            ring = saved.ring
            savedState = saved
        } else {
            generation = wallSeconds
        }
        let me = NodeID(configuration.nodeName)
        let location = NodeLocation(datacenter: configuration.datacenter, rack: configuration.rack)
        if ring.tokens(of: me).isEmpty && !configuration.initialTokens.isEmpty {
            let free = configuration.initialTokens.filter { ring.tokenOwners[$0] == nil }
            ring = ring.adding(me, location: location, tokens: free)
        }
        let started = clock.now()
        node = try ClusterNode(configuration: configuration.nodeConfiguration, ring: ring, schema: ClusterSchema(),
                               fileSystem: fileSystem, clock: clock, generation: generation,
                               seed: UInt64(bitPattern: clock.wallMicros()) ^ UInt64(getpid()))
        let replayed = node.engine.statistics.replayedMutations
        logger.info("storage open", metadata: ["directory": "\(directory)", "replayed": "\(replayed)",
                                               "ms": "\((clock.now() - started).microsecondsClamped / 1000)",
                                               "tokens": "\(node.ring.tokens(of: me).count)"])
        try saveState()
    }

    func createDirectories(_ path: String) throws {
        var built = path.hasPrefix("/") ? "" : "."
        for part in path.split(separator: "/") {
            built += "/" + part
            if !fileSystem.fileExists(built) { try fileSystem.createDirectory(built) }
        }
    }

    func saveState() throws {
        let state = NodeStateFile(generation: generation, ring: node.ring)
        guard state != savedState else { return }
        try fileSystem.writeAtomically(Path.join(configuration.dataDirectory, NodeStateFile.name), bytes: state.encoded())
        savedState = state
    }

    func bind(_ endpoint: Endpoint, role: Hello.Role) throws -> Channel {
        let limit = configuration.frameBytesMax
        return try ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(FrameDecoder(frameBytesMax: limit)))
                    try channel.pipeline.syncOperations.addHandler(InboundHandler(server: self, expected: role))
                }
            }
            .bind(host: endpoint.host, port: endpoint.port).wait()
    }

    // MARK: Effects

    func perform(_ effects: [NodeEffect]) {
        performing += 1
        defer {
            performing -= 1
            if performing == 0 { flushWrites() }
        }
        for effect in effects {
            switch effect {
            case .send(let target, let frame):
                if target == node.id {
                    loop.execute {
                        guard !self.storageClosed else { return }
                        self.perform(self.node.receive(frame: frame))
                    }
                } else {
                    send(frame, to: target)
                }
            case .gossipToSeed(let frame):
                let seeds = configuration.seeds.filter { $0 != configuration.listenAddress }
                if let seed = seeds.randomElement() { send(frame, to: link(for: seed)) }
            case .setTimer(let at, let timer):
                let delay = max(0, (at - clock.now()).nanosecondsClamped)
                loop.scheduleTask(in: .nanoseconds(delay)) {
                    guard !self.storageClosed else { return }
                    self.perform(self.node.fire(timer))
                }
            case .reply(let request, let result):
                replyToClient(request, result)
            case .replyLog(let request, let bytes):
                guard let (session, id, _) = pendingClients.removeValue(forKey: request) else { continue }
                respond(session, id, .log(bytes))
            case .applyReplicaWrite(let write):
                batchedWrites.append(write)
                scheduleBatch()
            case .recordJournal(let entry):
                batchedJournal.append(entry)
                scheduleBatch()
            }
        }
    }

    /// Replica writes and journal entries are applied in batches: what one
    /// turn of the event loop asked for (every frame its reads decoded) goes
    /// to the thread pool as one task with one wait for the commit log, not
    /// one hand-off and one wait per write.
    func scheduleBatch() {
        guard !batchScheduled else { return }
        batchScheduled = true
        loop.execute { self.dispatchBatch() }
    }

    func dispatchBatch() {
        batchScheduled = false
        guard !batchedWrites.isEmpty || !batchedJournal.isEmpty else { return }
        let (writes, entries) = (batchedWrites, batchedJournal)
        batchedWrites.removeAll(keepingCapacity: true)
        batchedJournal.removeAll(keepingCapacity: true)
        replicaWritesInFlight += 1
        let node = self.node!
        pool.runIfActive(eventLoop: loop) { node.apply(writes, journal: entries) }.whenComplete { result in
            self.replicaWritesInFlight -= 1
            let (responses, stored) = (try? result.get()) ?? (
                writes.map { MutationResponse(id: $0.messageID, failure: "\(node.id) is stopping") },
                entries.map { _ in false })
            self.perform(zip(writes, responses).flatMap { node.finish($0, $1) }
                         + zip(entries, stored).flatMap { node.journaled($0.id, stored: $1) })
        }
    }

    func send(_ frame: [UInt8], to target: NodeID) {
        // A peer with no known address yet: dropped, as the network would (the coordinator times out and hints).
        guard let endpoint = address(of: target) else { return }
        send(frame, to: link(for: endpoint))
    }

    func address(of node: NodeID) -> Endpoint? {
        if let known = addresses[node] { return known }
        guard let text = self.node.gossipState(of: node)?.application["addr"]?.value, let e = Endpoint(text) else { return nil }
        addresses[node] = e
        return e
    }

    func flushWrites() {
        guard !unflushed.isEmpty else { return }
        for channel in unflushed.values { channel.flush() }
        unflushed.removeAll(keepingCapacity: true)
    }

    // MARK: Joining and housekeeping

    /// Until this node owns tokens: once it knows other nodes' tokens (or
    /// the wait is over and it is a seed or has no seeds), it allocates its
    /// own, balanced for the configured replication factor, and gossips them.
    func scheduleJoin(deadline: NIODeadline) {
        loop.scheduleTask(in: .milliseconds(200)) {
            guard !self.stopping, !self.node.isJoined else { return }
            let ring = self.node.ring
            let learned = !ring.isEmpty
            // Every peer heard of has gossiped its tokens (or says it is joining too).
            let settled = learned && self.node.knownPeers.allSatisfy { peer in
                let status = self.node.gossipState(of: peer)?.application["status"]?.value
                return status == NodeStatus.joining || ring.location(of: peer) != nil
            }
            let waited = NIODeadline.now() >= deadline
            let isSeed = self.configuration.seeds.isEmpty || self.configuration.seeds.contains(self.configuration.listenAddress)
            if (learned && (settled || waited)) || (!learned && waited && isSeed) {
                self.allocateTokens()
            } else if waited {
                self.logger.warning("no seed has answered; waiting to learn the ring before taking tokens",
                                    metadata: ["seeds": "\(self.configuration.seeds.map(\.description))"])
                self.scheduleJoin(deadline: .now() + .seconds(5))
            } else {
                self.scheduleJoin(deadline: deadline)
            }
        }
    }

    func allocateTokens() {
        let me = node.id
        let location = NodeLocation(datacenter: configuration.datacenter, rack: configuration.rack)
        var entropy = SeededEntropy(seed: UInt64(bitPattern: clock.wallMicros()))
        // The allocator is a function of the ring: two nodes joining at once
        // from the same ring would choose the same tokens. A small random
        // shift (under 2^-31 of the ring) keeps them apart at no cost to balance.
        let taken = Set(node.ring.tokens)
        let tokens = TokenAllocator.balanced(for: me, location: location, count: configuration.numTokens, ring: node.ring,
                                             strategy: .simple(replicationFactor: configuration.allocateTokensForReplicationFactor),
                                             entropy: &entropy)
            .map { t in
                let shifted = t &+ Int64(entropy.next(below: 1 << 32)) &- (1 << 31)
                return shifted == Murmur3.minimumToken || taken.contains(shifted) ? t : shifted
            }
        node.assign(tokens: tokens)
        do { try saveState() } catch { logger.error("could not write node.state: \(error)") }
        logger.info("joined the ring", metadata: ["tokens": "\(tokens.count)", "ring_nodes": "\(node.ring.nodes.count)"])
    }

    /// Once a second: log peers going up and down, keep node.state current.
    func scheduleHousekeeping() {
        loop.scheduleTask(in: .seconds(1)) {
            guard !self.stopping else { return }
            for peer in self.node.knownPeers {
                let up = self.node.isAlive(peer)
                if up != self.alive.contains(peer) {
                    if up { self.alive.insert(peer) } else { self.alive.remove(peer) }
                    self.logger.notice("peer is \(up ? "UP" : "DOWN")", metadata: ["peer": "\(peer)"])
                    // Back up: connect on the next frame instead of waiting
                    // out a backoff earned while it was down (frames for a
                    // link that backs off are dropped).
                    if up, let e = self.address(of: peer), let link = self.links[e] { self.resetBackoff(link) }
                }
            }
            // node.state holds the ring: rewrite it only when the ring moved.
            if self.node.statistics.ringChanges != self.savedRingChanges {
                self.savedRingChanges = self.node.statistics.ringChanges
                do { try self.saveState() } catch { self.logger.error("could not write node.state: \(error)") }
            }
            self.scheduleHousekeeping()
        }
    }

    // MARK: Stopping

    /// Stops gracefully: refuses new connections, waits for requests in
    /// flight (up to the drain timeout), flushes memtables, closes storage
    /// (a final commit log sync) and the connections. Safe to call twice.
    public func stop() {
        loop.execute {
            guard !self.stopping else { return }
            self.stopping = true
            guard self.node != nil else {
                self.stopped.succeed(())  // start failed before storage opened
                return
            }
            self.logger.info("stopping: draining requests in flight")
            for l in self.listeners { l.close(promise: nil) }
            self.perform(self.node.announceShutdown())
            self.drain(until: .now() + .nanoseconds(self.configuration.drainTimeout.nanosecondsClamped))
        }
    }

    func drain(until deadline: NIODeadline) {
        // Replica writes in flight are waited for whatever the deadline:
        // storage must not close under a thread still applying one.
        if replicaWritesInFlight > 0 || batchScheduled || (node.requestsInFlight > 0 && NIODeadline.now() < deadline) {
            loop.scheduleTask(in: .milliseconds(20)) { self.drain(until: deadline) }
            return
        }
        if node.requestsInFlight > 0 {
            logger.warning("stopping with requests still in flight", metadata: ["requests": "\(node.requestsInFlight)"])
        }
        let node = self.node!
        storageClosed = true
        pool.runIfActive(eventLoop: loop) { () throws -> Void in
            try node.engine.flush()
            try node.close()
        }.whenComplete { result in
            switch result {
            case .success: self.logger.info("flushed and closed storage")
            case .failure(let e): self.logger.error("closing storage failed: \(e)")
            }
            for link in self.links.values { link.channel?.close(promise: nil) }
            for session in self.pendingClients.values { session.session.channel.close(promise: nil) }
            if case .failure(let e) = result { self.stopped.fail(e) } else { self.stopped.succeed(()) }
        }
    }

    /// Blocks until `stop()` has finished; throws if closing storage failed.
    public func waitUntilStopped() throws {
        defer {
            try? pool.syncShutdownGracefully()
            try? group.syncShutdownGracefully()
        }
        try stopped.futureResult.wait()
    }
}
