// A seeded whole-cluster run: a SimulatedCluster under an open-loop
// workload of writes, deletes and reads, with random crashes, restarts and
// network partitions; then faults heal, hints drain, and four checkers judge
// the run (Simulation+Checkers.swift). The same scenario and seed give the
// same trace hash. See docs/internals/simulator.md.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import RingtailCore
import RingtailStorage
import RingtailCluster
import RingtailNode

/// One client operation of a run and what came of it. Kept small and
/// free of arrays: a run records hundreds of thousands, and the checkers
/// walk them all.
struct Operation {
    enum Kind { case write, delete, read }
    /// What came back: for a read, only what the checkers judge (the
    /// timestamp of the value cell, nil if the partition had none).
    enum Outcome: Equatable {
        case written
        case read(cellTimestamp: Int64?)
        case failed(RequestError)
    }
    var kind: Kind
    var key: Int
    var level: ConsistencyLevel
    var coordinator: NodeID
    var start: Instant
    var end: Instant?
    var outcome: Outcome?
    /// Writes and deletes: the cell's timestamp (from the coordinator's clock).
    var timestamp: Int64 = 0
    var requestID: UInt64 = 0
}

/// How checker (b) went: replica copies checked, writes exempted because
/// their coordinator crashed mid-write with the journal off, hints lost
/// (which makes (b) moot).
struct Convergence {
    var checked = 0
    var exempt = 0
    var hintsDropped = 0
}

public final class Simulation {
    public let scenario: SimulationScenario
    let cluster: SimulatedCluster
    var entropy: SeededEntropy
    var operations: [Operation] = []
    var requestToOperation: [UInt64: Int] = [:]
    var violations: [String] = []
    var convergence = Convergence()
    var readCheck = (stale: 0, checked: 0)
    /// Replica placement of the simulated keyspace (fixed for the run).
    let placement: ReplicaPlacement
    public static let table = "sim.kv"
    static let column: [UInt8] = Array("v".utf8)

    public init(_ scenario: SimulationScenario) throws {
        try scenario.validate()
        self.scenario = scenario
        entropy = SeededEntropy(seed: scenario.seed)
        let nodes = SimulatedCluster.Options.dealt(nodes: scenario.nodes, datacenters: scenario.datacenters,
                                                   racksPerDatacenter: scenario.racksPerDatacenter)
        var options = SimulatedCluster.Options(nodes: nodes)
        options.seed = scenario.seed
        options.allocationStrategy = scenario.strategy
        options.latencies = LinkLatencies(sameDatacenter: scenario.latency, crossDatacenter: scenario.wanLatency)
        options.lossRate = scenario.lossRate
        var skewEntropy = SeededEntropy(seed: scenario.seed ^ 0x736B_6577)
        let skewMax = scenario.clockSkewMax.microsecondsClamped
        for (id, _) in nodes where skewMax > 0 {
            options.clockSkews[id] = .microseconds(Int64(skewEntropy.next(below: Int(2 * skewMax + 1))) - skewMax)
        }
        let window = scenario.hintWindow
        options.configure = { config in config.hints.window = window }
        cluster = try SimulatedCluster(options: options)
        placement = cluster.ring.placement(for: scenario.strategy)
        try cluster.create(KeyspaceDefinition(name: "sim", replication: scenario.strategy))
        try cluster.create(TableDefinition(keyspace: "sim", name: "kv", partitionKey: [ColumnDefinition("k", .bigint)],
                                           clusteringKey: [], columns: [ColumnDefinition("v", .blob)]))
    }

    /// Runs the scenario to the end and judges it.
    public func run() -> SimulationReport {
        cluster.onReply = { [unowned self] request, result in self.replied(request, result) }
        cluster.run(for: .seconds(5)) // gossip: every node sees every other up
        let loadStart = cluster.now
        scheduleWorkload(from: loadStart)
        scheduleFaults(from: loadStart)
        // Let the last requests time out, then heal everything and drain hints.
        cluster.run(until: loadStart + scenario.duration + .seconds(6))
        for request in cluster.lostRequests { lost(request) }
        cluster.heal()
        for id in cluster.nodeIDs where !cluster.isRunning(id) {
            do { try cluster.restart(id) } catch { violations.append("restart of \(id) failed: \(error)") }
        }
        let drained = drain()
        check(drained: drained)
        readCheck = checkReads()
        cluster.shutdown()
        return report()
    }

    // MARK: Workload

    /// Open-loop Poisson arrivals. The times are drawn up front (so the
    /// draws do not interleave with the requests'), but each arrival is
    /// scheduled by the one before it: the agenda holds one arrival, not
    /// hundreds of thousands, which keeps every push and pop cheap.
    func scheduleWorkload(from start: Instant) {
        let total = Int(scenario.duration.secondsDouble * Double(scenario.rate))
        let gap = Double(1_000_000_000) / Double(scenario.rate)
        var arrivals: [Instant] = []
        arrivals.reserveCapacity(total)
        var t = 0.0
        for _ in 0..<total {
            t += -gap * log(max(1e-12, Double(entropy.next() >> 11) / Double(1 << 53)))
            guard t < Double(scenario.duration.nanosecondsClamped) else { break }
            arrivals.append(start + .nanoseconds(Int64(t)))
        }
        scheduleArrival(0, of: arrivals)
    }

