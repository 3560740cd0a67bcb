// What a replica sends a coordinator, and what the coordinator shows the
// client: a partition restricted to a clustering slice (tombstones kept, so
// versions from several replicas merge correctly), and the live view of it.

extension PartitionUpdate {
    /// This partition restricted to `slice`: rows inside it, range
    /// tombstones that overlap it, and the partition deletion. Expired cells
    /// and tombstones are kept: a replica's answer must carry them to win
    /// last-write-wins against older data elsewhere.
    public func sliced(_ slice: ClusteringRange) -> PartitionUpdate {
        if slice == .all { return self }
        return PartitionUpdate(key: key, deletion: deletion,
                               rangeTombstones: rangeTombstones.filter { $0.range.overlaps(slice) },
                               rows: rows.filter { slice.contains($0.clustering) })
    }

    /// The rows a reader sees at wall time `nowMicros`: deleted and expired
    /// cells and the row marker dropped, at most `limit` rows, in ascending
    /// or descending clustering order. The same rule as the engine's read path.
    public func liveRows(nowMicros: Int64, limit: Int = .max, descending: Bool = false) -> [Row] {
        let filter = LiveFilter(partitionDeletion: deletion, rangeTombstones: rangeTombstones, nowMicros: nowMicros)
        var out: [Row] = []
        let ordered: [Row] = descending ? rows.reversed() : rows
        for var row in ordered where out.count < limit {
            if filter.keep(&row) { out.append(row) }
        }
        return out
    }
}

extension PartitionUpdate {
    /// Fills in the local times a writer left as 0 (deletion times, TTL
    /// expiry) and applies the table's default TTL to live cells, as the
    /// engine does on apply. A coordinator does this once, before sending,
    /// so every replica stores the same cells and their digests agree.
    public mutating func stampLocalTimes(nowMicros: Int64, defaultTTLSeconds: Int32) {
        StorageEngine.stampLocalTimes(&self, nowMicros: nowMicros, defaultTTL: defaultTTLSeconds)
    }
}
