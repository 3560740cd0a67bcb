// One benchmark run in the simulator: a SimulatedCluster (real nodes on
// virtual time, a seeded network with the chosen latency model), records
// loaded at ALL, some nodes crashed and known down, then the workload, open
// loop (Poisson arrivals at a rate) or closed loop (N clients, each sending
// its next request when the last is answered), with t-visibility probes
// mixed in; then the downed nodes return and the hints they are owed are
// timed until drained. Virtual time only moves with message delays and
// timers (a node computes in no time), so latency here is network latency:
// the WARS model's assumptions, which the model check relies on.
// The same point and seed give identical numbers.
import RingtailCore
import RingtailStorage
import RingtailCluster
import RingtailNode
import RingtailSimulation
#if canImport(Glibc)
import Glibc
#endif

/// One simulated run. Single use: `run()` once.
public final class SimulatedBench {
    public let point: BenchPoint
    let cluster: SimulatedCluster
    var measurements = Measurements()
    var stream: WorkloadStream
    var entropy: SeededEntropy
    /// Per record: acknowledged writes as (acknowledged at, ns of virtual
    /// time; timestamp), in acknowledgement order.
    var acknowledged: [Int: [(at: Int64, timestamp: Int64)]] = [:]
    /// Per record: the last timestamp handed out (client-side timestamps never repeat for a record).
    var lastTimestamp: [Int: Int64] = [:]
    var pending: [UInt64: Pending] = [:]
    var issued = 0
    var finished = 0
    var nextProbeKey = 0
    var probeIndex = 0
    let value: [UInt8]
    let down: [NodeID]
    let running: [NodeID]

    enum Pending {
        case operation(kind: OperationKind, record: Int, start: Instant, timestamp: Int64, client: Int?)
        case rmwRead(record: Int, start: Instant, client: Int?)
        case probeWrite(key: Int, timestamp: Int64)
        case probeRead(delayMicros: Int64, timestamp: Int64)
    }

    public init(_ point: BenchPoint) throws {
        try point.validate()
        self.point = point
        let nodes = SimulatedCluster.Options.dealt(nodes: point.nodes, datacenters: point.datacenters, racksPerDatacenter: 3)
        var options = SimulatedCluster.Options(nodes: nodes)
        options.seed = point.seed
        options.allocationStrategy = point.strategy
        options.latencies = LinkLatencies(sameDatacenter: point.latency, crossDatacenter: point.wanLatency)
        let speculate = point.speculativeRetry
        options.configure = { config in
            if !speculate { config.coordinator.speculativeRetryPercentile = nil }
        }
        cluster = try SimulatedCluster(options: options)
        try cluster.create(KeyspaceDefinition(name: UserTable.keyspace, replication: point.strategy))
        try cluster.create(TableDefinition(keyspace: UserTable.keyspace, name: UserTable.name,
                                           partitionKey: [ColumnDefinition("g", .bigint)],
                                           clusteringKey: [ColumnDefinition("id", .bigint)],
                                           columns: [ColumnDefinition("v", .blob)]))
        try cluster.create(TableDefinition(keyspace: UserTable.keyspace, name: UserTable.probeName,
                                           partitionKey: [ColumnDefinition("k", .bigint)], clusteringKey: [],
                                           columns: [ColumnDefinition("v", .blob)]))
        stream = WorkloadStream(point.workload, seed: point.seed)
        entropy = SeededEntropy(seed: point.seed ^ 0x6265_6E63_68)
        value = (0..<point.workload.valueBytes).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        // The first k nodes go down: n1, n2, … (dealt over datacenters in turn).
        let down = Array(cluster.nodeIDs.prefix(point.nodesDown))
        self.down = down
        running = cluster.nodeIDs.filter { !down.contains($0) }
    }

