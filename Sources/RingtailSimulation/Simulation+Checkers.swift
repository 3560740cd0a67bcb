// The four judgements of a simulation run:
// (a) a read at R that starts after a write acknowledged at W, with W + R
//     able to intersect (W + R > RF, counted per datacenter for LOCAL and
//     EACH levels), returns that write or a newer one;
// (b) once faults heal and hints drain, every acknowledged write is on all
//     its replicas (unless a hint was dropped, or, with the write journal
//     off, the write's coordinator crashed before it could hint; both are
//     counted, not hidden);
// (c) Unavailable and Timeout answers agree with the live replica counts
//     and the timeouts, and no request goes unanswered;
// (d) no hint is delivered after its window.
import RingtailCore
import RingtailStorage
import RingtailCluster
import RingtailNode

extension Simulation {
    /// What a level guarantees, per datacenter: the fewest replicas there
    /// that must have acknowledged (writes) or answered (reads).
    func guaranteed(_ level: ConsistencyLevel, coordinatorDC: String) -> [String: Int] {
        let dcs = (1...scenario.datacenters).map { "dc\($0)" }
        let rfTotal = scenario.strategy.totalReplicationFactor
        let rf = scenario.replicationFactor
        guard let req = try? level.requirement(strategy: scenario.strategy, localDatacenter: coordinatorDC,
                                               isWrite: level == .any) else { return [:] }
        var out: [String: Int] = [:]
        switch req {
        case .anywhere(let n, let hints):
            let count = hints ? 0 : n
            // Anywhere in the cluster: at least count - (replicas outside dc) land in dc.
            for dc in dcs { out[dc] = max(0, count - (rfTotal - (scenario.datacenters == 1 ? rfTotal : rf))) }
        case .inDatacenter(let dc, let n):
            out[dc] = n
        case .inEachDatacenter(let need):
            out = need
        }
        return out
    }

    func isStrong(write: Operation, read: Operation) -> Bool {
        let rf = scenario.datacenters == 1 ? scenario.strategy.totalReplicationFactor : scenario.replicationFactor
        let w = guaranteed(write.level, coordinatorDC: datacenter(of: write.coordinator))
        let r = guaranteed(read.level, coordinatorDC: datacenter(of: read.coordinator))
        // Globally: W + R > RF over all replicas; or within one datacenter.
        let total = scenario.strategy.totalReplicationFactor
        if globalCount(write.level, isWrite: true) + globalCount(read.level, isWrite: false) > total { return true }
        return w.contains { dc, n in n + (r[dc] ?? 0) > rf }
    }

    /// The fewest replicas, over all datacenters, a level makes answer.
    func globalCount(_ level: ConsistencyLevel, isWrite: Bool) -> Int {
        guard let req = try? level.requirement(strategy: scenario.strategy, localDatacenter: "dc1", isWrite: isWrite) else { return 0 }
        if case .anywhere(_, true) = req { return 0 } // ANY: a hint may be all there is
        return req.total
    }

    func datacenter(of node: NodeID) -> String { cluster.location(of: node)?.datacenter ?? "" }

    /// (a), for every read that succeeded; also counts stale reads at weak levels.
    func checkReads() -> (stale: Int, checked: Int) {
        var acknowledged: [Int: [Int]] = [:]   // key -> indexes of acknowledged writes and deletes
        var issued: [Int: [Int]] = [:]
        for (i, op) in operations.enumerated() where op.kind != .read {
            issued[op.key, default: []].append(i)
            if op.outcome == .written { acknowledged[op.key, default: []].append(i) }
        }
        var stale = 0, checked = 0
        for index in operations.indices where operations[index].kind == .read {
            guard case .read(let cellTimestamp)? = operations[index].outcome else { continue }
            let op = operations[index]
            // The newest write acknowledged before the read started.
            var newest: Int?
            for i in acknowledged[op.key] ?? [] where operations[i].end! <= op.start {
                if newest.map({ operations[$0].timestamp < operations[i].timestamp }) ?? true { newest = i }
            }
            guard let newest else { continue }
            let w = operations[newest]
            var isStale: Bool
            if let cellTimestamp {
                isStale = cellTimestamp < w.timestamp
            } else {
                // Nothing is right only if some delete at least as new was issued.
                isStale = w.kind == .write && !(issued[op.key] ?? []).contains {
                    operations[$0].kind == .delete && operations[$0].timestamp >= w.timestamp && operations[$0].start <= op.end!
                }
            }
            guard isStale else { continue }
            stale += 1
            if isStrong(write: w, read: op) {
                checked += 1
                violations.append("(a) read of key \(op.key) at \(op.level) via \(op.coordinator) at \(op.start) returned "
                                  + "\(cellTimestamp.map { "a cell written at \($0)" } ?? "nothing") after a \(w.kind) at "
                                  + "\(w.level) with timestamp \(w.timestamp) was acknowledged at \(w.end!)")
            }
        }
        return (stale, checked)
    }

