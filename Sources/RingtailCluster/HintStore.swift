// Hinted handoff's durable half: hints for replicas that missed a write are
// kept in the coordinator's own storage engine, in the table system.hints
// (partition = target node, clustering = creation time then sequence), so
// they survive a restart through the same commit log and SSTables as data.
// A hint expires with the hint window (a cell TTL); delivered hints are
// removed with one range tombstone. See docs/internals/hinted-handoff.md.
import RingtailCore
import RingtailStorage

/// Durable, bounded hints per target node. Thread-safe.
public final class HintStore: @unchecked Sendable {
    public struct Options: Sendable {
        /// Hints older than this are dropped, never delivered (default 3 h).
        public var window: Duration = .seconds(3 * 3600)
        /// Most hint bytes kept for one target; further hints are dropped.
        public var targetBytesMax: ByteCount = .mebibytes(128)
        public init() {}
    }

    public struct Hint: Hashable, Sendable {
        public var target: NodeID
        public var createdAtMicros: Int64
        public var sequence: Int64
        /// The table as `keyspace.table` (table ids differ between nodes).
        public var table: String
        public var update: PartitionUpdate
        /// `update` as stored (its encoding), ready to send without re-encoding.
        public var encodedUpdate: [UInt8]
    }

    public enum StoreOutcome: Hashable, Sendable {
        case stored
        case droppedOverBudget(pendingBytes: Int)
    }

    public struct Statistics: Hashable, Sendable {
        public var stored = 0
        public var delivered = 0
        public var droppedOverBudget = 0
        public var droppedExpired = 0
        public var pendingHints = 0
        public var pendingBytes = 0
    }

    private struct Pending {
        var entries: [(clustering: [UInt8], createdAt: Int64, bytes: Int)] = []
        var bytes = 0
    }

    private struct State {
        var pending: [NodeID: Pending] = [:]
        var stats = Statistics()
        var sequence: Int64 = 0

        /// Forgets the oldest hints of `target` while `matches` holds, in
        /// place (one removal, no copy of the list); returns how many.
        mutating func removeOldest(of target: NodeID, while matches: ((clustering: [UInt8], createdAt: Int64, bytes: Int)) -> Bool) -> Int {
            // Measure first, in a scope of its own, so no second reference to
            // the list is alive when it is shortened (that would copy it).
            let (count, bytes, total): (Int, Int, Int) = {
                guard let entries = pending[target]?.entries else { return (0, 0, 0) }
                let count = entries.prefix(while: matches).count
                return (count, entries.prefix(count).reduce(0) { $0 + $1.bytes }, entries.count)
            }()
            guard count > 0 else { return 0 }
            if count == total {
                pending[target] = nil
            } else {
                pending[target]!.entries.removeFirst(count)
                pending[target]!.bytes -= bytes
            }
            stats.pendingBytes -= bytes
            stats.pendingHints -= count
            return count
        }
    }

    public static let tableName = "system.hints"
    private static let tableColumn: [UInt8] = Array("t".utf8)
    private static let updateColumn: [UInt8] = Array("u".utf8)

    let engine: StorageEngine
    let clock: Clock
    public let options: Options
    let table: TableID
    private let state = Locked(State())

    /// Opens the store on `engine`, creating system.hints if needed, and
    /// rebuilds the pending counts from what is on disk.
    public init(engine: StorageEngine, clock: Clock, options: Options = Options()) throws(StorageError) {
        self.engine = engine
        self.clock = clock
        self.options = options
        if let (id, _) = engine.table(named: Self.tableName) {
            table = id
        } else {
            var tableOptions = TableOptions()
            tableOptions.gcGraceSeconds = 0 // hints are never repaired: tombstones can go at once
            tableOptions.compaction = .timeWindow(TimeWindowOptions(unit: .hours, size: 1))
            table = try engine.createTable(TableDefinition(
                keyspace: "system", name: "hints", partitionKey: [ColumnDefinition("target", .text)],
                clusteringKey: [ColumnDefinition("created", .timestamp), ColumnDefinition("sequence", .bigint)],
                columns: [ColumnDefinition("t", .text), ColumnDefinition("u", .blob)], options: tableOptions))
        }
        var after: PartitionPosition?
        for _ in 0..<1_000_000 {
            let page = try engine.scan(table, range: .full, after: after, limit: 256)
            for p in page.partitions {
                guard case .text(let name)? = try? KeyCodec.decodeKey(p.key, types: [.text]).first else { continue }
                let rows = try engine.read(table, key: p.key).rows
                state.withLock { s in
                    for row in rows {
                        let created = Self.createdAt(row.clustering)
                        let bytes = row.cells.reduce(0) { $0 + $1.value.count }
                        s.pending[NodeID(name), default: Pending()].entries.append((row.clustering, created, bytes))
                        s.pending[NodeID(name)]!.bytes += bytes
                        s.stats.pendingHints += 1
                        s.stats.pendingBytes += bytes
                        s.sequence = max(s.sequence, Self.sequence(row.clustering) + 1)
                    }
                }
            }
            guard let last = page.last else { break }
            after = last
        }
    }

