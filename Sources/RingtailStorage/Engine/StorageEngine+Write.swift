// The write path: validate, stamp local times, frame, append to the commit
// log and apply to the memtable under one lock (so a memtable switch
// splits the commit log cleanly), then wait for durability outside it.
import RingtailCore

extension StorageEngine {
    /// Applies a mutation atomically and returns once it is durable as the
    /// sync mode promises. Throws `.limitExceeded` for oversized input,
    /// `.unknownTable`, or `.writesStopped` after an I/O failure.
    ///
    /// With `durable: false` it returns once the mutation is in the commit
    /// log's buffer and the memtable, without waiting for a write or sync:
    /// a crash may lose it, but only with everything appended after it (the
    /// commit log replays a prefix after a SIGKILL), so it suits records
    /// whose loss only undoes something (a journal entry's removal). It
    /// never waits for memtable space either.
    ///
    /// Cells written as `.expiring(ttl, expiresAt: 0)`, tombstones with
    /// `deletedAt: 0` and deletions with `localDeletionTime: 0` get the
    /// engine clock's wall time; live cells get the table's default TTL.
    public func apply(_ mutation: Mutation, durable: Bool = true) throws(StorageError) {
        let (position, needsInlineFlush) = try append(mutation, waitForSpace: durable)
        if durable { try commitLog.awaitDurable(position) }
        if needsInlineFlush { try flushPending() }
    }

    /// Applies several mutations, each atomically and in order, then waits
    /// once until all that applied are durable as the sync mode promises:
    /// one wait (and one thread hand-off) for a batch of replica writes
    /// instead of one per write. One result per mutation: nil if applied
    /// (durable when this returns), else why not.
    public func apply(batch: [Mutation]) -> [StorageError?] {
        var errors = [StorageError?](repeating: nil, count: batch.count)
        var last: CommitLogPosition?
        var flush = false
        for (i, m) in batch.enumerated() {
            do {
                let (position, needsInlineFlush) = try append(m, waitForSpace: true)
                last = position
                flush = flush || needsInlineFlush
            } catch {
                errors[i] = error
            }
        }
        do {
            if let last { try commitLog.awaitDurable(last) }
            if flush { try flushPending() }
        } catch {
            for i in errors.indices where errors[i] == nil { errors[i] = error }
        }
        return errors
    }

    /// Validates, stamps, appends to the commit log and applies to the
    /// memtable under the lock; returns the end of the record, and whether
    /// a manual-mode flush is due. Does not wait for durability.
    private func append(_ mutation: Mutation, waitForSpace: Bool) throws(StorageError) -> (CommitLogPosition, Bool) {
        try limits.check(mutation.update)
        // Only the default TTL is needed before the append: copying the
        // whole definition (strings, arrays) per write costs refcounting.
        guard let defaultTTL = lock.withLock({ tables[mutation.table]?.manifest.definition.options.defaultTTLSeconds }) else {
            throw StorageError(code: .unknownTable, message: "no table \(mutation.table)")
        }
        var update = mutation.update
        update.normalize()
        Self.stampLocalTimes(&update, nowMicros: clock.wallMicros(), defaultTTL: defaultTTL)
        let (framed, payloadCount) = CommitLogFormat.encodeFramedMutation(Mutation(table: mutation.table, update: update))
        let maxBytes = min(limits.mutationBytesMax, options.commitLogSegmentBytes.bytes / 2)
        guard payloadCount <= maxBytes else {
            throw StorageError(code: .limitExceeded, message: "mutation encodes to \(payloadCount) bytes; the limit is \(maxBytes)")
        }
        let token = Murmur3.token(update.key)

        var needsInlineFlush = false
        lock.lock()
        // A non-durable write is a small bookkeeping record (a removal) made
        // on a caller that must not stall: it may exceed the budget by itself.
        if waitForSpace && options.background == .threads && memtableBytes > options.memtableBudget.bytes {
            waitForMemtableSpace()
        }
        if let failure = backgroundFailure ?? (closing ? StorageError(code: .closed, message: "engine is closed") : nil) {
            lock.unlock()
            throw failure
        }
        guard let table = tables[mutation.table] else {
            lock.unlock()
            throw StorageError(code: .unknownTable, message: "no table \(mutation.table)")
        }
        let position: CommitLogPosition
        do {
            position = try commitLog.append(framed)
        } catch {
            lock.unlock()
            throw error
        }
        memtableBytes += table.active.apply(update, token: token, position: position)
        if memtableBytes > stats.memtableBytesPeak { stats.memtableBytesPeak = memtableBytes }
        stats.writes += 1
        if table.active.bytes >= options.flushThresholdBytes {
            switchMemtable(table)
            needsInlineFlush = options.background == .manual
        }
        lock.unlock()
        return (position, needsInlineFlush)
    }

    /// Blocks a writer while memtables exceed the budget. Lock held.
    private func waitForMemtableSpace() {
        let start = clock.now()
        stats.writeStalls += 1
        while memtableBytes > options.memtableBudget.bytes && backgroundFailure == nil && !closing {
            lock.wait(timeout: .milliseconds(100))
        }
        stats.writeStallMicros += (clock.now() - start).microsecondsClamped
    }

    /// Freezes the active memtable and queues it for flush. Lock held.
    func switchMemtable(_ table: TableState) {
        guard !table.active.isEmpty else { return }
        table.active.freeze()
        table.flushing.append((table.active, commitLog.position))
        // The next memtable likely holds as many partitions: size its map once.
        table.active = Memtable(table: table.id, id: nextMemtableID, expectedPartitions: table.active.partitionCount)
        nextMemtableID += 1
        lock.broadcast()
    }

    /// True if `stampLocalTimes` would change anything (checked first, so
    /// the common case never copies the caller's arrays).
    static func needsStamping(_ u: PartitionUpdate, defaultTTL: Int32) -> Bool {
        func unset(_ d: DeletionTime) -> Bool { !d.isLive && d.localDeletionTime == 0 }
        if unset(u.deletion) || u.rangeTombstones.contains(where: { unset($0.deletion) }) { return true }
        for row in u.rows {
            if unset(row.deletion) { return true }
            for cell in row.cells {
                switch cell.kind {
                case .live where defaultTTL > 0, .expiring(_, 0), .tombstone(0): return true
                default: continue
                }
            }
        }
        return false
    }

    static func stampLocalTimes(_ u: inout PartitionUpdate, nowMicros: Int64, defaultTTL: Int32) {
        guard needsStamping(u, defaultTTL: defaultTTL) else { return }
        func stamp(_ d: inout DeletionTime) {
            if !d.isLive && d.localDeletionTime == 0 { d.localDeletionTime = nowMicros }
        }
        stamp(&u.deletion)
        for i in u.rangeTombstones.indices { stamp(&u.rangeTombstones[i].deletion) }
        for r in u.rows.indices {
            stamp(&u.rows[r].deletion)
            for c in u.rows[r].cells.indices {
                switch u.rows[r].cells[c].kind {
                case .live where defaultTTL > 0:
                    u.rows[r].cells[c].kind = .expiring(ttlSeconds: defaultTTL, expiresAt: nowMicros + Int64(defaultTTL) * 1_000_000)
                case .expiring(let ttl, 0):
                    u.rows[r].cells[c].kind = .expiring(ttlSeconds: ttl, expiresAt: nowMicros + Int64(ttl) * 1_000_000)
                case .tombstone(0):
                    u.rows[r].cells[c].kind = .tombstone(deletedAt: nowMicros)
                default:
                    break
                }
            }
        }
    }
}
