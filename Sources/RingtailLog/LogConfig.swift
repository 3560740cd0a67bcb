// The settings of one partition log, with Kafka's names in the comments so a
// Kafka user can map them (docs/configuration.md lists the node keys).

/// How a partition log rolls, indexes and retains its segments.
public struct LogConfig: Sendable, Equatable {
    /// Roll to a new segment before one grows past this (`segment.bytes`).
    public var segmentBytes: Int = 1 << 30
    /// Roll a segment this long after it was opened, if it holds anything
    /// (`segment.ms`); nil never rolls by age.
    public var segmentAge: Duration? = .seconds(7 * 24 * 3600)
    /// Delete closed segments whose newest record is older than this
    /// (`retention.ms`); nil keeps them forever.
    public var retentionAge: Duration? = .seconds(7 * 24 * 3600)
    /// Delete the oldest closed segments while the log would stay at least
    /// this large without them (`retention.bytes`); nil has no size bound.
    public var retentionBytes: Int?
    /// Bytes of log between offset index entries (`index.interval.bytes`).
    public var indexIntervalBytes: Int = 4096
    public var limits = LogLimits()

    public init() {}

    /// Throws `.invalidArgument` naming the first setting out of range.
    public func validate() throws(LogError) {
        func bad(_ m: String) -> LogError { LogError(code: .invalidArgument, message: m) }
        guard segmentBytes >= RecordBatchLayout.headerBytes * 2 && segmentBytes <= Int(Int32.max) else {
            throw bad("segment bytes \(segmentBytes) must be between \(RecordBatchLayout.headerBytes * 2) and \(Int32.max)")
        }
        if let segmentAge, segmentAge <= .zero { throw bad("segment age must be positive") }
        if let retentionAge, retentionAge <= .zero { throw bad("retention age must be positive") }
        if let retentionBytes, retentionBytes < 0 { throw bad("retention bytes must not be negative") }
        guard indexIntervalBytes > 0 else { throw bad("index interval must be positive") }
        guard limits.batchBytesMax > RecordBatchLayout.headerBytes else { throw bad("batch limit must exceed a header") }
    }
}

/// What opening a log found and repaired.
public struct LogRecoveryReport: Equatable, Sendable {
    public var segments = 0
    /// Batches whose headers and CRCs were checked (the active segment, and
    /// closed segments whose index file was missing or stale).
    public var batchesScanned = 0
    /// Bytes cut from a torn tail of the active segment.
    public var tornBytesTruncated = 0
    /// Closed segments whose index file was rebuilt from the log.
    public var indexesRebuilt = 0
    /// Stray files removed (temporary files, indexes without a log).
    public var strayFilesRemoved = 0
}

/// The offsets one append took.
public struct LogAppendInfo: Equatable, Sendable {
    public var firstOffset: Int64
    public var lastOffset: Int64
    public var maxTimestamp: Int64
    /// True if the batch was a producer's retry of one already in the log;
    /// the offsets are the original ones and nothing was written.
    public var duplicate: Bool
}

/// What retention removed.
public struct RetentionResult: Equatable, Sendable {
    public var segmentsDeleted = 0
    public var bytesDeleted = 0
    public var logStartOffset: Int64
}
