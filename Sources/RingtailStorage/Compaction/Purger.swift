// What compaction may throw away: data shadowed by a tombstone in the same
// partition, expired values (kept as tombstones until gc grace), and
// tombstones past gc grace that can shadow nothing outside the compaction.
import RingtailCore

struct Purger {
    /// Wall time before which deletions count as past gc grace (µs).
    var gcBeforeMicros: Int64
    var nowMicros: Int64

    /// Rewrites a merged partition for output. `maxPurgeableTimestamp` is the
    /// oldest write timestamp that data outside the compaction may hold for
    /// this partition: only tombstones older than it can be dropped.
    /// Returns the number of tombstones purged; `update` may become empty.
    func purge(_ update: inout PartitionUpdate, maxPurgeableTimestamp: Int64) -> Int {
        var purged = 0
        func purgeable(_ d: DeletionTime) -> Bool {
            !d.isLive && d.localDeletionTime < gcBeforeMicros && d.markedAt < maxPurgeableTimestamp
        }
        // A row deletion or range tombstone no stronger than the partition
        // deletion is redundant, but only while that deletion stays: if it is
        // purged here, the weaker ones go only when past gc grace themselves.
        let partitionDeletionStays = !update.deletion.isLive && !purgeable(update.deletion)
        func redundant(_ d: DeletionTime) -> Bool { partitionDeletionStays && !d.supersedes(update.deletion) }
        var rows: [Row] = []
        rows.reserveCapacity(update.rows.count)
        for var row in update.rows {
            let shadow = DeletionTime.covering(row, partition: update.deletion, rangeTombstones: update.rangeTombstones)
            var cells: [Cell] = []
            cells.reserveCapacity(row.cells.count)
            for var cell in row.cells {
                if shadow.deletes(cell.timestamp) { continue }
                if case .expiring(_, let expiresAt) = cell.kind, expiresAt <= nowMicros {
                    cell = Cell.tombstone(cell.column, timestamp: cell.timestamp, deletedAt: expiresAt)
                }
                if case .tombstone(let at) = cell.kind,
                   purgeable(DeletionTime(markedAt: cell.timestamp, localDeletionTime: at)) {
                    purged += 1
                    continue
                }
                cells.append(cell)
            }
            row.cells = cells
            // A row deletion no stronger than the partition's is redundant.
            if !row.deletion.isLive && (purgeable(row.deletion) || redundant(row.deletion)) {
                if purgeable(row.deletion) { purged += 1 }
                row.deletion = .live
            }
            if !row.cells.isEmpty || !row.deletion.isLive { rows.append(row) }
        }
        update.rows = rows
        let before = update.rangeTombstones.count
        update.rangeTombstones.removeAll { purgeable($0.deletion) || redundant($0.deletion) }
        purged += before - update.rangeTombstones.count
        if purgeable(update.deletion) {
            update.deletion = .live
            purged += 1
        }
        return purged
    }
}