    /// (c) for an Unavailable answer: given at once, with `alive` equal to
    /// what the coordinator's failure detector says, and below `required`.
    func checkUnavailable(_ op: Operation, level: ConsistencyLevel, required: Int, alive: Int) {
        guard alive < required else {
            violations.append("(c) Unavailable at \(level) with \(alive) alive >= \(required) required (key \(op.key))")
            return
        }
        guard let node = cluster.node(op.coordinator) else { return }
        let key = KeyCodec.encodeKey([.bigint(Int64(op.key))])
        let replicas = placement.replicas(for: Murmur3.token(key))
        let dc = datacenter(of: op.coordinator)
        var counts: [String: Int] = [:]
        var total = 0
        for r in replicas where node.isAlive(r) {
            counts[datacenter(of: r), default: 0] += 1
            total += 1
        }
        let expected: [Int]
        if level.isDatacenterLocal {
            expected = [counts[dc] ?? 0]
        } else if level == .eachQuorum {
            expected = counts.values.sorted() + [0]
        } else {
            expected = [total]
        }
        if !expected.contains(alive) {
            violations.append("(c) Unavailable at \(level) says \(alive) alive; the coordinator's detector says \(expected)")
        }
    }

    /// (c) for timeouts and unanswered requests.
    func checkAnswers() {
        for op in operations {
            guard let result = op.outcome else {
                violations.append("(c) \(op.kind) of key \(op.key) via \(op.coordinator) at \(op.start) was never answered")
                continue
            }
            guard case .failed(.timeout(_, let received, let required, let isWrite)) = result, let end = op.end else { continue }
            // The coordinator's defaults (the simulator does not change them).
            let timeout = isWrite ? Coordinator.Options().writeTimeout : Coordinator.Options().readTimeout
            if end - op.start != timeout {
                violations.append("(c) \(op.kind) timed out after \(end - op.start), not \(timeout)")
            }
            if received >= required {
                violations.append("(c) \(op.kind) timed out with \(received) of \(required) answers")
            }
        }
    }

    /// (b) and (d), after the drain.
    func check(drained: Bool) {
        checkAnswers()
        let live = cluster.nodeIDs.compactMap { cluster.node($0) }
        let hintsDropped = live.reduce(0) { $0 + $1.hintStore.statistics.droppedExpired + $1.hintStore.statistics.droppedOverBudget }
            + cluster.retired.reduce(0) { $0 + $1.hints.droppedExpired + $1.hints.droppedOverBudget }
        let storeFailures = live.reduce(0) { $0 + $1.statistics.hintStoreFailures }
            + cluster.retired.reduce(0) { $0 + $1.statistics.hintStoreFailures }
        // (d): the oldest hint ever sent was within the window.
        let window = scenario.hintWindow.microsecondsClamped
        let oldest = max(live.map(\.statistics.hintAgeMaxMicros).max() ?? 0,
                         cluster.retired.map(\.statistics.hintAgeMaxMicros).max() ?? 0)
        if oldest > window { violations.append("(d) a hint was delivered \(oldest) µs after it was made; the window is \(window) µs") }
        convergence.hintsDropped = hintsDropped + storeFailures
        guard drained else {
            violations.append("(b) hints did not drain within 10 virtual minutes after the faults healed: "
                              + busyNodes().joined(separator: "; "))
            return
        }
        guard convergence.hintsDropped == 0 else { return } // (b) does not apply: reported, not judged
        let exempt = Set(cluster.retired.flatMap(\.unfinishedWrites))
        var newest: [Int: Operation] = [:]
        for op in operations where op.kind != .read && op.outcome == .written {
            if !exempt.isEmpty && exempt.contains(op.requestID) { convergence.exempt += 1; continue }
            if newest[op.key].map({ $0.timestamp < op.timestamp }) ?? true { newest[op.key] = op }
        }
        for (key, w) in newest.sorted(by: { $0.key < $1.key }) {
            let partition = KeyCodec.encodeKey([.bigint(Int64(key))])
            for replica in placement.replicas(for: Murmur3.token(partition)) {
                convergence.checked += 1
                let cell = try? cluster.node(replica)?.localPartition(table: Self.table, key: partition)?
                    .rows.first?.cells.first { $0.column == Self.column }
                if (cell?.timestamp ?? .min) < w.timestamp {
                    violations.append("(b) replica \(replica) lacks the \(w.kind) of key \(key) acknowledged at \(w.level) "
                                      + "(timestamp \(w.timestamp)); it has \(cell.map { "\($0.timestamp)" } ?? "nothing")")
                }
            }
        }
    }

}

extension Simulation {
    /// Whether a write at `write` and a read at `read` must intersect
    /// (coordinators in the same datacenter or in different ones).
    public func isStrong(_ write: ConsistencyLevel, _ read: ConsistencyLevel, sameDatacenter: Bool) -> Bool {
        let nodes = cluster.nodeIDs
        let a = nodes[0]
        let b = nodes.first { sameDatacenter ? datacenter(of: $0) == datacenter(of: a) && $0 != a
                                             : datacenter(of: $0) != datacenter(of: a) } ?? a
        var w = Operation(kind: .write, key: 0, level: write, coordinator: a, start: .zero)
        w.outcome = .written
        let r = Operation(kind: .read, key: 0, level: read, coordinator: b, start: .zero)
        return isStrong(write: w, read: r)
    }

    /// For one datacenter: each write level with the read levels it intersects.
    public var strongPairs: [ConsistencyLevel: [ConsistencyLevel]] {
        var out: [ConsistencyLevel: [ConsistencyLevel]] = [:]
        let levels: [ConsistencyLevel] = [.one, .quorum, .all]
        for w in levels {
            let reads = levels.filter { isStrong(w, $0, sameDatacenter: true) }
            if !reads.isEmpty { out[w] = reads }
        }
        return out
    }
}
