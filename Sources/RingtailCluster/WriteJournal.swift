// The coordinator's write journal: every client write sent to replicas is
// recorded durably on its coordinator before the client hears "written", and
// forgotten once every replica has acknowledged it or holds a hint for it.
// A coordinator that dies in between (SIGKILL, power loss) finds the entry
// when it restarts and hints the write to all its replicas: so a write
// acknowledged to a client reaches every replica even when its coordinator
// died before the write timeout could hint the silent ones. Cassandra has no
// such record for single writes (its batchlog covers logged batches only) and
// leaves those replicas to repair. Entries live in the coordinator's own
// storage engine, in the table system.write_journal, beside system.hints.
// See docs/internals/hinted-handoff.md.
import RingtailCore
import RingtailStorage

/// One client write in flight on its coordinator.
public struct JournalEntry: Hashable, Sendable {
    /// The write's replica message id: unique across the node's restarts.
    public var id: UInt64
    /// The entry's write timestamp; its removal deletes at the same
    /// timestamp, so a removal applied first still shadows the entry.
    public var timestamp: Int64
    /// `keyspace.table`.
    public var table: String
    public var update: PartitionUpdate
    /// The replicas the write was sent to (not those hinted at once).
    public var replicas: [NodeID]

    public init(id: UInt64, timestamp: Int64, table: String, update: PartitionUpdate, replicas: [NodeID]) {
        self.id = id
        self.timestamp = timestamp
        self.table = table
        self.update = update
        self.replicas = replicas
    }
}

/// The durable journal of unfinished client writes. Thread-safe.
public final class WriteJournal: @unchecked Sendable {
    public struct Statistics: Hashable, Sendable {
        public var recorded = 0
        public var forgotten = 0
        /// Entries found at startup: writes a previous incarnation left unfinished.
        public var recovered = 0
        /// Entries found at startup that did not decode: dropped.
        public var unreadable = 0
        /// Entries or removals the engine could not write (an I/O error).
        public var failures = 0
    }

    public static let tableName = "system.write_journal"
    static let tableColumn: [UInt8] = Array("t".utf8)
    static let updateColumn: [UInt8] = Array("u".utf8)
    static let replicasColumn: [UInt8] = Array("r".utf8)
    /// Ids per partition: a partition holds one range of ids, so none grows
    /// without bound and a crash leaves entries in a few partitions.
    static let bucketShift = 16

    let engine: StorageEngine
    let clock: Clock
    let table: TableID
    private let stats = Locked(Statistics())

    /// Opens the journal on `engine`, creating its table if needed.
    public init(engine: StorageEngine, clock: Clock) throws(StorageError) {
        self.engine = engine
        self.clock = clock
        if let (id, _) = engine.table(named: Self.tableName) {
            table = id
        } else {
            var options = TableOptions()
            options.gcGraceSeconds = 0 // entries are never repaired: their tombstones can go at once
            table = try engine.createTable(TableDefinition(
                keyspace: "system", name: "write_journal", partitionKey: [ColumnDefinition("bucket", .bigint)],
                clusteringKey: [ColumnDefinition("id", .bigint)],
                columns: [ColumnDefinition("t", .text), ColumnDefinition("u", .blob), ColumnDefinition("r", .text)],
                options: options))
        }
    }

    static func key(_ id: UInt64) -> [UInt8] { KeyCodec.encodeKey([.bigint(Int64(bitPattern: id >> bucketShift))]) }
    static func clustering(_ id: UInt64) -> [UInt8] { KeyCodec.encodeKey([.bigint(Int64(bitPattern: id))]) }

    /// Records an entry; durable (per the commit log sync mode) when it returns.
    public func record(_ entry: JournalEntry) throws(StorageError) {
        do {
            try engine.apply(mutation(for: entry))
        } catch {
            counted(recorded: false)
            throw error
        }
        counted(recorded: true)
    }

    /// Counts an entry recorded through `mutation(for:)` by the caller.
    public func counted(recorded: Bool) {
        stats.withLock { if recorded { $0.recorded += 1 } else { $0.failures += 1 } }
    }

    /// The storage mutation that records `entry` (for a caller that applies
    /// it in a batch with other writes; then call `counted(recorded:)`).
    public func mutation(for entry: JournalEntry) -> Mutation {
        let row = Row(clustering: Self.clustering(entry.id), cells: [
            Cell(column: Self.tableColumn, timestamp: entry.timestamp, kind: .live, value: Array(entry.table.utf8)),
            Cell(column: Self.updateColumn, timestamp: entry.timestamp, kind: .live, value: entry.update.encoded()),
            Cell(column: Self.replicasColumn, timestamp: entry.timestamp, kind: .live,
                 value: Array(entry.replicas.map(\.name).joined(separator: ",").utf8)),
        ])
        return Mutation(table: table, update: PartitionUpdate(key: Self.key(entry.id), rows: [row]))
    }

    /// Removes an entry. Not durable unless `durable`: a crash that loses the
    /// removal loses everything appended after it too, and recovery then
    /// hints the write again, which replicas apply as a no-op.
    public func forget(id: UInt64, timestamp: Int64, durable: Bool = false) throws(StorageError) {
        let now = clock.wallMicros()
        let row = Row(clustering: Self.clustering(id), deletion: DeletionTime(markedAt: timestamp, localDeletionTime: now),
                      cells: [])
        do {
            try engine.apply(Mutation(table: table, update: PartitionUpdate(key: Self.key(id), rows: [row])), durable: durable)
        } catch {
            stats.withLock { $0.failures += 1 }
            throw error
        }
        stats.withLock { $0.forgotten += 1 }
    }

    /// Every entry not yet forgotten, in id order. A row that does not decode
    /// (this node wrote it, so only a bug or a damaged disk) is skipped with
    /// its id in `unreadable`.
    public func entries() throws(StorageError) -> (entries: [JournalEntry], unreadable: [UInt64]) {
        var out: [JournalEntry] = []
        var unreadable: [UInt64] = []
        var after: PartitionPosition?
        for _ in 0..<10_000_000 {
            let page = try engine.scan(table, range: .full, after: after, limit: 256)
            for p in page.partitions {
                for row in p.rows {
                    guard case .bigint(let raw)? = try? KeyCodec.decodeKey(row.clustering, types: [.bigint]).first else { continue }
                    let id = UInt64(bitPattern: raw)
                    func cell(_ column: [UInt8]) -> [UInt8]? { row.cells.first { $0.column == column }?.value }
                    guard let t = cell(Self.tableColumn), let name = String(validating: t, as: UTF8.self),
                          let u = cell(Self.updateColumn), let update = try? PartitionUpdate(decoding: u),
                          let r = cell(Self.replicasColumn), let replicas = String(validating: r, as: UTF8.self),
                          let timestamp = row.cells.first?.timestamp else {
                        unreadable.append(id)
                        continue
                    }
                    out.append(JournalEntry(id: id, timestamp: timestamp, table: name, update: update,
                                            replicas: replicas.split(separator: ",").map { NodeID(String($0)) }))
                }
            }
            guard let last = page.last else { break }
            after = last
        }
        return (out.sorted { $0.id < $1.id }, unreadable.sorted())
    }

    /// Counts entries found at startup (the node hints them, then forgets them).
    public func countRecovered(_ n: Int, unreadable: Int) {
        stats.withLock {
            $0.recovered += n
            $0.unreadable += unreadable
        }
    }

    public var statistics: Statistics { stats.withLock { $0 } }
}
