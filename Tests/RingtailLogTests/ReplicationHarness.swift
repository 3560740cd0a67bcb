// A seeded, single-threaded world for partition replication: N nodes each
// with a partition log on its own in-memory file system, a metadata image
// standing in for the committed metadata log (the "controller" applies
// proposals and fencing at once and tells every replica), and a queue of
// fetches and answers delivered in a seeded order. Nodes can be killed
// (SIGKILL: written bytes stay) and restarted from their files.
import RingtailCore
import RingtailSimulation
@testable import RingtailLog

final class ReplicationWorld {
    let topic = "t"
    let nodes: [NodeID]
    var image = MetadataImage()
    var files: [NodeID: CrashableFileSystem] = [:]
    var replicas: [NodeID: PartitionReplica] = [:]
    var down: Set<NodeID> = []
    var incarnations: [NodeID: UInt64] = [:]
    let clock = ManualClock()
    var entropy: SeededEntropy
    var config = ReplicationConfig()
    let minIsr: Int
    /// Messages in flight: a fetch (follower → leader) or its answer.
    enum Message {
        case fetch(from: NodeID, to: NodeID, FetchRequest, id: UInt64)
        case answer(to: NodeID, FetchResponse, from: NodeID)
        /// Committed metadata reaching a node, late and in any order relative to fetches.
        case metadata(to: NodeID, PartitionState)
    }
    /// Nodes cut off from everyone (a network partition or SIGSTOP): their
    /// messages are lost, and the controller fences them.
    var isolated: Set<NodeID> = []
    /// Nodes cut off from the controller only: fenced, blind to metadata, but
    /// still fetching from and serving the other replicas.
    var controllerOnly: Set<NodeID> = []
    var queue: [Message] = []
    /// The topic syncs every batch before it counts (`--flush-every-batch`).
    var flushEveryBatch = false
    var nextID: UInt64 = 1
    /// Produce answers by request id.
    var produceAnswers: [UInt64: ProduceResponse] = [:]
    var pendingFetchOwners: [UInt64: NodeID] = [:]
    /// Ids of produces sent with acks=all.
    var acksAll: Set<UInt64> = []

    init(nodes count: Int, minIsr: Int = 2, seed: UInt64) {
        nodes = (1...count).map { NodeID("n\($0)") }
        entropy = SeededEntropy(seed: seed)
        self.minIsr = minIsr
        config.replicaLagMax = .seconds(2)
        config.fetchBackoff = .milliseconds(100)
        for node in nodes {
            files[node] = CrashableFileSystem()
            incarnations[node] = 1
            image.apply(.registerBroker(node: node, incarnation: 1, location: NodeLocation(datacenter: "dc1", rack: node.name)))
        }
        image.apply(.createTopic(name: topic, config: TopicConfig(partitions: 1, replicationFactor: count, minInsyncReplicas: minIsr)))
        for node in nodes { open(node) }
        broadcastMetadata()
    }

    var state: PartitionState { image.partition(topic, 0)! }
    var leader: NodeID? { state.leader }

    func open(_ node: NodeID) {
        var logConfig = LogConfig()
        logConfig.segmentBytes = 2048
        let log = try! PartitionLog(directory: "/data/\(topic)-0", config: logConfig, fileSystem: files[node]!, clock: clock)
        replicas[node] = PartitionReplica(topic: topic, partition: 0, node: node, log: log, config: config)
        down.remove(node)
    }

    /// SIGKILL: the process and its parked requests vanish; its files stay.
    func kill(_ node: NodeID) {
        replicas[node]!.log.close()
        replicas[node] = nil
        down.insert(node)
        queue.removeAll {
            switch $0 {
            case .fetch(let from, let to, _, _): from == node || to == node
            case .answer(let to, _, let from): to == node || from == node
            case .metadata(let to, _): to == node
            }
        }
        // The controller notices the lost session.
        image.apply(.fenceBroker(node: node, incarnation: incarnations[node]!))
        broadcastMetadata()
    }

    func restart(_ node: NodeID) {
        open(node)
        incarnations[node]! += 1
        image.apply(.registerBroker(node: node, incarnation: incarnations[node]!, location: NodeLocation(datacenter: "dc1", rack: node.name)))
        broadcastMetadata()
    }

    /// Every live node learns the current metadata: at once when `delayed`
    /// is off, else through the queue, after other messages.
    var delayedMetadata = false

    func broadcastMetadata() {
        for node in nodes where !down.contains(node) {
            if delayedMetadata {
                queue.append(.metadata(to: node, state))
            } else {
                perform(node, replicas[node]!.handle(.metadata(state, minInsyncReplicas: minIsr, flushEveryBatch: flushEveryBatch), now: clock.now()))
            }
        }
    }