    static func createdAt(_ clustering: [UInt8]) -> Int64 {
        if case .timestamp(let t)? = try? KeyCodec.decodeKey(clustering, types: [.timestamp, .bigint]).first { return t }
        return 0
    }

    static func sequence(_ clustering: [UInt8]) -> Int64 {
        if let parts = try? KeyCodec.decodeKey(clustering, types: [.timestamp, .bigint]), case .bigint(let s) = parts[1] { return s }
        return 0
    }

    /// Stores a hint durably (per the engine's commit log sync mode), unless
    /// the target's byte budget is spent.
    @discardableResult
    public func store(_ update: PartitionUpdate, table qualifiedName: String, for target: NodeID) throws(StorageError) -> StoreOutcome {
        let encoded = update.encoded()
        let bytes = encoded.count + qualifiedName.utf8.count
        let now = clock.wallMicros()
        let reserved: Int64? = state.withLock { s in
            let current = s.pending[target]?.bytes ?? 0
            if current + bytes > options.targetBytesMax.bytes {
                s.stats.droppedOverBudget += 1
                return nil
            }
            defer { s.sequence += 1 }
            return s.sequence
        }
        guard let sequence = reserved else {
            return .droppedOverBudget(pendingBytes: state.withLock { $0.pending[target]?.bytes ?? 0 })
        }
        let clustering = KeyCodec.encodeKey([.timestamp(now), .bigint(sequence)])
        let ttl = Int32(clamping: max(1, options.window.nanosecondsClamped / 1_000_000_000))
        let expiring = Cell.Kind.expiring(ttlSeconds: ttl, expiresAt: 0)
        let row = Row(clustering: clustering, cells: [
            Cell(column: Self.tableColumn, timestamp: now, kind: expiring, value: Array(qualifiedName.utf8)),
            Cell(column: Self.updateColumn, timestamp: now, kind: expiring, value: encoded),
        ])
        try engine.apply(Mutation(table: table, update: PartitionUpdate(key: Self.key(target), rows: [row])))
        state.withLock { s in
            s.pending[target, default: Pending()].entries.append((clustering, now, bytes))
            s.pending[target]!.bytes += bytes
            s.stats.stored += 1
            s.stats.pendingHints += 1
            s.stats.pendingBytes += bytes
        }
        return .stored
    }

    static func key(_ target: NodeID) -> [UInt8] { KeyCodec.encodeKey([.text(target.name)]) }

    /// Up to `limit` hints for `target` in creation order, oldest first.
    /// Hints past the window are dropped here (counted), never returned.
    public func nextBatch(for target: NodeID, limit: Int) throws(StorageError) -> [Hint] {
        dropExpired(for: target)
        let rows = try engine.read(table, key: Self.key(target), limit: limit).rows
        var out: [Hint] = []
        for row in rows {
            guard let t = row.cells.first(where: { $0.column == Self.tableColumn }),
                  let u = row.cells.first(where: { $0.column == Self.updateColumn }),
                  let name = String(validating: t.value, as: UTF8.self) else { continue }
            let update = try PartitionUpdate(decoding: u.value)
            out.append(Hint(target: target, createdAtMicros: Self.createdAt(row.clustering),
                            sequence: Self.sequence(row.clustering), table: name, update: update, encodedUpdate: u.value))
        }
        return out
    }

    /// Removes every hint for `target` up to and including `hint` (delivered
    /// and acknowledged by the target), with one range tombstone.
    public func acknowledge(through hint: Hint) throws(StorageError) {
        let upper = KeyCodec.encodeKey([.timestamp(hint.createdAtMicros), .bigint(hint.sequence)])
        let now = clock.wallMicros()
        try engine.apply(Mutation(table: table, update: PartitionUpdate(key: Self.key(hint.target), rangeTombstones: [
            RangeTombstone(range: ClusteringRange(lower: .unbounded, upper: .inclusive(upper)),
                           deletion: DeletionTime(markedAt: now, localDeletionTime: now)),
        ])))
        state.withLock { s in
            let removed = s.removeOldest(of: hint.target) { compareBytes($0.clustering, upper) <= 0 }
            s.stats.delivered += removed
        }
    }

    /// Forgets in-memory accounting for hints past the window (their cells
    /// have expired on disk already).
    private func dropExpired(for target: NodeID) {
        let cutoff = clock.wallMicros() - options.window.microsecondsClamped
        state.withLock { s in
            s.stats.droppedExpired += s.removeOldest(of: target) { $0.createdAt <= cutoff }
        }
    }

    public func pending(for target: NodeID) -> (hints: Int, bytes: Int) {
        state.withLock { s in (s.pending[target]?.entries.count ?? 0, s.pending[target]?.bytes ?? 0) }
    }

    public var targets: [NodeID] { state.withLock { $0.pending.keys.sorted() } }

    public var statistics: Statistics { state.withLock { $0.stats } }
}
