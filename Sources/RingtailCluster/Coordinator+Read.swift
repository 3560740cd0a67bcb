// The read path: a data request to the closest live replica, digest requests
// to enough others to meet the level; on a digest mismatch, full data from
// every replica that answered, resolved last-write-wins, and stale replicas
// repaired (blocking read repair) before the answer. A replica slower than
// the speculative-retry percentile gets a stand-in.
import RingtailCore
import RingtailStorage
import RingtailWire

struct PendingRead: Sendable {
    enum Phase: Sendable { case digests, data, repair }
    enum Answer: Sendable {
        /// A replica's data, with its digest when the bytes it came in
        /// were already canonical (so no re-encoding is needed to compare).
        case data(PartitionUpdate?, digest: UInt64?)
        case digest(UInt64)
    }

    var command: ReadCommand
    var requirement: ReplicaRequirement
    var datacenters: [NodeID: String]
    /// Live replicas that may serve the level, closest first, not yet contacted.
    var spare: [NodeID]
    var phase = Phase.digests
    /// Messages of the current phase: message id per replica, and send times.
    var messages = ReplicaMap<UInt64>()
    var sentAt = ReplicaMap<Instant>()
    var answers = ReplicaMap<Answer>()
    var failures = ReplicaMap<String>()
    var speculated = false
    /// Repair phase: the resolved partition, and repairs not yet acknowledged.
    var resolved: PartitionUpdate?
    var repairsOutstanding: Set<NodeID> = []

    /// Whether the answers in meet the level.
    var levelMet: Bool {
        let dcs = datacenters
        return requirement.isSatisfied(by: answers.keys, datacenterOf: { dcs[$0] })
    }
}

extension Coordinator {
    mutating func startRead(_ request: UInt64, _ command: ReadCommand, _ context: ReplicaContext, now: Instant,
                            wallMicros: Int64, effects: inout [CoordinatorEffect]) {
        guard let requirement = Self.admit(request, command.level, context, isWrite: false, effects: &effects) else { return }
        // Live replicas that count toward the level, closest first.
        let eligible = latencies.sortedByProximity(context.replicas.filter { replica in
            context.alive.contains(replica) && requirement.counts(datacenter: context.datacenters[replica])
        }, local: local)
        let targets = Self.minimalTargets(eligible, requirement, context.datacenters)
        var read = PendingRead(command: command, requirement: requirement, datacenters: context.datacenters,
                               spare: eligible.filter { !targets.contains($0) })
        for (i, replica) in targets.enumerated() {
            send(request, &read, to: replica, digestOnly: i > 0, now: now, effects: &effects)
        }
        reads[request] = read
        effects.append(.setTimer(now + options.readTimeout, .readTimeout(request: request)))
        if let percentile = options.speculativeRetryPercentile, !read.spare.isEmpty {
            let delay = max(options.speculativeRetryMin, latencies.percentile(percentile) ?? options.readTimeout / 2)
            if delay < options.readTimeout {
                effects.append(.setTimer(now + delay, .speculativeRetry(request: request)))
            }
        }
    }

    /// The fewest replicas from `eligible` (in order) that can meet `requirement`.
    static func minimalTargets(_ eligible: [NodeID], _ requirement: ReplicaRequirement,
                               _ datacenters: [NodeID: String]) -> [NodeID] {
        switch requirement {
        case .anywhere(let n, _):
            return Array(eligible.prefix(n))
        case .inDatacenter(_, let n):
            return Array(eligible.prefix(n))
        case .inEachDatacenter(let need):
            var left = need
            return eligible.filter { replica in
                guard let dc = datacenters[replica], let n = left[dc], n > 0 else { return false }
                left[dc] = n - 1
                return true
            }
        }
    }

    mutating func send(_ request: UInt64, _ read: inout PendingRead, to replica: NodeID, digestOnly: Bool, now: Instant,
                       effects: inout [CoordinatorEffect]) {
        let id = takeMessageID(for: request)
        if let old = read.messages.updateValue(id, forKey: replica) { owners[old] = nil }
        read.sentAt[replica] = now
        let (lower, upper) = read.command.slice.wireBounds
        effects.append(.send(replica, .readRequest(ReadRequest(id: id, table: read.command.table, key: read.command.key,
                                                               lower: lower, upper: upper, digestOnly: digestOnly))))
    }


