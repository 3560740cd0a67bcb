// Appending to a partition log: as a leader (check every record, dedupe an
// idempotent producer's retry, assign offsets and the epoch) or as a
// follower (take the leader's batches as they are, in order), rolling the
// active segment by size and age.
import RingtailCore

extension PartitionLog {
    /// Appends one batch a producer sent, as the leader of `leaderEpoch`.
    /// The batch is checked completely (header, CRC, every record) because
    /// it came from the network; its base offset and epoch are overwritten.
    /// A retried idempotent batch is answered with its original offsets.
    /// The batch reaches the OS (it survives SIGKILL) but is durable only
    /// after `sync()`.
    public func appendAsLeader(_ batch: [UInt8], leaderEpoch: Int32) throws(LogError) -> LogAppendInfo {
        try checkOpen()
        guard leaderEpoch >= 0 else { throw LogError(code: .invalidArgument, message: "leader epoch \(leaderEpoch) is negative") }
        let header = try RecordBatchCodec.checkHeader(batch, limits: config.limits)
        guard header.totalBytes == batch.count else {
            throw LogError.invalid("a produce carries one batch per partition; \(batch.count - header.totalBytes) bytes follow it")
        }
        _ = try RecordBatchCodec.records(in: batch, at: 0, header: header, limits: config.limits)
        switch try producers.check(header) {
        case .duplicate(let first, let last):
            return LogAppendInfo(firstOffset: first, lastOffset: last, maxTimestamp: header.maxTimestamp, duplicate: true)
        case .append:
            break
        }
        var stored = batch
        let base = logEndOffset
        RecordBatchCodec.assign(baseOffset: base, leaderEpoch: leaderEpoch, in: &stored)
        var assigned = header
        assigned.baseOffset = base
        assigned.partitionLeaderEpoch = leaderEpoch
        try write(stored, header: assigned)
        return LogAppendInfo(firstOffset: base, lastOffset: assigned.lastOffset, maxTimestamp: header.maxTimestamp, duplicate: false)
    }

    /// Appends batches fetched from the leader, offsets and epochs as
    /// assigned there. The first must start at `logEndOffset` and each must
    /// follow the one before; headers and CRCs are checked. Returns the new
    /// log end offset.
    @discardableResult
    public func appendAsFollower(_ batches: [UInt8]) throws(LogError) -> Int64 {
        try checkOpen()
        let found = try RecordBatchCodec.batches(in: batches, limits: config.limits)
        var expected = logEndOffset
        for (header, _) in found {
            guard header.baseOffset == expected else {
                throw LogError(code: .nonContiguousAppend,
                               message: "fetched batch starts at offset \(header.baseOffset); the log ends at \(expected)")
            }
            guard header.partitionLeaderEpoch >= (epochs.latestEpoch ?? -1) else {
                throw LogError.invalid("fetched batch of epoch \(header.partitionLeaderEpoch) after epoch \(epochs.latestEpoch ?? -1)")
            }
            expected = header.nextOffset
        }
        for (header, position) in found {
            try write(Array(batches[position..<(position + header.totalBytes)]), header: header)
        }
        return logEndOffset
    }

    /// Makes every appended batch durable.
    public func sync() throws(LogError) {
        try checkOpen()
        try active.sync()
        syncedOffset = logEndOffset
    }

    private func write(_ batch: [UInt8], header: RecordBatchHeader) throws(LogError) {
        try rollIfNeeded(for: header, bytes: batch.count)
        try active.append(batch, header: header)
        producers.record(header)
        epochs.assign(epoch: header.partitionLeaderEpoch, startOffset: header.baseOffset)
    }

    /// Rolls when the batch would take the active segment past its size, the
    /// segment is older than the roll age, or its offsets would no longer fit
    /// the index's 32-bit relative offsets.
    private func rollIfNeeded(for header: RecordBatchHeader, bytes: Int) throws(LogError) {
        let segment = active
        guard !segment.isEmpty else { return }
        let full = segment.size + bytes > config.segmentBytes
        let old = config.segmentAge.map { clock.now() - segment.openedAt >= $0 } ?? false
        let offsetsOverflow = header.lastOffset - segment.baseOffset > Int64(UInt32.max)
        guard full || old || offsetsOverflow else { return }
        try roll()
    }

    /// Closes the active segment (sync, index file) and starts a new one at
    /// the log end offset.
    public func roll() throws(LogError) {
        try checkOpen()
        guard !active.isEmpty else { return }
        try active.seal()
        syncedOffset = logEndOffset
        segments.append(try LogSegment.create(directory: directory, baseOffset: logEndOffset, fileSystem: fileSystem,
                                              indexIntervalBytes: config.indexIntervalBytes, now: clock.now()))
    }
}
