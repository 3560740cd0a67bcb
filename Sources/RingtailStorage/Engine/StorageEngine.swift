// One node's local storage engine: opens (manifest, SSTables, commit log
// replay), manages tables, runs background threads, and closes cleanly.
// Writes, reads, flushes and compactions live in the extensions beside it.
import RingtailCore

/// A log-structured storage engine over an injected `FileSystem` and `Clock`.
///
/// Thread safety: every public method may be called from any thread.
/// Lock order: `manifestLock` before `lock` before the commit log's lock and
/// memtable locks. No file I/O happens under `lock`; manifest writes happen
/// under `manifestLock` only.
///
/// Call `close()` before dropping an engine: its background threads hold it.
///
/// Directory layout: `DIR/MANIFEST`, `DIR/commitlog/commitlog-N.log`,
/// `DIR/tables/t<table>-g<generation>.sst`.
public final class StorageEngine: @unchecked Sendable {
    public let directory: String
    let fileSystem: FileSystem
    let clock: Clock
    public let options: EngineOptions
    let commitLog: CommitLog
    let cache: BlockCache
    var limits: StorageLimits { options.limits }
    var tablesDirectory: String { Path.join(directory, "tables") }

    let lock = ConditionLock()
    /// Serializes manifest changes so the file is written in change order.
    let manifestLock = ConditionLock()
    // Guarded by `lock`. The hottest skip the runtime exclusivity check:
    // the lock already makes every access exclusive.
    var manifest: Manifest
    @exclusivity(unchecked) var tables: [TableID: TableState] = [:]
    @exclusivity(unchecked) var memtableBytes = 0
    var nextMemtableID: UInt64 = 1
    var backgroundFailure: StorageError?
    var closing = false
    var closed = false
    @exclusivity(unchecked) var stats = EngineStatistics()
    var compactionRequested = true
    private var workers: [WorkerThread] = []

    /// Opens (or creates) the engine in `directory`: reads the manifest,
    /// deletes files it does not name, opens live SSTables, and replays the
    /// commit log (truncating a torn final record).
    public init(directory: String, fileSystem: FileSystem, clock: Clock, options: EngineOptions = EngineOptions()) throws(StorageError) {
        self.directory = directory
        self.fileSystem = fileSystem
        self.clock = clock
        self.options = options
        cache = BlockCache(capacityBytes: options.blockCacheBytes.bytes)
        let commitLogDirectory = Path.join(directory, "commitlog")
        let tablesDir = Path.join(directory, "tables")
        let present: [String]
        do {
            try fileSystem.createDirectory(directory)
            try fileSystem.createDirectory(commitLogDirectory)
            try fileSystem.createDirectory(tablesDir)
            present = try fileSystem.listDirectory(tablesDir)
        } catch { throw .io(error) }

        let manifestPath = Path.join(directory, Manifest.fileName)
        if fileSystem.fileExists(manifestPath) {
            do { manifest = try Manifest.decode(try fileSystem.readFile(manifestPath), path: manifestPath) } catch let e as StorageError {
                throw e
            } catch let e as FileSystemError { throw .io(e) } catch { throw StorageError(code: .io, message: "\(error)") }
        } else {
            // No manifest: a new engine, unless SSTables say otherwise. Never
            // delete data files because the file naming them is missing.
            if present.contains(where: { SSTableFormat.parseFileName($0) != nil }) {
                throw StorageError(code: .corruption,
                                   message: "MANIFEST is missing but tables/ holds SSTables; refusing to open (restore the manifest or move the data away)",
                                   path: manifestPath)
            }
            manifest = Manifest()
        }

        // Open live SSTables; remove anything the manifest does not name.
        let live = Set(manifest.tables.flatMap { t in t.sstables.map { SSTableFormat.fileName(table: t.id, generation: $0) } })
        for name in present where !live.contains(name) {
            try? fileSystem.removeFile(Path.join(tablesDir, name))
        }
        let presentNames = Set(present)
        for t in manifest.tables {
            let state = TableState(manifest: t, active: Memtable(table: t.id, id: nextMemtableID))
            nextMemtableID += 1
            for g in t.sstables {
                let name = SSTableFormat.fileName(table: t.id, generation: g)
                let path = Path.join(tablesDir, name)
                guard presentNames.contains(name) else {
                    throw StorageError(code: .corruption, message: "the manifest names an SSTable that is missing", path: path)
                }
                state.insert(try SSTableReader(fileSystem: fileSystem, path: path, limits: options.limits, cache: cache))
            }
            tables[t.id] = state
        }

        // Replay the commit log into memtables.
        let replay = try Self.replay(directory: commitLogDirectory, fileSystem: fileSystem, limits: options.limits, tables: tables)
        stats.replayedMutations = replay.applied
        stats.tornTailsTruncated = replay.tornTails
        for (_, t) in tables { memtableBytes += t.active.bytes }
        // New segments must sort after every position the manifest has
        // recorded, or replay would skip new writes as already flushed (the
        // segment a flush recorded may never have been created on disk).
        let recorded = manifest.tables.map { $0.flushedUpTo.segment }.max() ?? 0
        let nextSegment = max(replay.nextSegment, recorded + 1)
        commitLog = CommitLog(fileSystem: fileSystem, clock: clock,
                              options: .init(directory: commitLogDirectory, syncMode: options.syncMode,
                                             segmentBytes: options.commitLogSegmentBytes.bytes,
                                             threaded: options.background == .threads),
                              existingSegments: replay.segments, nextSegment: nextSegment)
        if options.background == .threads {
            // Write replayed data out in the background (as LevelDB does at
            // recovery), so reads after a restart need not merge a large
            // replayed memtable and the replayed segments can be deleted.
            lock.withLock { for t in tables.values { switchMemtable(t) } }
            startWorkers()
        }
    }

