// Which leader epoch wrote which offsets: a list of (epoch, first offset),
// both increasing. A follower that comes back asks the leader where its last
// epoch ended and truncates anything past that, so a stale leader's
// unreplicated tail never survives (Kafka's KIP-101). Rebuilt from batch
// headers when a log opens; see docs/internals/log-replication.md.

/// The leader epochs of one partition log.
///
/// Value type, not thread-safe. Bounded by the number of leader changes
/// the log's retained batches saw.
public struct LeaderEpochCache: Equatable, Sendable {
    public struct Entry: Equatable, Sendable {
        public var epoch: Int32
        public var startOffset: Int64
    }

    public private(set) var entries: [Entry] = []

    public init() {}

    public var latestEpoch: Int32? { entries.last?.epoch }

    /// Notes that a batch of `epoch` starts at `offset`.
    public mutating func assign(epoch: Int32, startOffset: Int64) {
        guard epoch >= 0 else { return }
        if let last = entries.last {
            guard epoch > last.epoch else { return }
            assert(startOffset >= last.startOffset)
        }
        entries.append(Entry(epoch: epoch, startOffset: startOffset))
    }

    /// For a follower whose last epoch is `epoch`: the largest epoch ≤ it
    /// that this log knows, and the offset where that epoch's batches end
    /// here (the next epoch's start, or `logEndOffset`). nil if every epoch
    /// here is newer, so the follower must truncate to its log start.
    public func endOffset(forEpoch epoch: Int32, logEndOffset: Int64) -> (epoch: Int32, endOffset: Int64)? {
        guard let index = entries.lastIndex(where: { $0.epoch <= epoch }) else { return nil }
        let end = index + 1 < entries.count ? entries[index + 1].startOffset : logEndOffset
        return (entries[index].epoch, end)
    }

    /// Forgets epochs that start at or after `offset` (the log was truncated there).
    public mutating func truncate(from offset: Int64) {
        entries.removeAll { $0.startOffset >= offset }
    }

    /// Clamps the first entry to the log start after retention deleted segments.
    public mutating func advanceStart(to offset: Int64) {
        while entries.count > 1 && entries[1].startOffset <= offset { entries.removeFirst() }
        if !entries.isEmpty && entries[0].startOffset < offset { entries[0].startOffset = offset }
    }
}
