// The fault-injection suite's run: the workload (writers and readers at
// QUORUM over client connections), the fault phases, and the final checks.
// Everything here is async and never blocks a thread (the machine may have
// two cores, so the task pool has two threads).
import Foundation
import Glibc
import NIOPosix
import Synchronization
import RingtailCore
import RingtailStorage
import RingtailWire
import RingtailCluster
import RingtailServer
import RingtailPosix

final class FaultRun: Sendable {
    static let table = "faults.data"
    let cluster: LocalCluster
    let partitions: Int
    let ledger: FaultLedger
    /// Nodes down by the suite's hand: the workload does not use them.
    let down = Mutex<Set<String>>([])
    let stopping = Atomic<Bool>(false)
    /// The pid each node should be running under.
    let pids = Mutex<[String: pid_t]>([:])
    let random: Mutex<SeededEntropy>

    init(cluster: LocalCluster, partitions: Int, seed: UInt64, started: Date) {
        ledger = FaultLedger(started: started)
        self.cluster = cluster
        self.partitions = partitions
        random = Mutex(SeededEntropy(seed: seed))
        var p: [String: pid_t] = [:]
        for m in cluster.members { p[m.name] = cluster.runningPID(m) }
        pids.withLock { $0 = p }
    }

    var names: [String] { cluster.members.map(\.name) }
    func live() -> [String] { let d = down.withLock { $0 }; return names.filter { !d.contains($0) } }
    func pick(_ from: [String]) -> String { random.withLock { from[$0.next(below: from.count)] } }

    func connect(_ name: String) async throws -> RemoteConnection {
        try await RemoteConnection.connect(to: cluster.clientEndpoint(try cluster.member(name)),
                                           group: MultiThreadedEventLoopGroup.singleton, timeout: .seconds(2))
    }

    /// One operator command to the node named `name`.
    func askNode<T: Decodable>(_ name: String, _ command: String, _ argument: String = "", as type: T.Type) async throws -> T {
        try await ask(cluster.clientEndpoint(try cluster.member(name)), command, argument, as: T.self)
    }

    func seenDown(_ victim: String, by observers: [String]) async -> Bool {
        for o in observers {
            guard let s = try? await askNode(o, "status", as: StatusReport.self),
                  s.nodes.first(where: { $0.name == victim })?.state == "DOWN" else { return false }
        }
        return true
    }

    /// Every node not down by the suite's hand sees every such node up.
    func allUp() async -> Bool {
        let running = Set(live())
        return await cluster.everySeesEveryUp(cluster.members.filter { running.contains($0.name) })
    }

    // MARK: Workload

    static let definition = TableDefinition(keyspace: "faults", name: "data", partitionKey: [ColumnDefinition("k", .text)],
                                            clusteringKey: [ColumnDefinition("c", .bigint)], columns: [ColumnDefinition("v", .bigint)])

    /// Row `clustering` of partition `key`, with v = clustering, as `ringtail put` writes it.
    static func update(key: String, clustering: Int64) throws -> [UInt8] {
        let now = SystemClock().wallMicros()
        return try RowEdits.put(definition, key: [key], clustering: ["\(clustering)"], set: ["v=\(clustering)"], ttl: nil,
                                timestamp: now, now: now).encoded()
    }

    /// A short name for an error's kind, for the summary's counts.
    static func kind(_ e: WireRequestError) -> String {
        switch e.requestError {
        case .unavailable: return "unavailable"
        case .timeout: return "timeout"
        case .failure: return "failure"
        case .coordinatorLost: return "coordinator lost"
        case .invalidRequest: return e.kind == WireRequestError.overloadedKind ? "overloaded" : "invalid"
        }
    }

    /// A workload task's connection: to its current coordinator, replaced
    /// (the next live node in turn) when it breaks or its node is taken down.
    struct Session {
        var connection: RemoteConnection?
        var coordinator = ""
        var turn: Int

        /// The connection to use now, or nil if the next node did not answer.
        mutating func ready(_ run: FaultRun) async -> RemoteConnection? {
            if let connection, !run.down.withLock({ $0.contains(coordinator) }) { return connection }
            connection?.close()
            let nodes = run.live()
            coordinator = nodes[turn % nodes.count]
            turn += 1
            connection = try? await run.connect(coordinator)
            return connection
        }
    }