    struct ReplayResult {
        var applied = 0
        var tornTails = 0
        var segments: [UInt64] = []
        var nextSegment: UInt64 = 1
    }

    private static func replay(directory: String, fileSystem: FileSystem, limits: StorageLimits,
                               tables: [TableID: TableState]) throws(StorageError) -> ReplayResult {
        var result = ReplayResult()
        let names: [String]
        do { names = try fileSystem.listDirectory(directory) } catch { throw .io(error) }
        let segments = names.compactMap { CommitLogFormat.segmentID(fromName: $0) }.sorted()
        for (i, segment) in segments.enumerated() {
            let path = CommitLog.path(directory, segment)
            let bytes: [UInt8]
            do { bytes = try fileSystem.readFile(path) } catch { throw .io(error) }
            let isLast = i == segments.count - 1
            let scan = try CommitLogScanner.scan(bytes, path: path, allowTornTail: isLast)
            if scan.tornTailOffset != nil {
                result.tornTails += 1
                do {
                    if scan.validBytes < CommitLogFormat.headerBytes {
                        try fileSystem.removeFile(path)
                        try fileSystem.syncDirectory(directory)
                        result.nextSegment = max(result.nextSegment, segment + 1)
                        continue
                    }
                    try fileSystem.truncate(path, to: scan.validBytes)
                } catch { throw .io(error) }
            }
            guard scan.segment == segment else {
                throw .corruption("segment header names segment \(scan.segment)", path: path, offset: 8)
            }
            var appliedHere = 0
            for record in scan.records {
                let mutation: Mutation
                do { mutation = try CommitLogFormat.decodeMutation(record.payload, limits: limits) } catch {
                    throw .corruption("commit log record does not decode: \(error)", path: path, offset: record.offset)
                }
                guard let table = tables[mutation.table], record.end > table.manifest.flushedUpTo else { continue }
                table.active.apply(mutation.update, token: Murmur3.token(mutation.update.key), position: record.end)
                result.applied += 1
                appliedHere += 1
            }
            result.nextSegment = max(result.nextSegment, segment + 1)
            if appliedHere == 0 {
                // Nothing here is still needed (empty, or all flushed already).
                do {
                    try fileSystem.removeFile(path)
                    try fileSystem.syncDirectory(directory)
                } catch { throw .io(error) }
                continue
            }
            result.segments.append(segment)
        }
        return result
    }

    private func startWorkers() {
        workers.append(WorkerThread(name: "rt-flush") { [self] in flushLoop() })
        // Compaction runs at a lower CPU priority (nice 10), as Cassandra's
        // compaction threads do: on a busy machine requests and flushes (which
        // writes may wait for) go first, and compaction catches up when idle.
        workers.append(WorkerThread(name: "rt-compact", niceness: 10) { [self] in compactionLoop() })
        if case .periodic(let period) = options.syncMode {
            workers.append(WorkerThread(name: "rt-sync") { [self] in
                while commitLog.waitForPeriod(period) { try? commitLog.sync() }
            })
        }
    }

    // MARK: Tables

    /// Creates a table and makes it durable in the manifest.
    @discardableResult
    public func createTable(_ definition: TableDefinition) throws(StorageError) -> TableID {
        try definition.validate()
        return try changeManifest { (m) throws(StorageError) -> TableID in
            if m.tables.contains(where: { $0.definition.keyspace == definition.keyspace && $0.definition.name == definition.name }) {
                throw StorageError(code: .tableExists, message: "table \(definition.qualifiedName) exists")
            }
            let id = TableID(m.nextTableID)
            m.nextTableID += 1
            let entry = TableManifest(id: id, definition: definition, flushedUpTo: commitLog.position, sstables: [])
            m.tables.append(entry)
            tables[id] = TableState(manifest: entry, active: Memtable(table: id, id: nextMemtableID))
            nextMemtableID += 1
            return id
        }
    }

