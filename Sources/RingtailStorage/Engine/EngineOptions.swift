// Options of one storage engine (one node's local store), with defaults.
import RingtailCore

/// How background work (flushes, compactions, periodic syncs) runs.
public enum BackgroundMode: Sendable, Hashable {
    /// Dedicated threads: a flusher, a compactor and (periodic mode) a syncer.
    case threads
    /// Nothing runs on its own: flushes happen inline when a memtable
    /// fills; compactions and periodic syncs run when the owner calls
    /// `runBackgroundWork()`. Deterministic: for tests and the simulator.
    case manual
}

public struct EngineOptions: Sendable {
    public var syncMode: CommitLogSyncMode = .periodic(.seconds(10))
    public var commitLogSegmentBytes: ByteCount = .mebibytes(32)
    /// Memory for all memtables, active and flushing. Writes stall (and
    /// `writeStalls` counts it) while flushing has not freed enough.
    public var memtableBudget: ByteCount = .mebibytes(128)
    /// A table's active memtable is flushed at this size (default: half the budget).
    public var memtableFlushBytes: ByteCount? = nil
    public var blockCacheBytes: ByteCount = .mebibytes(32)
    public var background: BackgroundMode = .threads
    /// Compaction write rate limit; nil for unthrottled.
    public var compactionBytesPerSecond: ByteCount? = .mebibytes(64)
    public var limits = StorageLimits()

    public init() {}

    var flushThresholdBytes: Int { memtableFlushBytes?.bytes ?? max(1, memtableBudget.bytes / 2) }
}

/// Counters for `ringtail local stats`, tests and benchmarks.
public struct EngineStatistics: Sendable, CustomStringConvertible {
    public var writes = 0
    public var reads = 0
    public var writeStalls = 0
    public var writeStallMicros: Int64 = 0
    public var flushes = 0
    public var flushedBytes = 0
    public var compactions = 0
    public var compactedInputBytes = 0
    public var compactedOutputBytes = 0
    public var expiredSSTablesDropped = 0
    public var tombstonesPurged = 0
    public var compactionFailures = 0
    public var memtableBytes = 0
    /// Most memtable bytes ever held at once (bounded by the budget plus one
    /// mutation per concurrent writer).
    public var memtableBytesPeak = 0
    public var liveSSTables = 0
    public var liveSSTableBytes = 0
    public var commitLogSegments = 0
    public var commitLogFsyncs = 0
    /// Memory held by loaded partition index chunks (kept with each SSTable).
    public var partitionIndexBytes = 0
    public var blockCacheHits = 0
    public var blockCacheMisses = 0
    public var sstablesSkippedByBloom = 0
    public var sstablesSkippedByBounds = 0
    public var replayedMutations = 0
    public var tornTailsTruncated = 0

    public var description: String {
        """
        writes \(writes), reads \(reads)
        memtable bytes \(memtableBytes) (peak \(memtableBytesPeak)), write stalls \(writeStalls) (\(writeStallMicros / 1000) ms)
        flushes \(flushes) (\(ByteCount(bytes: flushedBytes))), compactions \(compactions) \
        (\(ByteCount(bytes: compactedInputBytes)) in, \(ByteCount(bytes: compactedOutputBytes)) out)
        live sstables \(liveSSTables) (\(ByteCount(bytes: liveSSTableBytes))), expired sstables dropped \(expiredSSTablesDropped), tombstones purged \(tombstonesPurged)
        commit log segments \(commitLogSegments), fsyncs \(commitLogFsyncs), replayed mutations \(replayedMutations), torn tails truncated \(tornTailsTruncated)
        partition index memory \(ByteCount(bytes: partitionIndexBytes)); block cache hits \(blockCacheHits), misses \(blockCacheMisses); sstables skipped by bloom \(sstablesSkippedByBloom), by bounds \(sstablesSkippedByBounds)
        """
    }
}
