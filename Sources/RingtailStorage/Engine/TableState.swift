// The engine's in-memory state for one table: its manifest entry, active
// and flushing memtables, and live SSTables. Guarded by the engine lock.
import RingtailCore

final class TableState {
    var manifest: TableManifest
    var active: Memtable
    /// Frozen memtables waiting for flush, oldest first, each with the
    /// commit log position at which it was frozen.
    var flushing: [(memtable: Memtable, upTo: CommitLogPosition)] = []
    var flushInProgress = false
    /// Live SSTables, newest data first (descending max timestamp), so a
    /// read meets the SSTables that can shadow others first; add with `insert`.
    private(set) var sstables: [SSTableReader] = []
    var compacting: Set<UInt64> = []

    init(manifest: TableManifest, active: Memtable) {
        self.manifest = manifest
        self.active = active
    }

    func insert(_ reader: SSTableReader) {
        let at = sstables.firstIndex { $0.statistics.maxTimestamp < reader.statistics.maxTimestamp } ?? sstables.count
        sstables.insert(reader, at: at)
    }

    func remove(generations: Set<UInt64>) {
        sstables.removeAll { generations.contains($0.generation) }
    }

    var id: TableID { manifest.id }
    var definition: TableDefinition { manifest.definition }

    /// Commit log position of the oldest mutation not yet in an SSTable.
    var oldestUnflushed: CommitLogPosition? {
        flushing.first?.memtable.lowerBound ?? active.lowerBound
    }
}

/// What a reader needs, captured under the lock and used without it.
struct TableSnapshot {
    /// Newest first.
    var memtables: [Memtable]
    var sstables: [SSTableReader]
}