    func writer(_ index: Int) async {
        var session = Session(turn: index)
        while !stopping.load(ordering: .relaxed) {
            guard let connection = await session.ready(self) else {
                await ledger.writeFailed("connect")
                try? await Task.sleep(for: .milliseconds(100))
                continue
            }
            let coordinator = session.coordinator
            let c = await ledger.next()
            let key = "p\(c % Int64(partitions))"
            do {
                let bytes = try Self.update(key: key, clustering: c)
                switch try await connection.request(.write(table: Self.table, update: bytes, consistency: "quorum"),
                                                    timeout: .seconds(10)) {
                case .ok: await ledger.ack(key: key, clustering: c, level: "QUORUM", through: coordinator)
                case .error(let e): await ledger.writeFailed(Self.kind(e))
                default: await ledger.writeFailed("odd reply")
                }
            } catch {
                await ledger.writeFailed("connection lost")
                session.connection = nil
            }
        }
        session.connection?.close()
    }

    func reader(_ index: Int) async {
        var session = Session(turn: index + 1)
        while !stopping.load(ordering: .relaxed) {
            guard let w = await ledger.sample(), w.level == "QUORUM" else {
                try? await Task.sleep(for: .milliseconds(50))
                continue
            }
            guard let connection = await session.ready(self) else { continue }
            let coordinator = session.coordinator
            let ck = KeyCodec.encodeKey([.bigint(w.clustering)])
            let read = ClientRead(table: Self.table, key: KeyCodec.encodeKey([.text(w.key)]), lower: .inclusive(ck),
                                  upper: .inclusive(ck), consistency: "quorum")
            do {
                switch try await connection.request(.read(read), timeout: .seconds(10)) {
                case .rows(let bytes):
                    await ledger.readChecked()
                    let rows = try bytes.map { try PartitionUpdate(decoding: $0).rows } ?? []
                    if !rows.contains(where: { $0.clustering == ck }) {
                        await ledger.violation("a QUORUM read through \(coordinator) missed write \(w.key)/\(w.clustering), acknowledged at QUORUM")
                    }
                case .error(let e): await ledger.readFailed(Self.kind(e))
                default: await ledger.readFailed("odd reply")
                }
            } catch {
                await ledger.readFailed("connection lost")
                session.connection = nil
            }
        }
        session.connection?.close()
    }

    // MARK: The run

    func run(writers: Int, readers: Int, killCycles: Int, report start: FaultReport) async throws -> FaultReport {
        var report = start
        let first = names[0]
        let setup = try await connect(first)
        try expectOK(try await setup.request(.createKeyspace(KeyspaceDefinition(name: "faults", replication: .simple(replicationFactor: 3)).encoded())))
        var w = ByteWriter()
        Self.definition.encode(into: &w)
        try expectOK(try await setup.request(.createTable(w.bytes)))
        setup.close()
        _ = await poll(10) { (try? await self.askNode(first, "status", as: StatusReport.self))?.schemaAgreement ?? false }
        report.log("created keyspace faults (RF 3) and table faults.data; starting \(writers) writers and \(readers) readers at QUORUM")

        let workload = Task {
            await withTaskGroup(of: Void.self) { group in
                for i in 0..<writers { group.addTask { await self.writer(i) } }
                for i in 0..<readers { group.addTask { await self.reader(i) } }
            }
        }
        try? await Task.sleep(for: .seconds(2))

        for cycle in 1...max(1, killCycles) {
            let victim = pick(live())
            try await kill(victim)
            report.log("cycle \(cycle): SIGKILL \(victim); \(await ledger.ackCount) writes acknowledged so far")
            try? await Task.sleep(for: .seconds(2))
            try await restart(victim, &report)
            report.log("cycle \(cycle): \(victim) restarted and seen up by every node")
            checkNoUnexpectedDeaths(&report)
        }

        try await pausePhase(&report)
        try await twoReplicasPhase(&report)
        try await isolationPhase(&report)

        stopping.store(true, ordering: .relaxed)
        await workload.value
        report.acknowledged = await ledger.ackCount
        report.writeErrors = await ledger.writeErrors
        report.readErrors = await ledger.readErrors
        report.readsDuringFaults = await ledger.readsChecked
        for v in await ledger.violations { report.violation(v) }
        report.log("workload stopped: \(report.acknowledged) writes acknowledged; waiting for every node's hints to be delivered")
        let delivered = await poll(120) {
            for n in self.names {
                guard let h = try? await self.askNode(n, "hints", as: HintsReport.self), h.pendingHints == 0 else { return false }
            }
            return true
        }
        if !delivered { report.violation("hints were still pending 120 s after the faults healed") }
        var recovered = 0
        for n in names { recovered += (try? await askNode(n, "hints", as: HintsReport.self))?.journalRecovered ?? 0 }
        report.log("every hint delivered; restarted coordinators found \(recovered) unfinished write(s) in their write journals (at their latest start) and hinted them")
        try await verify(&report)
        checkNoUnexpectedDeaths(&report)
        return report
    }

