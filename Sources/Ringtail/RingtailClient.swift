// The client API: typed statements (insert, select, delete) and the protocol
// every client implements, in-process (`EmbeddedClient`) now and over the
// network later. Statements carry typed values; the cluster checks them
// against the table's definition, so a remote client sends the same values.

/// Writes one row: its full primary key and some of its columns.
public struct InsertStatement: Hashable, Sendable {
    /// The qualified table name, `keyspace.table`.
    public var table: String
    /// One value per partition key column, in order.
    public var partitionKey: [TypedValue]
    /// One value per clustering column, in order (empty if the table has none).
    public var clusteringKey: [TypedValue]
    /// Regular columns by name; columns left out keep their current value.
    public var values: [String: TypedValue]
    /// Seconds until the written cells expire (1 to 630,720,000); nil: the table's default TTL.
    public var ttlSeconds: Int32?
    /// The cells' write timestamp, µs since the epoch (Cassandra's `USING
    /// TIMESTAMP`); nil: the client's clock. Writing the same row again with
    /// the same timestamp and values changes nothing, which makes replays idempotent.
    public var timestampMicros: Int64?

    public init(table: String, partitionKey: [TypedValue], clusteringKey: [TypedValue] = [],
                values: [String: TypedValue], ttlSeconds: Int32? = nil, timestampMicros: Int64? = nil) {
        self.table = table
        self.partitionKey = partitionKey
        self.clusteringKey = clusteringKey
        self.values = values
        self.ttlSeconds = ttlSeconds
        self.timestampMicros = timestampMicros
    }
}

/// Reads rows of one partition in a clustering range (a time range on a time-series table).
public struct SelectStatement: Hashable, Sendable {
    public var table: String
    public var partitionKey: [TypedValue]
    public var range: ClusteringSlice
    /// At most this many rows (at least 0); nil: no limit.
    public var limit: Int?
    /// Largest clustering key first; nil: the table's clustering order.
    public var descending: Bool?

    public init(table: String, partitionKey: [TypedValue], range: ClusteringSlice = .all, limit: Int? = nil,
                descending: Bool? = nil) {
        self.table = table
        self.partitionKey = partitionKey
        self.range = range
        self.limit = limit
        self.descending = descending
    }
}

/// Deletes a whole partition, one row, or a clustering range (one tombstone each).
public struct DeleteStatement: Hashable, Sendable {
    public enum Target: Hashable, Sendable {
        case partition
        /// The row with this full clustering key.
        case row([TypedValue])
        /// Every row in the range.
        case range(ClusteringSlice)
    }

    public var table: String
    public var partitionKey: [TypedValue]
    public var target: Target

    public init(table: String, partitionKey: [TypedValue], target: Target = .partition) {
        self.table = table
        self.partitionKey = partitionKey
        self.target = target
    }
}

/// A range of clustering keys, bounded on a prefix of the clustering
/// columns: usually the first one, the time of a time-series table.
///
/// A bound on a prefix covers every key that starts with it: on a table
/// clustered by `(ts, seq)`, `.inclusive([.timestamp(t)])` as an upper bound
/// keeps every row at `t`, and `.exclusive([.timestamp(t)])` drops them all.
public struct ClusteringSlice: Hashable, Sendable {
    public enum Bound: Hashable, Sendable {
        case unbounded
        /// Values for the first n clustering columns (1 <= n <= their count).
        case inclusive([TypedValue])
        case exclusive([TypedValue])
    }

    public var lower: Bound
    public var upper: Bound

    public init(lower: Bound = .unbounded, upper: Bound = .unbounded) {
        self.lower = lower
        self.upper = upper
    }

    /// Every row of the partition.
    public static let all = ClusteringSlice()

    /// First clustering value in `lower ..< upper`: "from 10:00 to 11:00", 11:00 excluded.
    public static func from(_ lower: TypedValue, to upper: TypedValue) -> ClusteringSlice {
        ClusteringSlice(lower: .inclusive([lower]), upper: .exclusive([upper]))
    }

    /// First clustering value in `lower ... upper`, both included.
    public static func from(_ lower: TypedValue, through upper: TypedValue) -> ClusteringSlice {
        ClusteringSlice(lower: .inclusive([lower]), upper: .inclusive([upper]))
    }

    /// First clustering value at least `lower`.
    public static func from(_ lower: TypedValue) -> ClusteringSlice { ClusteringSlice(lower: .inclusive([lower])) }