    /// Drops a table: its SSTables are deleted; its commit log records are
    /// ignored on replay.
    public func dropTable(_ id: TableID) throws(StorageError) {
        let doomed: [SSTableReader] = try changeManifest { (m) throws(StorageError) -> [SSTableReader] in
            guard let state = tables[id] else { throw StorageError(code: .unknownTable, message: "no table \(id)") }
            m.tables.removeAll { $0.id == id }
            tables[id] = nil
            memtableBytes -= state.active.bytes + state.flushing.reduce(0) { $0 + $1.memtable.bytes }
            lock.broadcast()
            return state.sstables
        }
        for r in doomed {
            cache.evict(reader: r.id)
            try? fileSystem.removeFile(r.path)
        }
    }

    public func table(named qualifiedName: String) -> (TableID, TableDefinition)? {
        lock.withLock {
            tables.values.first { $0.definition.qualifiedName == qualifiedName }.map { ($0.id, $0.definition) }
        }
    }

    public var tableDefinitions: [(TableID, TableDefinition)] {
        lock.withLock { tables.values.map { ($0.id, $0.definition) }.sorted { $0.0 < $1.0 } }
    }

    /// Applies `change` to the manifest under the engine lock, then writes it.
    /// A failed write stops writes (the in-memory and on-disk sets differ).
    func changeManifest<T>(_ change: (inout Manifest) throws(StorageError) -> T) throws(StorageError) -> T {
        manifestLock.lock()
        defer { manifestLock.unlock() }
        lock.lock()
        if closed {
            lock.unlock()
            throw StorageError(code: .closed, message: "engine is closed")
        }
        var m = manifest
        let result: T
        do {
            result = try change(&m)
        } catch {
            lock.unlock()
            throw error
        }
        manifest = m
        for (id, t) in tables {
            if let entry = m.tables.first(where: { $0.id == id }) { t.manifest = entry }
        }
        lock.unlock()
        do {
            try fileSystem.writeAtomically(Path.join(directory, Manifest.fileName), bytes: m.encode())
        } catch {
            let failure = StorageError(code: .writesStopped, message: "manifest write failed, writes are stopped: \(error)", path: error.path)
            lock.withLock { backgroundFailure = backgroundFailure ?? failure }
            throw failure
        }
        return result
    }

    // MARK: Statistics and shutdown

    public var statistics: EngineStatistics {
        var s = lock.withLock { () -> EngineStatistics in
            var s = stats
            s.memtableBytes = memtableBytes
            s.liveSSTables = tables.values.reduce(0) { $0 + $1.sstables.count }
            s.liveSSTableBytes = tables.values.reduce(0) { $0 + $1.sstables.reduce(0) { $0 + $1.fileBytes } }
            return s
        }
        s.commitLogSegments = commitLog.segmentCount
        s.commitLogFsyncs = commitLog.fsyncCount
        let c = cache.statistics
        s.partitionIndexBytes = cache.residentIndexBytes
        s.blockCacheHits = c.hits
        s.blockCacheMisses = c.misses
        return s
    }

    /// Live SSTables of a table (generation, path, statistics), for tools and tests.
    public func sstables(of table: TableID) -> [(generation: UInt64, path: String, statistics: SSTableStatistics)] {
        lock.withLock {
            (tables[table]?.sstables ?? []).map { ($0.generation, $0.path, $0.statistics) }.sorted { $0.generation < $1.generation }
        }
    }

    /// Stops background threads, optionally flushes every memtable, syncs
    /// and closes the commit log. Idempotent.
    public func close(flush: Bool = false) throws(StorageError) {
        if lock.withLock({ closing }) { return }
        if flush { try self.flush() }
        lock.withLock {
            closing = true
            lock.broadcast()
        }
        commitLog.wakeAll()
        var syncFailure: StorageError?
        do { try commitLog.close() } catch { syncFailure = error }
        commitLog.wakeAll()
        for w in workers { w.join() }
        workers = []
        lock.withLock { closed = true }
        // Shut down either way; then say if the final sync failed (writes
        // acknowledged in periodic mode since the last sync may be lost).
        if let syncFailure { throw syncFailure }
    }

    /// The process dies here (for simulators and tests): background threads
    /// stop, but nothing more is written (no sync, no close); what is on
    /// disk stays, as after SIGKILL. The engine is unusable afterwards.
    public func kill() {
        lock.withLock {
            closing = true
            lock.broadcast()
        }
        commitLog.wakeAll()
        for w in workers { w.join() }
        workers = []
    }

    deinit {
        if !closing { try? close() }
    }
}