    private func scheduleArrival(_ n: Int, of arrivals: [Instant]) {
        guard n < arrivals.count else { return }
        cluster.schedule(at: arrivals[n]) { [unowned self] _ in
            self.issue()
            self.scheduleArrival(n + 1, of: arrivals)
        }
    }

    func issue() {
        let running = cluster.runningNodeIDs
        guard !running.isEmpty else { return }
        let coordinator = running[entropy.next(below: running.count)]
        let key = entropy.next(below: scenario.keys)
        let partition = KeyCodec.encodeKey([.bigint(Int64(key))])
        var op = Operation(kind: .read, key: key, level: scenario.readLevel, coordinator: coordinator, start: cluster.now)
        let command: ClientCommand
        if entropy.chance(scenario.readFraction) {
            command = .read(ReadCommand(table: Self.table, key: partition, level: scenario.readLevel))
        } else {
            op.level = scenario.writeLevel
            op.timestamp = cluster.node(coordinator)!.wallClockMicros
            let cell: Cell
            if entropy.chance(scenario.deleteFraction) {
                op.kind = .delete
                cell = .tombstone(Self.column, timestamp: op.timestamp, deletedAt: 0)
            } else {
                op.kind = .write
                cell = Cell(column: Self.column, timestamp: op.timestamp, value: Array("op\(operations.count)".utf8))
            }
            let update = PartitionUpdate(key: partition, rows: [Row(clustering: [], cells: [cell])])
            command = .write(WriteCommand(table: Self.table, update: update, level: scenario.writeLevel))
        }
        operations.append(op)
        let index = operations.count - 1
        // The request id is the next one the cluster hands out; replies may come synchronously.
        operations[index].requestID = cluster.nextRequestID
        requestToOperation[cluster.nextRequestID] = index
        cluster.submit(command, to: coordinator)
    }

    func replied(_ request: UInt64, _ result: ClientResult) {
        guard let i = requestToOperation.removeValue(forKey: request) else { return }
        operations[i].end = cluster.now
        switch result {
        case .written: operations[i].outcome = .written
        case .rows(let rows):
            operations[i].outcome = .read(cellTimestamp: rows.first?.cells.first { $0.column == Self.column }?.timestamp)
        case .failed(let error): operations[i].outcome = .failed(error)
        }
        if case .failed(.unavailable(let level, let required, let alive)) = result {
            checkUnavailable(operations[i], level: level, required: required, alive: alive)
        }
    }

    func lost(_ request: UInt64) {
        guard let i = requestToOperation.removeValue(forKey: request) else { return }
        operations[i].outcome = .failed(.coordinatorLost)
    }

    // MARK: Faults

    func scheduleFaults(from start: Instant) {
        let nodes = cluster.nodeIDs
        guard nodes.count > 1 else { return }
        let span = scenario.duration.nanosecondsClamped
        for _ in 0..<scenario.faults {
            let at = start + .nanoseconds(Int64(entropy.next(below: Int(span))))
            let length = Duration.milliseconds(Int64(500 + entropy.next(below: 30_000)))
            let victim = nodes[entropy.next(below: nodes.count)]
            switch entropy.next(below: 3) {
            case 0:
                cluster.schedule(at: at) { c in c.crash(victim) }
                cluster.schedule(at: at + length) { [unowned self] c in
                    do { try c.restart(victim) } catch { self.violations.append("restart of \(victim) failed: \(error)") }
                }
            case 1:
                var shuffled = nodes
                for i in stride(from: shuffled.count - 1, to: 0, by: -1) { shuffled.swapAt(i, entropy.next(below: i + 1)) }
                let cut = 1 + entropy.next(below: nodes.count - 1)
                let (a, b) = (Array(shuffled[..<cut]), Array(shuffled[cut...]))
                cluster.schedule(at: at) { c in c.partition(a, b) }
                cluster.schedule(at: at + length) { c in c.heal() }
            default:
                let other = nodes.filter { $0 != victim }[entropy.next(below: nodes.count - 1)]
                cluster.schedule(at: at) { c in c.block(from: victim, to: other) }
                cluster.schedule(at: at + length) { c in c.heal() }
            }
        }
    }

    /// Runs until every hint is delivered and every coordinator is idle
    /// (bounded: 10 virtual minutes). False if that never happened.
    func drain() -> Bool {
        for _ in 0..<600 {
            cluster.run(for: .seconds(1))
            if busyNodes().isEmpty { return true }
        }
        return false
    }

    /// Why each node is not idle yet: pending hints, requests in flight, peers held down.
    func busyNodes() -> [String] {
        cluster.nodeIDs.compactMap { id in
            guard let n = cluster.node(id) else { return "\(id) is down" }
            var why: [String] = []
            for t in n.hintStore.targets { why.append("\(n.hintStore.pending(for: t).hints) hints for \(t)") }
            if n.requestsInFlight > 0 { why.append("\(n.requestsInFlight) requests in flight") }
            let down = cluster.nodeIDs.filter { !n.isAlive($0) }
            if !down.isEmpty { why.append("holds \(down) down") }
            return why.isEmpty ? nil : "\(id): " + why.joined(separator: ", ")
        }
    }
}

