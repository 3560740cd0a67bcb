// The write-ahead commit log: every mutation is framed and appended here
// before it is applied to a memtable. Concurrent writers share fsyncs: the
// first writer that needs I/O becomes the leader, writes everything pending
// and (in group and batch modes) syncs once for all of them.
import RingtailCore

/// Appends framed records to numbered segment files and makes them durable
/// according to the sync mode.
///
/// Thread safety: all methods may be called from any thread. `append` is
/// cheap (copies into a buffer under a lock); `awaitDurable` blocks.
/// Invariant: bytes reach files in the order `append` assigned positions,
/// and a segment is synced and closed before any byte of the next is written.
final class CommitLog: @unchecked Sendable {
    struct Options {
        var directory: String
        var syncMode: CommitLogSyncMode
        var segmentBytes: Int
        /// False when a single thread drives everything (tests, simulator):
        /// then nobody waits for a group window.
        var threaded: Bool
    }

    private struct Chunk {
        var segment: UInt64
        var bytes: [UInt8]
    }

    private let fileSystem: FileSystem
    private let clock: Clock
    let options: Options
    /// Conditions 0 and 1 alternate by I/O generation: writers whose records
    /// an I/O covers wait on `generation % 2`; writers that need the next I/O
    /// wait on `(generation + 1) % 2`. A completion wakes the first group
    /// and one of the second (to lead), never all 64 writers at once.
    private let lock = ConditionLock(conditions: 2)

    // Guarded by `lock` (which is why the hottest skip the runtime
    // exclusivity check).
    @exclusivity(unchecked) private var pending: [Chunk] = []
    /// An empty array with capacity, swapped with `pending` by the I/O leader.
    private var spareChunks: [Chunk] = []
    private var currentSegment: UInt64
    @exclusivity(unchecked) private var currentSize: Int
    @exclusivity(unchecked) private var appended: CommitLogPosition
    @exclusivity(unchecked) private var written: CommitLogPosition
    @exclusivity(unchecked) private var synced: CommitLogPosition
    private var ioBusy = false
    /// Generation of the last I/O started; the one in flight if `ioBusy`.
    private var generation: UInt64 = 0
    /// What the I/O in flight covers, and whether it syncs.
    private var inFlightTarget = CommitLogPosition.zero
    private var inFlightSyncs = false
    private var failure: StorageError?
    private var lastSync: Instant
    private var closed = false
    private var liveSegments: [UInt64]
    /// The segment file open for writing and its id; touched only by the I/O leader.
    private var openFile: WritableFile?
    private var openSegment: UInt64?
    /// The periodic syncer sleeps here, apart from writers' wake-ups.
    private let syncerLock = ConditionLock()
    /// Guarded by `syncerLock`.
    private var syncerStopped = false
    private var syncCount = 0

    /// - Parameters:
    ///   - existingSegments: segments left from before (replayed, still needed).
    ///   - nextSegment: id for the first new segment; larger than any existing one.
    init(fileSystem: FileSystem, clock: Clock, options: Options, existingSegments: [UInt64], nextSegment: UInt64) {
        precondition(options.segmentBytes >= 4096, "segments below 4 KiB are a configuration error")
        self.fileSystem = fileSystem
        self.clock = clock
        self.options = options
        currentSegment = nextSegment
        currentSize = CommitLogFormat.headerBytes
        let start = CommitLogPosition(segment: nextSegment, offset: 0)
        appended = CommitLogPosition(segment: nextSegment, offset: CommitLogFormat.headerBytes)
        written = start
        synced = start
        lastSync = clock.now()
        liveSegments = existingSegments + [nextSegment]
        pending = [Chunk(segment: nextSegment, bytes: CommitLogFormat.header(segment: nextSegment))]
    }

    static func path(_ directory: String, _ segment: UInt64) -> String {
        Path.join(directory, CommitLogFormat.segmentName(segment))
    }

    /// Position just past everything appended so far.
    var position: CommitLogPosition { lock.withLock { appended } }

    var fsyncCount: Int { lock.withLock { syncCount } }

    /// Reserves the next position for `framed` (an already framed record) and
    /// buffers it. Returns the position just past the record.
    func append(_ framed: [UInt8]) throws(StorageError) -> CommitLogPosition {
        lock.lock()
        defer { lock.unlock() }
        if let failure { throw failure }
        if closed { throw StorageError(code: .closed, message: "commit log is closed") }
        if currentSize + framed.count > options.segmentBytes && currentSize > CommitLogFormat.headerBytes {
            currentSegment += 1
            currentSize = CommitLogFormat.headerBytes
            liveSegments.append(currentSegment)
            pending.append(Chunk(segment: currentSegment, bytes: CommitLogFormat.header(segment: currentSegment)))
        }
        if pending.last?.segment == currentSegment {
            pending[pending.count - 1].bytes.append(contentsOf: framed)
        } else {
            pending.append(Chunk(segment: currentSegment, bytes: framed))
        }
        currentSize += framed.count
        appended = CommitLogPosition(segment: currentSegment, offset: currentSize)
        return appended
    }

