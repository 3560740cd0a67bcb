// The write path: send the mutation to every live replica, hint the ones the
// failure detector holds down, journal the write, answer when the level is
// met and the journal entry is durable (or every replica has answered or
// been hinted), and hint every replica that has not acknowledged when the
// write timeout fires.
import RingtailCore
import RingtailStorage
import RingtailWire

struct PendingWrite: Sendable {
    var command: WriteCommand
    var requirement: ReplicaRequirement
    var datacenters: [NodeID: String]
    var messageID: UInt64
    /// Sent and not yet answered.
    var outstanding: [NodeID]
    var acknowledged: [NodeID] = []
    var failed: [NodeID] = []
    var lastFailure = ""
    var hintStored = false
    var replied = false
    /// The level is met; "written" may still wait for the journal.
    var levelMet = false
    var journal = JournalState.none
    var journalTimestamp: Int64 = 0

    enum JournalState {
        /// Not journaled (journaling off, or no replica was sent the write).
        case none
        case pending
        case stored
        /// The entry could not be stored: "written" waits until every
        /// replica has answered or been hinted.
        case failed
    }
}

extension Coordinator {
    mutating func startWrite(_ request: UInt64, _ command: WriteCommand, _ context: ReplicaContext, now: Instant,
                             wallMicros: Int64, effects: inout [CoordinatorEffect]) {
        guard let requirement = Self.admit(request, command.level, context, isWrite: true, effects: &effects) else { return }
        let messageID = takeMessageID(for: request)
        var pending = PendingWrite(command: command, requirement: requirement, datacenters: context.datacenters,
                                   messageID: messageID, outstanding: [])
        pending.outstanding.reserveCapacity(context.replicas.count)
        pending.acknowledged.reserveCapacity(context.replicas.count)
        let message = Message.mutation(MutationMessage(id: messageID, table: command.table,
                                                       update: command.update.encoded()))
        for replica in context.replicas {
            if context.alive.contains(replica) {
                pending.outstanding.append(replica)
                effects.append(.send(replica, message))
            } else {
                effects.append(.storeHint(target: replica, table: command.table, update: command.update))
                pending.hintStored = true
            }
        }
        if pending.outstanding.isEmpty { owners[messageID] = nil }
        let journaling = options.journal && !pending.outstanding.isEmpty
        if journaling {
            pending.journal = .pending
            pending.journalTimestamp = wallMicros
            effects.append(.journal(JournalEntry(id: messageID, timestamp: wallMicros, table: command.table,
                                                 update: command.update, replicas: pending.outstanding)))
        }
        // ANY with a replica down: the hint just stored is the acknowledgement
        // (once the journal entry covers the replicas it was sent to).
        if requirement.isSatisfied(by: pending.acknowledged, hintStored: pending.hintStored,
                                   datacenterOf: { context.datacenters[$0] }) {
            pending.levelMet = true
            if !journaling {
                pending.replied = true
                effects.append(.reply(request: request, .written))
            }
        }
        if pending.outstanding.isEmpty { return }
        writes[request] = pending
        effects.append(.setTimer(now + options.writeTimeout, .writeTimeout(request: request)))
    }

    /// The requirement of `level` for this request, or nil after replying
    /// at once: the level does not apply (invalid request) or too few
    /// replicas are alive (Unavailable).
    static func admit(_ request: UInt64, _ level: ConsistencyLevel, _ context: ReplicaContext, isWrite: Bool,
                      effects: inout [CoordinatorEffect]) -> ReplicaRequirement? {
        do throws(ConsistencyError) {
            let requirement = try level.requirement(strategy: context.strategy, localDatacenter: context.localDatacenter,
                                                    isWrite: isWrite)
            try requirement.checkAvailable(level: level, replicas: context.replicas,
                                           isAlive: { context.alive.contains($0) },
                                           datacenterOf: { context.datacenters[$0] })
            return requirement
        } catch {
            let answer: RequestError
            switch error {
            case .unavailable(let level, let required, let alive):
                answer = .unavailable(level: level, required: required, alive: alive)
            case .invalidRequest(let message):
                answer = .invalidRequest(message)
            }
            effects.append(.reply(request: request, .failed(answer)))
            return nil
        }
    }

