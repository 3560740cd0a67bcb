// One replica of a topic partition on one node: a directory of segments
// holding record batches at increasing offsets. Leaders append producers'
// batches (assigning offsets); followers append the leader's batches as they
// are. Reads return whole batches. Segments roll by size and age; retention
// deletes whole closed segments by age and size; opening a log after SIGKILL
// cuts a torn tail. Formats: docs/formats/segment.md, record-batch.md.
import RingtailCore

/// A partition log on disk.
///
/// Not thread-safe: one owner (the node's log driver) calls it at a time.
/// Invariants: segments are sorted, contiguous (each starts at the previous
/// one's next offset) and non-empty except the last, which is the only
/// active one; `logStartOffset ≤ logEndOffset`.
public final class PartitionLog {
    public let directory: String
    public let config: LogConfig
    let fileSystem: FileSystem
    let clock: Clock
    var segments: [LogSegment]
    public internal(set) var epochs = LeaderEpochCache()
    public internal(set) var producers = ProducerStateTable()
    public let recovery: LogRecoveryReport
    private var closed = false

    public var logStartOffset: Int64 { segments[0].baseOffset }
    public var logEndOffset: Int64 { active.nextOffset }
    /// Every offset below this is synced to disk. Closed segments always
    /// are; after a restart the active segment's surviving bytes count as
    /// not yet synced.
    public internal(set) var syncedOffset: Int64
    public var segmentCount: Int { segments.count }
    public var sizeBytes: Int { segments.reduce(0) { $0 + $1.size } }
    /// Base offsets of the segments, oldest first.
    public var segmentBaseOffsets: [Int64] { segments.map(\.baseOffset) }
    var active: LogSegment { segments[segments.count - 1] }

    /// Opens the log in `directory`, creating it (starting at
    /// `initialOffset`) if it holds no segment. Recovers as described in
    /// docs/formats/segment.md: closed segments are trusted through their
    /// index files, the active one is scanned and a torn tail cut.
    public init(directory: String, config: LogConfig = LogConfig(), fileSystem: FileSystem, clock: Clock,
                initialOffset: Int64 = 0) throws(LogError) {
        try config.validate()
        self.directory = directory
        self.config = config
        self.fileSystem = fileSystem
        self.clock = clock
        var report = LogRecoveryReport()
        let names: [String]
        do {
            try fileSystem.createDirectory(directory)
            names = try fileSystem.listDirectory(directory)
        } catch { throw .io(error) }
        let bases = names.compactMap { LogSegment.baseOffset(ofFileName: $0, suffix: ".log") }.sorted()
        for name in names {
            let orphanIndex = LogSegment.baseOffset(ofFileName: name, suffix: ".index").map { !bases.contains($0) } ?? false
            if name.hasSuffix(".tmp") || orphanIndex {
                do { try fileSystem.removeFile(Path.join(directory, name)) } catch { throw .io(error) }
                report.strayFilesRemoved += 1
            }
        }
        var opened: [LogSegment] = []
        var scannedHeaders: [Int: [RecordBatchHeader]] = [:]
        let now = clock.now()
        for (i, base) in bases.enumerated() {
            let isLast = i == bases.count - 1
            let (segment, found) = try LogSegment.open(directory: directory, baseOffset: base, active: isLast, fileSystem: fileSystem,
                                                       indexIntervalBytes: config.indexIntervalBytes, limits: config.limits, now: now)
            if let previous = opened.last, previous.nextOffset != base {
                for s in opened + [segment] { s.close() }
                throw LogError.corruption("segment starts at offset \(base) but the one before it ends at \(previous.nextOffset)",
                                          path: segment.logPath, offset: 0)
            }
            if let headers = found.headers { scannedHeaders[opened.count] = headers }
            opened.append(segment)
            report.batchesScanned += found.batchesScanned
            report.tornBytesTruncated += found.tornBytes
            if found.rebuiltIndex { report.indexesRebuilt += 1 }
        }
        if opened.isEmpty {
            opened.append(try LogSegment.create(directory: directory, baseOffset: initialOffset, fileSystem: fileSystem,
                                                indexIntervalBytes: config.indexIntervalBytes, now: now))
        }
        report.segments = opened.count
        segments = opened
        recovery = report
        syncedOffset = opened[opened.count - 1].baseOffset
        try rebuildProducerAndEpochState(scanned: scannedHeaders)
    }

    deinit { for segment in segments { segment.close() } }

    public func close() {
        guard !closed else { return }
        closed = true
        try? active.sync()
        for segment in segments { segment.close() }
    }

    func checkOpen() throws(LogError) {
        if closed { throw LogError(code: .closed, message: "partition log \(directory) is closed") }
    }

    /// Rebuilds the idempotence and epoch state from every batch header:
    /// those already read by an opening scan (`scanned`, by segment
    /// position), the rest read from the segments.
    func rebuildProducerAndEpochState(scanned: [Int: [RecordBatchHeader]] = [:]) throws(LogError) {
        producers = ProducerStateTable()
        epochs = LeaderEpochCache()
        func note(_ header: RecordBatchHeader) {
            producers.record(header)
            epochs.assign(epoch: header.partitionLeaderEpoch, startOffset: header.baseOffset)
        }
        for (i, segment) in segments.enumerated() {
            if let headers = scanned[i] {
                headers.forEach(note)
                continue
            }
            try segment.forEachHeader { header in note(header) }
        }
    }
}
