// When and how a tombstone deletes: the write timestamp it shadows up to, and
// the wall time it was made (for gc grace).

/// A deletion marker. Data with a write timestamp `<= markedAt` is shadowed.
///
/// `localDeletionTime` is the wall-clock microsecond the deletion was made;
/// compaction may purge the tombstone once that is older than gc grace.
public struct DeletionTime: Hashable, Sendable, CustomStringConvertible {
    public var markedAt: Int64
    public var localDeletionTime: Int64

    public init(markedAt: Int64, localDeletionTime: Int64) {
        self.markedAt = markedAt
        self.localDeletionTime = localDeletionTime
    }

    /// No deletion.
    public static let live = DeletionTime(markedAt: .min, localDeletionTime: .max)

    public var isLive: Bool { markedAt == .min }

    /// True if this deletion shadows data written at `timestamp`.
    @inlinable public func deletes(_ timestamp: Int64) -> Bool { timestamp <= markedAt }

    /// Whether this deletion wins over `other` (the later one wins; ties by
    /// local deletion time, so the outcome never depends on merge order).
    public func supersedes(_ other: DeletionTime) -> Bool {
        if markedAt != other.markedAt { return markedAt > other.markedAt }
        return localDeletionTime > other.localDeletionTime
    }

    public static func newest(_ a: DeletionTime, _ b: DeletionTime) -> DeletionTime {
        a.supersedes(b) ? a : b
    }

    public var description: String {
        isLive ? "live" : "deleted@\(markedAt)(local \(localDeletionTime))"
    }
}

extension DeletionTime {
    /// The strongest deletion covering a row: the partition's, the row's own,
    /// and every range tombstone containing its clustering key. A cell of the
    /// row is shadowed when this deletes its timestamp (reads and compaction).
    static func covering(_ row: Row, partition: DeletionTime, rangeTombstones: [RangeTombstone]) -> DeletionTime {
        var deletion = newest(partition, row.deletion)
        for rt in rangeTombstones where rt.range.contains(row.clustering) {
            deletion = newest(deletion, rt.deletion)
        }
        return deletion
    }
}
