// Flushing: frozen memtables become SSTables (oldest first per table), the
// manifest records them and how far the commit log is flushed, and commit
// log segments no table still needs are deleted.
import RingtailCore

extension StorageEngine {
    /// Flushes every table's memtable, and waits until all are on disk.
    public func flush() throws(StorageError) {
        lock.withLock {
            for t in tables.values { switchMemtable(t) }
        }
        if options.background == .manual {
            try flushPending()
            return
        }
        lock.withLock {
            lock.broadcast()
            while backgroundFailure == nil && !closing && tables.values.contains(where: { !$0.flushing.isEmpty }) {
                lock.wait(timeout: .milliseconds(50))
            }
        }
        if let failure = lock.withLock({ backgroundFailure }) { throw failure }
    }

    /// Flushes queued memtables on the calling thread until none are left.
    func flushPending() throws(StorageError) {
        while try flushOne() {}
    }

    /// Flushes the oldest queued memtable of some table. Returns false if
    /// there was nothing to flush.
    func flushOne() throws(StorageError) -> Bool {
        let picked: (TableState, Memtable, CommitLogPosition, UInt64)? = try lock.withLock { () throws(StorageError) in
            if let backgroundFailure { throw backgroundFailure }
            let candidates = tables.values.filter { !$0.flushing.isEmpty && !$0.flushInProgress }
            guard let table = candidates.min(by: { $0.flushing[0].memtable.id < $1.flushing[0].memtable.id }) else { return nil }
            table.flushInProgress = true
            let generation = manifest.nextGeneration
            manifest.nextGeneration += 1
            return (table, table.flushing[0].memtable, table.flushing[0].upTo, generation)
        }
        guard let (table, memtable, upTo, generation) = picked else { return false }
        do {
            let reader = try writeSSTable(table: table, memtable: memtable, generation: generation)
            try changeManifest { (m) throws(StorageError) in
                guard let i = m.tables.firstIndex(where: { $0.id == table.id }) else { return }
                if let reader { m.tables[i].sstables.append(reader.generation) }
                m.tables[i].flushedUpTo = max(m.tables[i].flushedUpTo, upTo)
                table.flushing.removeFirst()
                table.flushInProgress = false
                if let reader { table.insert(reader) }
                memtableBytes -= memtable.bytes
                stats.flushes += 1
                stats.flushedBytes += reader?.fileBytes ?? 0
                compactionRequested = true
                lock.broadcast()
            }
        } catch {
            lock.withLock {
                table.flushInProgress = false
                backgroundFailure = backgroundFailure ?? StorageError(code: .writesStopped, message: "flush failed, writes are stopped: \(error)", path: error.path)
                lock.broadcast()
            }
            throw error
        }
        discardFlushedSegments()
        return true
    }

    /// Writes a memtable to a new SSTable; nil if it held nothing.
    private func writeSSTable(table: TableState, memtable: Memtable, generation: UInt64) throws(StorageError) -> SSTableReader? {
        let partitions = memtable.sortedPartitions()
        guard !partitions.isEmpty else { return nil }
        let builder = try SSTableBuilder(fileSystem: fileSystem, directory: tablesDirectory, table: table.id,
                                         generation: generation, options: table.definition.options, limits: limits,
                                         baseTimestamp: memtable.timestampRange.min == .max ? 0 : memtable.timestampRange.min,
                                         expectedPartitions: partitions.count)
        do {
            for p in partitions { try builder.add(p.update, token: p.token) }
            _ = try builder.finish()
        } catch {
            builder.abandon()
            throw error
        }
        let reader = try SSTableReader(fileSystem: fileSystem, path: builder.finalPath, limits: limits, cache: cache)
        reader.createdMicros = clock.wallMicros()
        return reader
    }

    /// Deletes commit log segments older than every table's oldest unflushed write.
    ///
    /// Holds `manifestLock`, so it never acts on in-memory state whose
    /// manifest is not yet durable (another flush may be mid-write).
    func discardFlushedSegments() {
        manifestLock.withLock {
            let oldest = lock.withLock { tables.values.compactMap { $0.oldestUnflushed }.min() }
            commitLog.discardSegments(before: oldest ?? commitLog.position)
        }
    }

    func flushLoop() {
        while true {
            let proceed = lock.withLock { () -> Bool in
                while !closing && backgroundFailure == nil && !tables.values.contains(where: { !$0.flushing.isEmpty && !$0.flushInProgress }) {
                    lock.wait()
                }
                return !closing && backgroundFailure == nil
            }
            guard proceed else { return }
            _ = try? flushOne()
        }
    }
}