    /// First clustering value below `upper`.
    public static func before(_ upper: TypedValue) -> ClusteringSlice { ClusteringSlice(upper: .exclusive([upper])) }

    /// Exactly the row with this full clustering key.
    public static func row(_ clusteringKey: [TypedValue]) -> ClusteringSlice {
        ClusteringSlice(lower: .inclusive(clusteringKey), upper: .inclusive(clusteringKey))
    }
}

/// One row of a select: its key values and its live columns, typed by the table's definition.
public struct ResultRow: Hashable, Sendable {
    public var partitionKey: [TypedValue]
    public var clusteringKey: [TypedValue]
    /// Every column by name: the key columns, and the regular columns that
    /// hold a live value (deleted, expired and never-written ones are absent).
    public var values: [String: TypedValue]

    public init(partitionKey: [TypedValue], clusteringKey: [TypedValue], values: [String: TypedValue]) {
        self.partitionKey = partitionKey
        self.clusteringKey = clusteringKey
        self.values = values
    }

    /// The value of a column (key or regular), nil if the row has none.
    public subscript(column: String) -> TypedValue? { values[column] }
}

/// A connection to a Ringtail cluster at a default consistency level.
///
/// Contract for every implementation: a call returns once the consistency
/// level is met, or throws a `RequestError` with the numbers that explain why
/// not (`.unavailable` at once when too few replicas are alive, `.timeout`
/// when they are too slow, `.invalidRequest` for input that does not fit the
/// schema, `.coordinatorLost` when no coordinator answered). A write that
/// times out may still have been applied by some replicas. Timestamps are
/// assigned by the cluster; writes through one client never tie.
public protocol RingtailClient: Sendable {
    /// The level of calls that give none.
    var consistency: ConsistencyLevel { get }
    func execute(_ statement: InsertStatement, consistency: ConsistencyLevel?) async throws(RequestError)
    func execute(_ statement: SelectStatement, consistency: ConsistencyLevel?) async throws(RequestError) -> [ResultRow]
    func execute(_ statement: DeleteStatement, consistency: ConsistencyLevel?) async throws(RequestError)
    /// Writes many rows; rows of one partition go as one write. Fails with
    /// the first error (rows of other partitions may have been written).
    func execute(batch: [InsertStatement], consistency: ConsistencyLevel?) async throws(RequestError)
}

extension RingtailClient {
    /// One write per row (clients that can group rows by partition do better).
    public func execute(batch: [InsertStatement], consistency: ConsistencyLevel?) async throws(RequestError) {
        for statement in batch { try await execute(statement, consistency: consistency) }
    }

    /// Writes one row (see `InsertStatement`); `consistency` overrides the client's level.
    public func insert(into table: String, partitionKey: [TypedValue], clusteringKey: [TypedValue] = [],
                       values: [String: TypedValue], ttl: Int32? = nil,
                       consistency: ConsistencyLevel? = nil) async throws(RequestError) {
        try await execute(InsertStatement(table: table, partitionKey: partitionKey, clusteringKey: clusteringKey,
                                          values: values, ttlSeconds: ttl), consistency: consistency)
    }

    /// Reads one partition's rows in `range` (see `SelectStatement`).
    public func select(from table: String, partitionKey: [TypedValue], range: ClusteringSlice = .all, limit: Int? = nil,
                       descending: Bool? = nil, consistency: ConsistencyLevel? = nil) async throws(RequestError) -> [ResultRow] {
        try await execute(SelectStatement(table: table, partitionKey: partitionKey, range: range, limit: limit,
                                          descending: descending), consistency: consistency)
    }

    /// Deletes one row (its full clustering key), or the whole partition when `clusteringKey` is nil.
    public func delete(from table: String, partitionKey: [TypedValue], clusteringKey: [TypedValue]? = nil,
                       consistency: ConsistencyLevel? = nil) async throws(RequestError) {
        try await execute(DeleteStatement(table: table, partitionKey: partitionKey,
                                          target: clusteringKey.map { .row($0) } ?? .partition), consistency: consistency)
    }

    /// Deletes every row of the partition in `range`, with one range tombstone.
    public func delete(from table: String, partitionKey: [TypedValue], range: ClusteringSlice,
                       consistency: ConsistencyLevel? = nil) async throws(RequestError) {
        try await execute(DeleteStatement(table: table, partitionKey: partitionKey, target: .range(range)),
                          consistency: consistency)
    }
}