    func kill(_ victim: String) async throws {
        down.withLock { _ = $0.insert(victim) }
        let m = try cluster.member(victim)
        cluster.signal(m, SIGKILL)
        _ = await poll(10) { self.cluster.runningPID(m) == nil }
    }

    func restart(_ victim: String, _ report: inout FaultReport) async throws {
        let m = try cluster.member(victim)
        let pid = try cluster.spawn(m)
        pids.withLock { $0[victim] = pid }
        let up = await poll(60) { await self.cluster.isNormal(m) }
        if !up { report.violation("\(victim) did not come back within 60 s of its restart") }
        down.withLock { _ = $0.remove(victim) }
        if !(await poll(30) { await self.allUp() }) { report.violation("not every node saw every other up within 30 s of restarting \(victim)") }
    }

    func checkNoUnexpectedDeaths(_ report: inout FaultReport) {
        let expected = pids.withLock { $0 }
        let d = down.withLock { $0 }
        for m in cluster.members where !d.contains(m.name) {
            let running = cluster.runningPID(m)
            if running == nil || running != expected[m.name] {
                report.violation("\(m.name) is not running as pid \(expected[m.name] ?? 0): it died without being killed (see \(cluster.logPath(m)))")
            }
        }
    }

    /// Acknowledgements keep coming while `seconds` pass.
    func writesProgress(seconds: Double) async -> Int {
        let before = await ledger.ackCount
        try? await Task.sleep(for: .seconds(seconds))
        return await ledger.ackCount - before
    }

    func pausePhase(_ report: inout FaultReport) async throws {
        let victim = pick(live())
        let m = try cluster.member(victim)
        down.withLock { _ = $0.insert(victim) }
        cluster.signal(m, SIGSTOP)
        let paused = Date()
        let observers = names.filter { $0 != victim }
        let noticed = await poll(30) { await self.seenDown(victim, by: observers) }
        let delay = Date().timeIntervalSince(paused)
        if noticed {
            report.log(String(format: "paused %@ (SIGSTOP): every other node marked it down after %.1f s", victim, delay))
        } else {
            report.violation("\(victim) was paused 30 s and not every node marked it down")
        }
        let progress = await writesProgress(seconds: 2)
        if progress == 0 { report.violation("no write was acknowledged while \(victim) was paused") }
        report.log("\(progress) writes acknowledged in 2 s with \(victim) paused")
        cluster.signal(m, SIGCONT)
        down.withLock { _ = $0.remove(victim) }
        if !(await poll(30) { await self.allUp() }) { report.violation("\(victim) was not seen up within 30 s of SIGCONT") }
        report.log("resumed \(victim); every node sees every other up")
    }

    /// The replicas of a partition key, from the ring a node reports.
    func replicas(of key: String) async throws -> [String] {
        let ringReport = try await askNode(names[0], "ring", as: RingReport.self)
        var owners: [Int64: NodeID] = [:]
        var locations: [NodeID: NodeLocation] = [:]
        for t in ringReport.tokens {
            owners[t.token] = NodeID(t.node)
            locations[NodeID(t.node)] = NodeLocation(datacenter: t.datacenter, rack: t.rack)
        }
        let ring = TokenRing(tokens: owners, locations: locations)
        return ring.replicas(for: Murmur3.token(KeyCodec.encodeKey([.text(key)])), strategy: .simple(replicationFactor: 3)).map(\.name)
    }

    func twoReplicasPhase(_ report: inout FaultReport) async throws {
        let key = "p0"
        let replicas = try await replicas(of: key)
        let victims = Array(replicas.prefix(2))
        let coordinator = names.first { !victims.contains($0) }!
        for v in victims { try await kill(v) }
        let bothDown = await poll(30) {
            let first = await self.seenDown(victims[0], by: [coordinator])
            let second = await self.seenDown(victims[1], by: [coordinator])
            return first && second
        }
        if !bothDown {
            report.violation("\(coordinator) did not mark \(victims) down within 30 s")
        }
        let c = try await connect(coordinator)
        let c1 = await ledger.next(), c2 = await ledger.next()
        let t0 = Date()
        let quorum = try await c.request(.write(table: Self.table, update: try Self.update(key: key, clustering: c1),
                                                consistency: "quorum"))
        let quorumSeconds = Date().timeIntervalSince(t0)
        if case .error(let e) = quorum, e.kind == 0, quorumSeconds < 1 {
            report.log(String(format: "killed replicas %@ of %@: QUORUM through %@ failed fast (%.0f ms): %@", victims.joined(separator: " and "),
                              key, coordinator, quorumSeconds * 1000, e.message))
        } else {
            report.violation("with two of three replicas down, a QUORUM write answered \(quorum) after \(quorumSeconds) s (expected Unavailable at once)")
        }
        let one = try await c.request(.write(table: Self.table, update: try Self.update(key: key, clustering: c2),
                                             consistency: "one"))
        if case .ok = one {
            await ledger.ack(key: key, clustering: c2, level: "ONE", through: coordinator)
            report.log("the same write at ONE succeeded through \(coordinator)")
        } else {
            report.violation("with one replica of \(key) alive, a write at ONE answered \(one)")
        }
        c.close()
        for v in victims { try await restart(v, &report) }
        report.log("restarted \(victims.joined(separator: " and "))")
        checkNoUnexpectedDeaths(&report)
    }

