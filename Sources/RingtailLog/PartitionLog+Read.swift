// Reading, truncating and retaining a partition log: fetches of whole
// batches, offsets by timestamp, a follower's truncation to the leader's
// epoch boundary, and deletion of whole closed segments by age and size.
import RingtailCore

/// What a read returns: whole batches, and the offset to read from next.
public struct LogReadResult: Equatable, Sendable {
    public var bytes: [UInt8]
    public var nextOffset: Int64
}

extension PartitionLog {
    /// Whole batches starting with the one that holds `offset`, up to
    /// `maxBytes` (at least one batch), none starting at or past
    /// `upperOffset` (a leader passes its high watermark for consumers).
    /// Reads come from one segment; ask again from `nextOffset` for more.
    /// Throws `.offsetOutOfRange` below the log start or past the log end.
    public func read(from offset: Int64, maxBytes: Int, upperOffset: Int64? = nil) throws(LogError) -> LogReadResult {
        try checkOpen()
        guard offset >= logStartOffset && offset <= logEndOffset else {
            throw LogError(code: .offsetOutOfRange,
                           message: "offset \(offset) is outside the log [\(logStartOffset), \(logEndOffset)]")
        }
        let upper = min(upperOffset ?? logEndOffset, logEndOffset)
        guard offset < upper else { return LogReadResult(bytes: [], nextOffset: offset) }
        var index = segmentIndex(holding: offset)
        while index < segments.count {
            let segment = segments[index]
            let (bytes, next) = try segment.read(from: offset, maxBytes: maxBytes, upperOffset: upper)
            if !bytes.isEmpty { return LogReadResult(bytes: bytes, nextOffset: next) }
            index += 1
        }
        return LogReadResult(bytes: [], nextOffset: offset)
    }

    /// The index of the segment whose offsets include `offset` (the last
    /// segment with a base offset ≤ it).
    private func segmentIndex(holding offset: Int64) -> Int {
        var low = 0, high = segments.count
        while low < high {
            let mid = (low + high) / 2
            if segments[mid].baseOffset <= offset { low = mid + 1 } else { high = mid }
        }
        return max(0, low - 1)
    }

    /// Decoded records from `offset` (a convenience over `read` for tools and tests).
    public func records(from offset: Int64, maxBytes: Int = 1 << 20, upperOffset: Int64? = nil) throws(LogError) -> [LogRecord] {
        let result = try read(from: offset, maxBytes: maxBytes, upperOffset: upperOffset)
        return try RecordBatchCodec.records(in: result.bytes, limits: config.limits).filter { $0.offset >= offset }
    }

    /// The first offset whose record has a timestamp ≥ `timestamp`
    /// (milliseconds), or nil if none does (Kafka's ListOffsets by time).
    public func offset(forTimestamp timestamp: Int64) throws(LogError) -> Int64? {
        try checkOpen()
        for segment in segments {
            if let hit = try segment.offset(forTimestamp: timestamp, limits: config.limits) { return hit }
        }
        return nil
    }

    /// Removes every offset at or past `offset` (a follower's truncation to
    /// where the leader's log diverges). Cuts at a batch boundary, so the log
    /// may end below `offset`. Returns the new log end offset.
    @discardableResult
    public func truncate(to offset: Int64) throws(LogError) -> Int64 {
        try checkOpen()
        guard offset < logEndOffset else { return logEndOffset }
        guard offset >= logStartOffset else {
            throw LogError(code: .offsetOutOfRange, message: "cannot truncate to \(offset), below the log start \(logStartOffset); reset the log instead")
        }
        // Newest first, so a crash part-way leaves a contiguous prefix.
        while segments.count > 1 && segments[segments.count - 1].baseOffset >= offset {
            let removed = segments.removeLast()
            try removed.delete()
            try syncDirectory()
        }
        let end = try active.truncate(to: offset)
        syncedOffset = min(syncedOffset, end)
        // The epochs and producers the cut batches brought go with them. A
        // producer table that remembers none of them is unchanged; otherwise
        // it is rebuilt from the headers (it keeps only a producer's last batches).
        if producers.remembersBatches(from: end) {
            try rebuildProducerAndEpochState()
        } else {
            epochs.truncate(from: end)
        }
        return end
    }

    /// Deletes every segment and starts empty at `offset` (a follower whose
    /// log ends before the leader's log start, or that lies past its end).
    public func reset(to offset: Int64) throws(LogError) {
        try checkOpen()
        precondition(offset >= 0)
        // Oldest first, so a crash part-way leaves a contiguous suffix.
        for segment in segments {
            try segment.delete()
            try syncDirectory()
        }
        segments = [try LogSegment.create(directory: directory, baseOffset: offset, fileSystem: fileSystem,
                                          indexIntervalBytes: config.indexIntervalBytes, now: clock.now())]
        syncedOffset = offset
        producers = ProducerStateTable()
        epochs = LeaderEpochCache()
    }

    /// Deletes whole closed segments, oldest first: those whose newest record
    /// is older than the retention age, then the oldest while the log would
    /// still hold `retentionBytes` without them. Never the active segment,
    /// and never a segment with offsets at or past `deletableBelow` (a leader
    /// passes its high watermark, so nothing a consumer has not been able to
    /// read goes). `nowMillis` is wall-clock milliseconds.
    @discardableResult
    public func applyRetention(nowMillis: Int64, deletableBelow: Int64? = nil) throws(LogError) -> RetentionResult {
        try checkOpen()
        var result = RetentionResult(logStartOffset: logStartOffset)
        let limit = deletableBelow ?? logEndOffset
        var total = sizeBytes
        while segments.count > 1 {
            let oldest = segments[0]
            guard oldest.nextOffset <= limit else { break }
            let expired = config.retentionAge.map { oldest.maxTimestamp < nowMillis - $0.nanosecondsClamped / 1_000_000 } ?? false
            let oversize = config.retentionBytes.map { total - oldest.size >= $0 } ?? false
            guard expired || oversize else { break }
            segments.removeFirst()
            try oldest.delete()
            try syncDirectory()
            total -= oldest.size
            result.segmentsDeleted += 1
            result.bytesDeleted += oldest.size
        }
        if result.segmentsDeleted > 0 {
            epochs.advanceStart(to: logStartOffset)
            result.logStartOffset = logStartOffset
        }
        return result
    }

    private func syncDirectory() throws(LogError) {
        do { try fileSystem.syncDirectory(directory) } catch { throw .io(error) }
    }
}