    mutating func readResponse(_ request: UInt64, messageID: UInt64, from source: NodeID, _ payload: ReadPayload,
                               now: Instant, wallMicros: Int64, effects: inout [CoordinatorEffect]) {
        guard var read = reads.removeValue(forKey: request) else { return }
        guard read.messages[source] == messageID, read.phase != .repair else {
            reads[request] = read
            return
        }
        read.messages[source] = nil
        owners[messageID] = nil
        if let sent = read.sentAt[source] { latencies.record(source, latency: now - sent) }
        switch payload {
        case .data(nil):
            read.answers[source] = .data(nil, digest: nil)
        case .data(let bytes?):
            guard let update = try? PartitionUpdate(decoding: bytes) else {
                read.failures[source] = "undecodable data from \(source)"
                break
            }
            read.answers[source] = .data(update, digest: PartitionUpdate.digest(ofEncoded: bytes, decoded: update))
        case .digest(let d):
            if read.phase == .data {
                // A speculative digest that arrives after a mismatch: the
                // resolution needs this replica's data, so ask for it.
                send(request, &read, to: source, digestOnly: false, now: now, effects: &effects)
                reads[request] = read
                return
            }
            read.answers[source] = .digest(d)
        case .failed(let reason):
            read.failures[source] = reason
        }
        if read.failures[source] != nil {
            // Replace a failed replica if one is left, else see if the level is lost.
            if let next = read.spare.first {
                read.spare.removeFirst()
                send(request, &read, to: next, digestOnly: read.phase == .digests && hasData(read), now: now, effects: &effects)
            } else if !canStillSucceed(read) {
                reads[request] = nil
                effects.append(.reply(request: request, .failed(.failure(
                    level: read.command.level, received: read.answers.count, failures: read.failures.count,
                    required: read.requirement.total, isWrite: false, reason: read.failures[source]!))))
                return
            }
        }
        reads[request] = read
        advance(request, now: now, wallMicros: wallMicros, effects: &effects)
    }

    func hasData(_ read: PendingRead) -> Bool {
        read.answers.values.contains { if case .data = $0 { return true } else { return false } }
    }

    func canStillSucceed(_ read: PendingRead) -> Bool {
        let possible = read.answers.keys + read.messages.keys
        let dcs = read.datacenters
        return read.requirement.isSatisfied(by: possible, datacenterOf: { dcs[$0] })
    }

    /// Moves a read forward once enough answers are in.
    mutating func advance(_ request: UInt64, now: Instant, wallMicros: Int64, effects: inout [CoordinatorEffect]) {
        guard let i = reads.index(forKey: request), reads.values[i].levelMet else { return }
        // Moved out of the table (not copied); every path below puts it back or finishes it.
        var read = reads.remove(at: i).value
        switch read.phase {
        case .digests:
            guard let (data, dataDigest) = read.answers.values.lazy.compactMap({ a -> (PartitionUpdate?, UInt64?)? in
                if case .data(let u, let d) = a { return (u, d) } else { return nil }
            }).first else {
                // Digests are in but the data replica is not: ask the closest digest replica for data.
                if read.messages.isEmpty, let replica = latencies.sortedByProximity(read.answers.keys.sorted(), local: local).first {
                    read.answers[replica] = nil
                    send(request, &read, to: replica, digestOnly: false, now: now, effects: &effects)
                }
                reads[request] = read
                return
            }
            let expected = dataDigest ?? Self.digest(of: data, key: read.command.key)
            let match = read.answers.values.allSatisfy { answer in
                switch answer {
                case .data(let u, let d): return u == data || (d ?? Self.digest(of: u, key: read.command.key)) == expected
                case .digest(let d): return d == expected
                }
            }
            if match {
                finishRead(request, read, result: data, wallMicros: wallMicros, effects: &effects)
                return
            }
            // Mismatch: full data from every replica that answered.
            read.phase = .data
            let responders = read.answers.keys.sorted()
            for replica in responders {
                if case .data = read.answers[replica]! { continue }
                read.answers[replica] = nil
                send(request, &read, to: replica, digestOnly: false, now: now, effects: &effects)
            }
            reads[request] = read
            advance(request, now: now, wallMicros: wallMicros, effects: &effects)
        case .data:
            // Every answer is data now: resolve, then repair the stale.
            var resolved = PartitionUpdate(key: read.command.key)
            var versions: [(NodeID, PartitionUpdate)] = []
            for (replica, answer) in read.answers.sorted(by: { $0.key < $1.key }) {
                guard case .data(let u, _) = answer else { // a digest straggler: wait for its data
                    reads[request] = read
                    return
                }
                let version = u ?? PartitionUpdate(key: read.command.key)
                versions.append((replica, version))
                resolved.merge(version)
            }
            read.phase = .repair
            read.resolved = resolved
            for (replica, version) in versions {
                guard let repair = resolved.repair(for: version) else { continue }
                let id = takeMessageID(for: request)
                read.messages[replica] = id
                read.repairsOutstanding.insert(replica)
                effects.append(.send(replica, .mutation(MutationMessage(id: id, table: read.command.table,
                                                                        update: repair.encoded()))))
            }
            reads[request] = read
            if read.repairsOutstanding.isEmpty {
                finishRead(request, read, result: resolved, wallMicros: wallMicros, effects: &effects)
            }
        case .repair:
            reads[request] = read
        }
    }