    mutating func writeResponse(_ request: UInt64, from source: NodeID, _ response: MutationResponse,
                                effects: inout [CoordinatorEffect]) {
        // Moved out of the table and back (not copied): a copy would retain
        // every array and set of the write on each response.
        guard var w = writes.removeValue(forKey: request) else { return }
        guard let i = w.outstanding.firstIndex(of: source) else {
            writes[request] = w
            return
        }
        w.outstanding.remove(at: i)
        if let failure = response.failure {
            w.failed.append(source)
            w.lastFailure = failure
        } else {
            w.acknowledged.append(source)
        }
        let dcs = w.datacenters
        if !w.replied && !w.levelMet {
            if w.requirement.isSatisfied(by: w.acknowledged, hintStored: w.hintStored, datacenterOf: { dcs[$0] }) {
                w.levelMet = true
                if w.journal != .pending && w.journal != .failed {
                    w.replied = true
                    effects.append(.reply(request: request, .written))
                }
            } else if !w.requirement.isSatisfied(by: w.acknowledged + w.outstanding, hintStored: w.hintStored,
                                                 datacenterOf: { dcs[$0] }) {
                w.replied = true
                effects.append(.reply(request: request, .failed(.failure(
                    level: w.command.level, received: w.acknowledged.count, failures: w.failed.count,
                    required: w.requirement.total, isWrite: true, reason: w.lastFailure))))
            }
        }
        if w.outstanding.isEmpty {
            // Every replica answered: hint the ones that failed, then forget the write.
            for replica in w.failed where replica != local {
                effects.append(.storeHint(target: replica, table: w.command.table, update: w.command.update))
            }
            finishWrite(request, w, effects: &effects)
        } else {
            writes[request] = w
        }
    }

    /// The journal entry of a write in flight is durable (or failed).
    mutating func journaled(_ request: UInt64, stored: Bool, effects: inout [CoordinatorEffect]) {
        guard var w = writes.removeValue(forKey: request) else { return }
        w.journal = stored ? .stored : .failed
        if stored && w.levelMet && !w.replied {
            w.replied = true
            effects.append(.reply(request: request, .written))
        }
        writes[request] = w
    }

    mutating func writeTimedOut(_ request: UInt64, effects: inout [CoordinatorEffect]) {
        guard var w = writes.removeValue(forKey: request) else { return }
        // A replica that did not answer may have missed the write: hint it.
        // (Never this node: it cannot deliver a hint to itself.)
        for replica in (w.outstanding.sorted() + w.failed) where replica != local {
            effects.append(.storeHint(target: replica, table: w.command.table, update: w.command.update))
        }
        // Met and held only for the journal: finishWrite answers "written"
        // after these hints, which cover every replica that may lack it.
        if !w.replied && !w.levelMet {
            w.replied = true
            effects.append(.reply(request: request, .failed(.timeout(
                level: w.command.level, received: w.requirement.counted(w.acknowledged, datacenterOf: { w.datacenters[$0] }),
                required: w.requirement.total, isWrite: true))))
        }
        finishWrite(request, w, effects: &effects)
    }

    /// Every replica acknowledged or was hinted: answer if the journal held
    /// the answer back, and drop the journal entry.
    mutating func finishWrite(_ request: UInt64, _ w: PendingWrite, effects: inout [CoordinatorEffect]) {
        if w.levelMet && !w.replied { effects.append(.reply(request: request, .written)) }
        // This node's own replica is never hinted (a hint to itself could not
        // be delivered): if its copy failed or is still being written, the
        // entry stays, and the next start applies the write here.
        let localMissing = w.failed.contains(local) || w.outstanding.contains(local)
        if w.journal != .none && !localMissing {
            effects.append(.forgetJournal(id: w.messageID, timestamp: w.journalTimestamp))
        }
        writes[request] = nil
        owners[w.messageID] = nil
    }
}
