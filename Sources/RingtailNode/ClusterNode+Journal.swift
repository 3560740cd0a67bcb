// The node's half of the write journal (WriteJournal): recording entries for
// its coordinator, and at startup turning the entries a previous incarnation
// left behind into hints, so that writes it acknowledged before it died
// still reach every replica. See docs/internals/hinted-handoff.md.
import RingtailCore
import RingtailStorage
import RingtailWire
import RingtailCluster

extension ClusterNode {
    /// Records a journal entry durably. Thread-safe (storage only): drivers
    /// run it off the node's thread, like `apply(_:)`.
    public func record(_ entry: JournalEntry) -> Bool {
        do {
            try journal.record(entry)
            return true
        } catch {
            return false
        }
    }

    /// Applies replica writes and records journal entries together, with
    /// one wait for durability (`StorageEngine.apply(batch:)`). Thread-safe,
    /// like `apply(_:)` and `record(_:)`: a driver collects what one turn of
    /// its loop asked for and runs it off the node's thread. Hand each
    /// response to `finish(_:_:)` and each outcome to `journaled(_:stored:)`.
    public func apply(_ writes: [ReplicaWrite], journal entries: [JournalEntry]) -> (responses: [MutationResponse], stored: [Bool]) {
        let mutations = writes.map { Mutation(table: $0.table, update: $0.update) } + entries.map { journal.mutation(for: $0) }
        let errors = engine.apply(batch: mutations)
        let responses = zip(writes, errors).map { w, e in
            e.map { MutationResponse(id: w.messageID, failure: "\(id): \($0.description)") } ?? MutationResponse(id: w.messageID)
        }
        let stored = errors.dropFirst(writes.count).map { $0 == nil }
        for ok in stored { journal.counted(recorded: ok) }
        return (responses, stored)
    }

    /// The outcome of a `.recordJournal` effect. Node thread only.
    public func journaled(_ id: UInt64, stored: Bool) -> [NodeEffect] {
        perform(coordinator.handle(.journaled(id: id, stored: stored), now: clock.now(), wallMicros: clock.wallMicros()))
    }

    /// Hints every write the journal holds to each of its replicas (this
    /// node's own copy is applied directly), then forgets the entry durably.
    /// A replica that already has the write applies the hint as a no-op.
    func recoverJournal() throws(StorageError) {
        let (entries, unreadable) = try journal.entries()
        for entry in entries {
            var kept = false
            for replica in entry.replicas {
                if replica == id {
                    guard let table = tableID(entry.table) else { continue } // dropped since
                    try engine.apply(Mutation(table: table, update: entry.update))
                } else if case .droppedOverBudget = try hintStore.store(entry.update, table: entry.table, for: replica) {
                    kept = true // over the target's hint budget: the entry stays the record
                }
            }
            if kept {
                statistics.journalEntriesKept += 1
            } else {
                try journal.forget(id: entry.id, timestamp: entry.timestamp, durable: true)
            }
        }
        for bad in unreadable {
            // Written by this node, so only a bug or a damaged disk; the
            // count stays in the statistics.
            try journal.forget(id: bad, timestamp: .max - 1, durable: true)
        }
        journal.countRecovered(entries.count, unreadable: unreadable.count)
    }
}