    static func digest(of update: PartitionUpdate?, key: [UInt8]) -> UInt64 {
        (update ?? PartitionUpdate(key: key)).digest
    }

    mutating func repairResponse(_ request: UInt64, messageID: UInt64, from source: NodeID, _ response: MutationResponse,
                                 now: Instant, wallMicros: Int64, effects: inout [CoordinatorEffect]) {
        guard let i = reads.index(forKey: request), reads.values[i].phase == .repair,
              reads.values[i].messages[source] == messageID else { return }
        var read = reads.remove(at: i).value
        read.messages[source] = nil
        owners[messageID] = nil
        // A failed repair is not retried here: the replica stays stale until
        // the next read repair or hint; the read still answers with the
        // resolved data, which a quorum now holds or will on timeout.
        read.repairsOutstanding.remove(source)
        reads[request] = read
        if read.repairsOutstanding.isEmpty {
            finishRead(request, read, result: read.resolved, wallMicros: wallMicros, effects: &effects)
        }
    }

    mutating func finishRead(_ request: UInt64, _ read: PendingRead, result: PartitionUpdate?, wallMicros: Int64,
                             effects: inout [CoordinatorEffect]) {
        for id in read.messages.values { owners[id] = nil }
        reads[request] = nil
        let rows = result?.liveRows(nowMicros: wallMicros, limit: read.command.limit, descending: read.command.descending) ?? []
        effects.append(.reply(request: request, .rows(rows)))
    }

    mutating func readTimedOut(_ request: UInt64, effects: inout [CoordinatorEffect]) {
        guard let read = reads.removeValue(forKey: request) else { return }
        for id in read.messages.values { owners[id] = nil }
        let dcs = read.datacenters
        let counted = read.requirement.counted(read.answers.keys, datacenterOf: { dcs[$0] })
        // In the repair phase every replica has answered; what is missing is
        // the repair acknowledgements, so report those.
        let received = read.phase == .repair ? counted - read.repairsOutstanding.count : counted
        effects.append(.reply(request: request, .failed(.timeout(
            level: read.command.level, received: max(0, min(received, read.requirement.total - 1)),
            required: read.requirement.total, isWrite: false))))
    }

    /// The speculative-retry timer: if the level is not met yet, send the
    /// missing request (data if no data has come back) to the next closest replica.
    mutating func speculate(_ request: UInt64, now: Instant, effects: inout [CoordinatorEffect]) {
        guard let i = reads.index(forKey: request) else { return }
        guard reads.values[i].phase == .digests, !reads.values[i].speculated, !reads.values[i].messages.isEmpty,
              let next = reads.values[i].spare.first else { return }
        var read = reads.remove(at: i).value
        read.speculated = true
        read.spare.removeFirst()
        let dataOutstanding = !hasData(read)
        send(request, &read, to: next, digestOnly: !dataOutstanding, now: now, effects: &effects)
        reads[request] = read
    }
}