    /// Blocks until the record ending at `end` is as durable as the sync
    /// mode promises: handed to the OS (periodic) or fsynced (group, batch).
    func awaitDurable(_ end: CommitLogPosition) throws(StorageError) {
        try drive(until: end, sync: options.syncMode.syncsBeforeAck)
    }

    /// Writes and fsyncs everything appended so far (periodic syncer,
    /// `runBackgroundWork`, close).
    func sync() throws(StorageError) {
        let target = lock.withLock { appended }
        try drive(until: target, sync: true)
    }

    private func drive(until end: CommitLogPosition, sync: Bool) throws(StorageError) {
        var waitedForWindow = false
        lock.lock()
        while true {
            if let failure {
                lock.unlock()
                throw failure
            }
            if (sync ? synced : written) >= end {
                lock.unlock()
                return
            }
            if ioBusy {
                let covered = end <= inFlightTarget && (inFlightSyncs || !sync)
                lock.wait(condition: Int((covered ? generation : generation &+ 1) % 2))
                continue
            }
            if sync, options.threaded, !waitedForWindow, case .group(let window) = options.syncMode {
                // Wait (once, so this is bounded whatever the clock does) for
                // the rest of the window, letting more writers join this fsync.
                let elapsed = clock.now() - lastSync
                if elapsed < window {
                    waitedForWindow = true
                    lock.wait(condition: Int((generation &+ 1) % 2), timeout: window - elapsed)
                    continue
                }
            }
            // Become the I/O leader for everything pending.
            // Swap in the spare (emptied, capacity kept) array: no allocation
            // per I/O round for the list of chunks.
            var chunks: [Chunk] = []
            swap(&chunks, &spareChunks) // take the spare (uniquely owned)
            swap(&chunks, &pending) // pending = spare; chunks = what to write
            let target = appended
            ioBusy = true
            generation &+= 1
            inFlightTarget = target
            inFlightSyncs = sync
            lock.unlock()
            let error = performIO(chunks, sync: sync)
            lock.lock()
            ioBusy = false
            chunks.removeAll(keepingCapacity: true)
            spareChunks = chunks
            if let error {
                failure = error
                lock.broadcast(condition: 0)
                lock.broadcast(condition: 1)
            } else {
                written = target
                if sync {
                    synced = target
                    lastSync = clock.now()
                    syncCount += 1
                }
                lock.broadcast(condition: Int(generation % 2))
                lock.signal(condition: Int((generation &+ 1) % 2))
            }
        }
    }

    /// Writes chunks in order; a segment is synced and closed before the next
    /// one is created. Runs on the leader without the lock held.
    private func performIO(_ chunks: [Chunk], sync: Bool) -> StorageError? {
        do throws(FileSystemError) {
            for chunk in chunks {
                if openSegment != chunk.segment {
                    if let previous = openFile {
                        try previous.sync()
                        try previous.close()
                    }
                    let path = Self.path(options.directory, chunk.segment)
                    openFile = try fileSystem.createFile(path)
                    openSegment = chunk.segment
                    try fileSystem.syncDirectory(options.directory)
                }
                try openFile!.append(chunk.bytes)
            }
            if sync, let file = openFile { try file.sync() }
            return nil
        } catch {
            return StorageError(code: .io, message: "commit log write failed, writes are stopped: \(error)", path: error.path)
        }
    }

    /// Deletes segments whose every mutation is in flushed SSTables: all
    /// segments before `oldestNeeded.segment` that are already complete.
    func discardSegments(before oldestNeeded: CommitLogPosition) {
        let doomed: [UInt64] = lock.withLock {
            let limit = min(oldestNeeded.segment, written.segment)
            let out = liveSegments.filter { $0 < limit }
            liveSegments.removeAll { $0 < limit }
            return out
        }
        for segment in doomed {
            try? fileSystem.removeFile(Self.path(options.directory, segment))
        }
        if !doomed.isEmpty { try? fileSystem.syncDirectory(options.directory) }
    }

    var segmentCount: Int { lock.withLock { liveSegments.count } }

    /// Syncs and closes the current segment; later appends fail.
    func close() throws(StorageError) {
        if lock.withLock({ failure == nil && !closed }) { try sync() }
        lock.withLock { closed = true }
        try? openFile?.close()
    }

    /// Stops and wakes the periodic syncer (used at shutdown).
    func wakeAll() {
        lock.withLock {
            lock.broadcast(condition: 0)
            lock.broadcast(condition: 1)
        }
        syncerLock.withLock {
            syncerStopped = true
            syncerLock.broadcast()
        }
    }

    /// Sleeps for `period` (or until `wakeAll`); returns false once stopped.
    /// Writers never wake the syncer, so it fsyncs once per period.
    func waitForPeriod(_ period: Duration) -> Bool {
        syncerLock.withLock {
            if !syncerStopped { _ = syncerLock.wait(timeout: period) }
            return !syncerStopped
        }
    }
}
