// Running compactions: merge the planned SSTables partition by partition,
// purge what gc grace allows, write one output, swap it in through the
// manifest, then delete the inputs. Throttled; never holds the engine lock
// during I/O, so writes go on.
import RingtailCore

extension StorageEngine {
    /// Runs compactions until the strategy plans no more. With `major`, first
    /// merges all of each table's SSTables into one.
    public func compact(_ table: TableID? = nil, major: Bool = false) throws(StorageError) {
        let ids = lock.withLock { table.map { [$0] } ?? tables.keys.sorted() }
        for id in ids {
            if major { _ = try compactOnce(id, major: true) }
            var rounds = 0
            while rounds < 1000, try compactOnce(id, major: false) { rounds += 1 }
        }
    }

    /// In `manual` mode, does what the background threads would: flushes
    /// queued memtables, syncs the commit log, and runs due compactions.
    public func runBackgroundWork() throws(StorageError) {
        try flushPending()
        try commitLog.sync()
        try compact()
    }

    /// Plans and runs one compaction for a table; false if none was due.
    func compactOnce(_ id: TableID, major: Bool) throws(StorageError) -> Bool {
        let now = clock.wallMicros()
        let work: CompactionWork? = lock.withLock {
            // One compaction per table at a time: the planner's overlap checks
            // (expired drops) must see every SSTable, none of them in flight.
            guard let t = tables[id], !closing, t.compacting.isEmpty else { return nil }
            let free = t.sstables.filter { !t.compacting.contains($0.generation) }
            let gcBefore = now &- t.definition.options.gcGraceSeconds * 1_000_000
            let plan: CompactionPlan?
            if major {
                plan = free.count > 1 || free.contains(where: { $0.statistics.tombstoneCount > 0 || $0.statistics.expiringCellCount > 0 })
                    ? CompactionPlan(reason: .major, inputs: free.map(\.generation), drops: []) : nil
            } else {
                let memMin = ([t.active] + t.flushing.map(\.memtable)).map { $0.timestampRange.min }.min() ?? .max
                plan = CompactionPlanner.plan(free.map(Self.candidate), strategy: t.definition.options.compaction,
                                              nowMicros: now, gcBeforeMicros: gcBefore, memtableMinTimestamp: memMin)
            }
            guard let plan, !(plan.inputs.isEmpty && plan.drops.isEmpty) else { return nil }
            let chosen = Set(plan.inputs + plan.drops)
            t.compacting.formUnion(chosen)
            let generation = manifest.nextGeneration
            if !plan.inputs.isEmpty { manifest.nextGeneration += 1 }
            return CompactionWork(table: t, plan: plan, generation: generation,
                                  inputs: free.filter { plan.inputs.contains($0.generation) },
                                  drops: free.filter { plan.drops.contains($0.generation) },
                                  others: t.sstables.filter { !chosen.contains($0.generation) },
                                  memtables: [t.active] + t.flushing.map(\.memtable),
                                  purger: Purger(gcBeforeMicros: gcBefore, nowMicros: now))
        }
        guard let work else { return false }
        do {
            let (output, purged) = try merge(work)
            let doomed = work.inputs + work.drops
            try changeManifest { (m) throws(StorageError) in
                guard let i = m.tables.firstIndex(where: { $0.id == id }) else { return }
                let gone = Set(doomed.map(\.generation))
                m.tables[i].sstables.removeAll { gone.contains($0) }
                if let output { m.tables[i].sstables.append(output.generation) }
                work.table.remove(generations: gone)
                if let output { work.table.insert(output) }
                work.table.compacting.subtract(gone)
                if work.plan.reason == .expired {
                    stats.expiredSSTablesDropped += work.drops.count
                } else {
                    stats.compactions += 1
                }
                stats.compactedInputBytes += work.inputs.reduce(0) { $0 + $1.fileBytes }
                stats.compactedOutputBytes += output?.fileBytes ?? 0
                stats.tombstonesPurged += purged
            }
            for r in doomed {
                cache.evict(reader: r.id)
                try? fileSystem.removeFile(r.path)
            }
            return true
        } catch {
            lock.withLock { work.table.compacting.subtract(Set((work.inputs + work.drops).map(\.generation))) }
            throw error
        }
    }

    static func candidate(_ r: SSTableReader) -> CompactionCandidate {
        let s = r.statistics
        return CompactionCandidate(generation: r.generation, bytes: r.fileBytes, minTimestamp: s.minTimestamp,
                                   maxTimestamp: s.maxTimestamp, maxLocalDeletionTime: s.maxLocalDeletionTime,
                                   minToken: s.minToken, maxToken: s.maxToken, createdMicros: r.createdMicros)
    }