    /// Runs the point; `progress` is called about every 10% of the requests.
    public func run(progress: ((BenchProgress) -> Void)? = nil) -> BenchRunResult {
        let wallStart = ContinuousClock.now
        cluster.run(for: .seconds(5)) // gossip: every node sees every other up
        load()
        for id in down { cluster.crash(id) }
        cluster.run(for: .seconds(30)) // the failure detectors convict the crashed nodes
        let hintsBefore = hintsStored()
        let loadStart = cluster.now
        cluster.onReply = { [unowned self] request, result in self.replied(request, result) }
        startWorkload(at: loadStart)
        let total = point.requests
        let step = max(1, total / 10)
        var nextReport = step
        let limit = loadStart + .seconds(3600 * 24)
        while finished < total, cluster.now <= limit, cluster.step() {
            if finished >= nextReport, let progress {
                nextReport += step
                progress(BenchProgress(done: finished, total: total, errors: measurements.totalErrors,
                                       runningP99Millis: measurements.runningP99Millis,
                                       virtualSeconds: (cluster.now - loadStart).secondsDouble,
                                       wallSeconds: (ContinuousClock.now - wallStart).secondsDouble))
            }
        }
        let measuredSeconds = (cluster.now - loadStart).secondsDouble
        // Probe reads still scheduled finish; stragglers time out.
        cluster.run(for: .seconds(6))
        cluster.onReply = nil
        let stored = hintsStored() - hintsBefore
        var drain: Double? = nil
        if !down.isEmpty {
            for id in down { try? cluster.restart(id) }
            let back = cluster.now
            for _ in 0..<6000 where drain == nil {
                cluster.run(for: .milliseconds(100))
                let empty = cluster.nodeIDs.allSatisfy { id in cluster.node(id).map { $0.hintStore.targets.isEmpty } ?? false }
                if empty { drain = (cluster.now - back).secondsDouble }
            }
        }
        let messages = cluster.statistics.messagesSent
        cluster.shutdown()
        var summary = measurements.summary(seconds: measuredSeconds)
        summary.hintsStored = stored
        summary.hintDrainSeconds = stored > 0 ? drain : nil
        return BenchRunResult(point: point, summary: summary, traceHash: cluster.traceHash,
                              wallSeconds: (ContinuousClock.now - wallStart).secondsDouble, messages: messages)
    }

    func hintsStored() -> Int {
        cluster.nodeIDs.reduce(0) { $0 + (cluster.node($1)?.hintStore.statistics.stored ?? 0) }
    }

    // MARK: Loading

    /// Writes every record at ALL, a partition at a time, before any node goes down.
    func load() {
        let records = point.workload.recordCount
        var start = 0
        var coordinatorIndex = 0
        while start < records {
            let g = UserTable.partition(of: start)
            let end = min(records, (g + 1) * UserTable.recordsPerPartition)
            let coordinator = cluster.nodeIDs[coordinatorIndex % cluster.nodeIDs.count]
            coordinatorIndex += 1
            let ts = cluster.node(coordinator)!.wallClockMicros
            let rows = (start..<end).map { id in
                Row(clustering: Self.clustering(id), cells: [Cell(column: UserTable.column, timestamp: ts, value: value)])
            }
            for id in start..<end {
                acknowledged[id] = [(0, ts)]
                lastTimestamp[id] = ts
            }
            let update = PartitionUpdate(key: Self.partitionKey(g), rows: rows)
            cluster.submit(.write(WriteCommand(table: UserTable.qualifiedName, update: update, level: .all)), to: coordinator)
            start = end
        }
        cluster.run(for: .seconds(3))
    }

    static func partitionKey(_ g: Int) -> [UInt8] { KeyCodec.encodeKey([.bigint(Int64(g))]) }
    static func clustering(_ id: Int) -> [UInt8] { KeyCodec.encodeKey([.bigint(Int64(id))]) }

    // MARK: Workload

    func startWorkload(at start: Instant) {
        switch point.mode {
        case .openLoop(let rate):
            scheduleArrival(after: start, rate: rate)
        case .closedLoop(let clients):
            for client in 0..<min(clients, point.requests) { issue(client: client) }
        }
    }

    /// Poisson arrivals; each arrival schedules the next, so the agenda holds one.
    func scheduleArrival(after instant: Instant, rate: Int) {
        guard issued < point.requests else { return }
        let gap = -log(max(1e-12, Double(entropy.next() >> 11) * 0x1.0p-53)) * 1e9 / Double(rate)
        let at = instant + .nanoseconds(Int64(gap))
        cluster.schedule(at: at) { [unowned self] _ in
            self.issue(client: nil)
            self.scheduleArrival(after: at, rate: rate)
        }
    }

    func coordinator() -> NodeID { running[entropy.next(below: running.count)] }

    func nextTimestamp(_ record: Int, _ coordinator: NodeID) -> Int64 {
        let ts = max(cluster.node(coordinator)!.wallClockMicros, (lastTimestamp[record] ?? 0) + 1)
        lastTimestamp[record] = ts
        return ts
    }

    /// Issues the next operation (and, now and then, a probe write beside it).
    func issue(client: Int?) {
        guard issued < point.requests else { return }
        issued += 1
        if point.probeEvery > 0, issued % point.probeEvery == 0 { probe() }
        let op = stream.next()
        let at = coordinator()
        let start = cluster.now
        switch op.kind {
        case .read, .scan, .readModifyWrite:
            let end = op.kind == .scan ? UserTable.scanEnd(from: op.record, length: op.length) : op.record + 1
            let slice = ClusteringRange.halfOpen(Self.clustering(op.record), Self.clustering(end))
            let command = ReadCommand(table: UserTable.qualifiedName, key: Self.partitionKey(UserTable.partition(of: op.record)),
                                      slice: slice, limit: end - op.record, level: point.readLevel)
            let state: Pending = op.kind == .readModifyWrite
                ? .rmwRead(record: op.record, start: start, client: client)
                : .operation(kind: op.kind, record: op.record, start: start, timestamp: 0, client: client)
            pending[cluster.nextRequestID] = state
            cluster.submit(.read(command), to: at)
        case .update, .insert:
            write(op.kind, record: op.record, start: start, client: client, at: at)
        }
    }