    func isolationPhase(_ report: inout FaultReport) async throws {
        let victim = pick(live())
        _ = try await askNode(victim, "isolate", "on", as: ActionReport.self)
        down.withLock { _ = $0.insert(victim) }
        let observers = names.filter { $0 != victim }
        let t0 = Date()
        if await poll(30, { await self.seenDown(victim, by: observers) }) {
            report.log(String(format: "cut %@ off the network: every other node marked it down after %.1f s", victim, Date().timeIntervalSince(t0)))
        } else {
            report.violation("\(victim) was cut off for 30 s and not every node marked it down")
        }
        let progress = await writesProgress(seconds: 2)
        if progress == 0 { report.violation("no write was acknowledged while \(victim) was cut off") }
        report.log("\(progress) writes acknowledged in 2 s with \(victim) cut off")
        _ = try await askNode(victim, "isolate", "off", as: ActionReport.self)
        down.withLock { _ = $0.remove(victim) }
        if !(await poll(30) { await self.allUp() }) { report.violation("\(victim) was not seen up within 30 s of healing") }
        report.log("healed \(victim)")
    }

    /// Every acknowledged write reads back at QUORUM, and every replica holds it.
    func verify(_ report: inout FaultReport) async throws {
        let acknowledged = await ledger.acknowledged
        var byKey: [String: Set<Int64>] = [:]
        var written: [String: [Int64: FaultLedger.Write]] = [:]
        for w in acknowledged {
            byKey[w.key, default: []].insert(w.clustering)
            written[w.key, default: [:]][w.clustering] = w
        }
        /// The first few of `clusterings`, each with where and when it was acknowledged.
        func describe(_ key: String, _ clusterings: Set<Int64>) -> String {
            clusterings.sorted().prefix(5).map { c in
                written[key]?[c].map { String(format: "%lld (through %@ at %.1f s)", c, $0.coordinator, $0.at) } ?? "\(c)"
            }.joined(separator: ", ")
        }
        let c = try await connect(names[0])
        defer { c.close() }
        for (key, expected) in byKey.sorted(by: { $0.key < $1.key }) {
            let partition = KeyCodec.encodeKey([.text(key)])
            let read = ClientRead(table: Self.table, key: partition, consistency: "quorum")
            let found = try await clusterings(c.request(.read(read), timeout: .seconds(20)))
            let missing = expected.subtracting(found)
            report.verifiedQuorum += expected.count - missing.count
            if !missing.isEmpty { report.violation("QUORUM read of \(key) misses \(missing.count) acknowledged write(s): \(describe(key, missing))") }
            for replica in try await replicas(of: key) {
                let r = try await connect(replica)
                let local = try await clusterings(r.request(.admin(command: "local-read", argument: "\(Self.table) \(Hex.encode(partition))")))
                r.close()
                let gone = expected.subtracting(local)
                report.verifiedReplicas += expected.count - gone.count
                if !gone.isEmpty { report.violation("replica \(replica) lacks \(gone.count) acknowledged write(s) of \(key): \(describe(key, gone))") }
            }
        }
        report.log("verified \(report.verifiedQuorum) acknowledged writes at QUORUM and \(report.verifiedReplicas) replica copies")
    }

    func clusterings(_ reply: ClientReply) throws -> Set<Int64> {
        switch reply {
        case .rows(nil): return []
        case .rows(let bytes?):
            return Set(try PartitionUpdate(decoding: bytes).rows.compactMap { row -> Int64? in
                guard row.cells.contains(where: { $0.column == Array("v".utf8) }),
                      case .bigint(let v)? = try? KeyCodec.decodeKey(row.clustering, types: [.bigint]).first else { return nil }
                return v
            })
        case .error(let e): throw RequestFailure(e.requestError.description)
        default: throw RequestFailure("unexpected reply \(reply)")
        }
    }

}