    /// Merges the inputs into one new SSTable (nil if everything was purged).
    private func merge(_ work: CompactionWork) throws(StorageError) -> (SSTableReader?, Int) {
        guard !work.inputs.isEmpty else { return (nil, 0) }
        var scanners = work.inputs.map { SSTableScanner(reader: $0) }
        var heads: [(token: Int64, update: PartitionUpdate)?] = []
        for i in scanners.indices { heads.append(try scanners[i].next()) }
        let expected = work.inputs.reduce(0) { $0 + $1.statistics.partitionCount }
        let base = work.inputs.map(\.statistics.minTimestamp).min() ?? 0
        let level = (work.inputs.map(\.statistics.compactionLevel).max() ?? 0) + 1
        let builder = try SSTableBuilder(fileSystem: fileSystem, directory: tablesDirectory, table: work.table.id,
                                         generation: work.generation, options: work.table.definition.options, limits: limits,
                                         baseTimestamp: base == .max ? 0 : base, expectedPartitions: expected, compactionLevel: level)
        var purged = 0, added = 0
        let throttle = options.background == .threads ? options.compactionBytesPerSecond?.bytes : nil
        let started = clock.now()
        do {
            while true {
                var best: Int? = nil
                for i in heads.indices {
                    guard let h = heads[i] else { continue }
                    if let b = best {
                        let hb = heads[b]!
                        if PartitionPosition(token: h.token, key: h.update.key) < PartitionPosition(token: hb.token, key: hb.update.key) { best = i }
                    } else {
                        best = i
                    }
                }
                guard let b = best else { break }
                var (token, update) = heads[b]!
                heads[b] = try scanners[b].next()
                for i in heads.indices where i != b {
                    while let h = heads[i], h.token == token && h.update.key == update.key {
                        update.merge(h.update)
                        heads[i] = try scanners[i].next()
                    }
                }
                purged += work.purger.purge(&update, maxPurgeableTimestamp: maxPurgeableTimestamp(update.key, token: token, work))
                if !update.isEmpty {
                    try builder.add(update, token: token)
                    added += 1
                }
                if let rate = throttle, rate > 0 { pace(bytes: builder.estimatedBytes, rate: rate, since: started) }
            }
            if added == 0 {
                builder.abandon()
                return (nil, purged)
            }
            _ = try builder.finish()
        } catch {
            builder.abandon()
            throw error
        }
        let reader = try SSTableReader(fileSystem: fileSystem, path: builder.finalPath, limits: limits, cache: cache)
        // An output inherits its newest input's age: merging does not make a window busy.
        reader.createdMicros = work.inputs.map(\.createdMicros).max() ?? 0
        return (reader, purged)
    }

    /// Oldest timestamp that data outside the compaction may hold for a key.
    private func maxPurgeableTimestamp(_ key: [UInt8], token: Int64, _ work: CompactionWork) -> Int64 {
        var result = Int64.max
        let hash = BloomFilter.hash(key)
        for r in work.others where r.statistics.minTimestamp < result {
            let s = r.statistics
            if token >= s.minToken && token <= s.maxToken && r.mayContain(hash: hash) { result = s.minTimestamp }
        }
        for m in work.memtables {
            if let p = m.partition(key, token: token) { result = min(result, p.minTimestamp) }
        }
        return result
    }

    /// Sleeps while the compaction is ahead of its byte rate.
    private func pace(bytes: Int, rate: Int, since start: Instant) {
        let due = Duration.nanoseconds(Int64(Double(bytes) / Double(rate) * 1e9))
        let elapsed = clock.now() - start
        if due > elapsed + .milliseconds(5) {
            lock.withLock {
                if !closing { lock.wait(timeout: min(due - elapsed, .milliseconds(200))) }
            }
        }
    }

    func compactionLoop() {
        // After a failure (full disk, a corrupt input) wait 1 s, doubling to
        // at most 64 s while failures repeat, so a stuck compaction does not spin.
        var backoff = Duration.seconds(1)
        while true {
            let proceed = lock.withLock { () -> Bool in
                if !compactionRequested && !closing { lock.wait(timeout: .seconds(1)) }
                compactionRequested = false
                return !closing
            }
            guard proceed else { return }
            for id in lock.withLock({ tables.keys.sorted() }) {
                var rounds = 0
                do {
                    while rounds < 100, try compactOnce(id, major: false) { rounds += 1 }
                    backoff = .seconds(1)
                } catch {
                    lock.withLock {
                        stats.compactionFailures += 1
                        if !closing { lock.wait(timeout: backoff) }
                    }
                    backoff = min(backoff * 2, .seconds(64))
                }
            }
        }
    }
}

struct CompactionWork {
    var table: TableState
    var plan: CompactionPlan
    var generation: UInt64
    var inputs: [SSTableReader]
    var drops: [SSTableReader]
    var others: [SSTableReader]
    var memtables: [Memtable]
    var purger: Purger
}