    func write(_ kind: OperationKind, record: Int, start: Instant, client: Int?, at coordinator: NodeID) {
        let ts = nextTimestamp(record, coordinator)
        let row = Row(clustering: Self.clustering(record), cells: [Cell(column: UserTable.column, timestamp: ts, value: value)])
        let update = PartitionUpdate(key: Self.partitionKey(UserTable.partition(of: record)), rows: [row])
        pending[cluster.nextRequestID] = .operation(kind: kind, record: record, start: start, timestamp: ts, client: client)
        cluster.submit(.write(WriteCommand(table: UserTable.qualifiedName, update: update, level: point.writeLevel)), to: coordinator)
    }

    /// A t-visibility probe: a write to a key never written before.
    func probe() {
        let key = nextProbeKey
        nextProbeKey += 1
        let at = coordinator()
        let ts = cluster.node(at)!.wallClockMicros
        let update = PartitionUpdate(key: KeyCodec.encodeKey([.bigint(Int64(key))]),
                                     rows: [Row(clustering: [], cells: [Cell(column: UserTable.column, timestamp: ts, value: [1])])])
        pending[cluster.nextRequestID] = .probeWrite(key: key, timestamp: ts)
        cluster.submit(.write(WriteCommand(table: UserTable.probeQualifiedName, update: update, level: point.writeLevel)), to: at)
    }

    func replied(_ request: UInt64, _ result: ClientResult) {
        guard let state = pending.removeValue(forKey: request) else { return }
        let now = cluster.now
        switch state {
        case .operation(let kind, let record, let start, let timestamp, let client):
            let micros = (now - start).microsecondsClamped
            switch result {
            case .failed(let error):
                measurements.record(kind, micros: micros, error: Self.errorKind(error))
            case .written:
                acknowledged[record, default: []].append((now.nanoseconds, timestamp))
                measurements.record(kind, micros: micros, error: nil)
            case .rows(let rows):
                if kind == .read { judge(record: record, start: start, rows: rows) }
                measurements.record(kind, micros: micros, error: nil)
            }
            finished += 1
            if let client { issue(client: client) }
        case .rmwRead(let record, let start, let client):
            switch result {
            case .rows(let rows):
                judge(record: record, start: start, rows: rows)
                write(.readModifyWrite, record: record, start: start, client: client, at: coordinator())
            default:
                let error: RequestError = if case .failed(let e) = result { e } else { .coordinatorLost }
                measurements.record(.readModifyWrite, micros: (now - start).microsecondsClamped, error: Self.errorKind(error))
                finished += 1
                if let client { issue(client: client) }
            }
        case .probeWrite(let key, let timestamp):
            guard case .written = result else { return }
            let delays = point.probeDelaysMicros
            let delay = delays[probeIndex % delays.count]
            probeIndex += 1
            cluster.schedule(at: now + .microseconds(delay)) { [unowned self] c in
                let command = ReadCommand(table: UserTable.probeQualifiedName, key: KeyCodec.encodeKey([.bigint(Int64(key))]),
                                          level: self.point.readLevel)
                self.pending[c.nextRequestID] = .probeRead(delayMicros: delay, timestamp: timestamp)
                c.submit(.read(command), to: self.coordinator())
            }
        case .probeRead(let delay, let timestamp):
            guard case .rows(let rows) = result else { return }
            let seen = rows.first?.cells.first { $0.column == UserTable.column }?.timestamp ?? .min
            measurements.recordProbe(delayMicros: delay, fresh: seen >= timestamp)
        }
    }

    /// k-staleness of a read of `record` that started at `start`.
    func judge(record: Int, start: Instant, rows: [Row]) {
        let seen = rows.first { $0.clustering == Self.clustering(record) }?.cells.first { $0.column == UserTable.column }?.timestamp ?? .min
        let versions = acknowledged[record] ?? []
        var behind = 0
        for v in versions where v.at < start.nanoseconds && v.timestamp > seen { behind += 1 }
        measurements.recordStaleness(versionsBehind: behind)
    }

    static func errorKind(_ error: RequestError) -> String {
        switch error {
        case .unavailable: return "unavailable"
        case .timeout(_, _, _, let isWrite): return isWrite ? "write timeout" : "read timeout"
        case .failure: return "failure"
        case .invalidRequest: return "invalid request"
        case .coordinatorLost: return "coordinator lost"
        }
    }
}

/// Live progress of a run.
public struct BenchProgress: Sendable {
    public var done: Int
    public var total: Int
    public var errors: Int
    public var runningP99Millis: Double
    public var virtualSeconds: Double
    public var wallSeconds: Double
}