    /// Power loss on every node at once: processes gone without a sync, and
    /// each file system keeps only what was synced (plus a seeded torn tail).
    func powerLoss(seed: UInt64) {
        var entropy = SeededEntropy(seed: seed)
        for node in nodes {
            replicas[node] = nil // no close: closing would sync
            files[node]!.recoverFromCrash(entropy: &entropy)
        }
        queue.removeAll()
        for node in nodes { open(node) }
        broadcastMetadata()
    }

    /// Cuts a node off; the controller fences it. It keeps running on what it knew.
    func isolate(_ node: NodeID, controllerOnly fromControllerOnly: Bool = false) {
        if fromControllerOnly { controllerOnly.insert(node) } else { isolated.insert(node) }
        image.apply(.fenceBroker(node: node, incarnation: incarnations[node]!))
        broadcastMetadata()
    }

    func reconnect(_ node: NodeID) {
        isolated.remove(node)
        controllerOnly.remove(node)
        image.apply(.registerBroker(node: node, incarnation: incarnations[node]!, location: NodeLocation(datacenter: "dc1", rack: node.name)))
        broadcastMetadata()
        // What it missed while cut off, it learns now.
        queue.append(.metadata(to: node, state))
    }

    func perform(_ node: NodeID, _ effects: [PartitionEffect]) {
        for effect in effects {
            switch effect {
            case .replyProduce(let id, let response):
                produceAnswers[id] = response
            case .replyFetch(let id, let response):
                if let owner = pendingFetchOwners.removeValue(forKey: id) { queue.append(.answer(to: owner, response, from: node)) }
            case .sendFetch(let to, let request):
                let id = nextID
                nextID += 1
                queue.append(.fetch(from: node, to: to, request, id: id))
            case .proposeIsr(let isr, let leaderEpoch, let partitionEpoch):
                image.apply(.alterPartition(topic: topic, partition: 0, leader: node, leaderEpoch: leaderEpoch,
                                            partitionEpoch: partitionEpoch, isr: isr))
                broadcastMetadata()
            }
        }
    }

    /// Sends a produce to the current leader; returns its request id, or nil if there is no leader.
    @discardableResult
    func produce(_ batch: [UInt8], acks: Acks, to target: NodeID? = nil) -> UInt64? {
        guard let leader = target ?? leader, !down.contains(leader) else { return nil }
        let id = nextID
        nextID += 1
        if acks == .all { acksAll.insert(id) }
        perform(leader, replicas[leader]!.handle(.produce(id: id, batch: batch, acks: acks, timeout: .seconds(5)), now: clock.now()))
        return id
    }

    /// Delivers up to `count` queued messages (seeded order), then advances time and ticks.
    func step(messages count: Int = 16, advance: Duration = .milliseconds(50)) {
        var n = 0
        while !queue.isEmpty && n < count {
            let message = queue.remove(at: entropy.next(below: min(queue.count, 3)))
            n += 1
            switch message {
            case .metadata(let to, let partitionState):
                guard let replica = replicas[to], !isolated.contains(to), !controllerOnly.contains(to) else { continue }
                perform(to, replica.handle(.metadata(partitionState, minInsyncReplicas: minIsr, flushEveryBatch: flushEveryBatch), now: clock.now()))
            case .fetch(let from, let to, let request, let id):
                if isolated.contains(from) || isolated.contains(to) { continue } // lost; the follower's fetch times out
                guard let replica = replicas[to], !down.contains(to) else {
                    if let f = replicas[from] { perform(from, f.handle(.fetchFailed, now: clock.now())) }
                    continue
                }
                pendingFetchOwners[id] = from
                perform(to, replica.handle(.fetch(id: id, request), now: clock.now()))
            case .answer(let to, let response, let from):
                if isolated.contains(from) || isolated.contains(to) { continue }
                guard let replica = replicas[to] else { continue }
                perform(to, replica.handle(.fetchResponse(response), now: clock.now()))
            }
        }
        clock.advance(by: advance)
        for node in nodes where !down.contains(node) { perform(node, replicas[node]!.handle(.tick, now: clock.now())) }
    }

    func run(steps: Int) { for _ in 0..<steps { step() } }

    /// Values of every record in a node's log, from its start.
    func values(_ node: NodeID) -> [String] {
        let log = replicas[node]!.log
        var offset = log.logStartOffset
        var out: [String] = []
        var reads = 0
        while offset < log.logEndOffset && reads < 10_000 {
            let r = try! log.read(from: offset, maxBytes: 1 << 16)
            out += (try! RecordBatchCodec.records(in: r.bytes)).map { String(decoding: $0.value ?? [], as: UTF8.self) }
            offset = r.nextOffset
            reads += 1
        }
        return out
    }
}

func valueBatch(_ text: String) -> [UInt8] {
    var b = RecordBatchBuilder()
    b.append(timestamp: 1_767_225_600_000, key: nil, value: Array(text.utf8))
    return b.build()
}
