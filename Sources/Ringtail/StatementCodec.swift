// Typed statements to storage values and back: every value is checked
// against the table's definition (counts, names, types, sizes) and encoded
// with the order-preserving KeyCodec as `ringtail local` does, so both read
// alike. Bad input is `.invalidRequest` naming the column; never a trap.
import RingtailCore
import RingtailStorage
import RingtailCluster

enum StatementCodec {
    /// Twenty years, Cassandra's TTL ceiling.
    static let ttlSecondsMax: Int32 = 630_720_000
    static let limits = StorageLimits()
    /// The `what` of a partition key (held to the partition key size limit).
    static let partitionKeyRole = "partition key"

    static func type(of value: TypedValue) -> ColumnType {
        switch value {
        case .text: return .text
        case .bigint: return .bigint
        case .int: return .int
        case .double: return .double
        case .timestamp: return .timestamp
        case .blob: return .blob
        case .boolean: return .boolean
        }
    }

    static func describe(_ columns: [ColumnDefinition]) -> String {
        columns.map { "\($0.name) \($0.type.rawValue)" }.joined(separator: ", ")
    }

    /// Checks `values` against the first `values.count` of `columns`
    /// (exactly all of them unless `prefix`), and encodes them as one key.
    static func encodeKey(_ values: [TypedValue], _ columns: [ColumnDefinition], what: String, table: String,
                          prefix: Bool = false) throws(RequestError) -> [UInt8] {
        let countOK = prefix ? (1...max(1, columns.count)).contains(values.count) && !columns.isEmpty
                             : values.count == columns.count
        guard countOK else {
            let expected = prefix ? "1 to \(columns.count)" : "\(columns.count)"
            throw .invalidRequest("\(table): \(what) takes \(expected) value(s) (\(describe(columns))), got \(values.count)")
        }
        for (value, column) in zip(values, columns) where type(of: value) != column.type {
            throw .invalidRequest("\(table): \(what) column \(column.name) is \(column.type.rawValue), got \(type(of: value).rawValue) \(value)")
        }
        let key = KeyCodec.encodeKey(values)
        let max = what == partitionKeyRole ? limits.partitionKeyBytesMax : limits.clusteringKeyBytesMax
        guard key.count <= max else {
            throw .invalidRequest("\(table): \(what) encodes to \(key.count) bytes; the limit is \(max)")
        }
        return key
    }

    /// The mutation of an insert: a row marker (so the row exists with no
    /// columns too) and one cell per value, all at `timestamp`.
    static func update(for insert: InsertStatement, table: TableDefinition, timestamp: Int64) throws(RequestError) -> PartitionUpdate {
        let name = table.qualifiedName
        let key = try encodeKey(insert.partitionKey, table.partitionKey, what: partitionKeyRole, table: name)
        let clustering = try encodeKey(insert.clusteringKey, table.clusteringKey, what: "clustering key", table: name)
        var kind = Cell.Kind.live
        if let ttl = insert.ttlSeconds {
            guard (1...ttlSecondsMax).contains(ttl) else {
                throw .invalidRequest("\(name): a TTL is 1 to \(ttlSecondsMax) seconds, got \(ttl)")
            }
            kind = .expiring(ttlSeconds: ttl, expiresAt: 0) // the coordinator stamps the expiry
        }
        if let given = insert.timestampMicros, given <= 0 {
            throw .invalidRequest("\(name): a write timestamp is µs since the epoch, above 0; got \(given)")
        }
        let timestamp = insert.timestampMicros ?? timestamp
        var cells = [Cell(column: [], timestamp: timestamp, kind: kind, value: [])]
        for (column, value) in insert.values.sorted(by: { $0.key < $1.key }) {
            guard let definition = table.columns.first(where: { $0.name == column }) else {
                let keys = table.partitionKey + table.clusteringKey
                if keys.contains(where: { $0.name == column }) {
                    throw .invalidRequest("\(name): \(column) is a key column; give it in partitionKey or clusteringKey")
                }
                let known = table.columns.isEmpty ? "none" : describe(table.columns)
                throw .invalidRequest("\(name) has no column \(column) (columns: \(known))")
            }
            guard type(of: value) == definition.type else {
                throw .invalidRequest("\(name): column \(column) is \(definition.type.rawValue), got \(type(of: value).rawValue) \(value)")
            }
            let bytes = KeyCodec.encodeValue(value)
            guard bytes.count <= limits.cellValueBytesMax else {
                throw .invalidRequest("\(name): the value of \(column) is \(bytes.count) bytes; the limit is \(limits.cellValueBytesMax)")
            }
            cells.append(Cell(column: Array(column.utf8), timestamp: timestamp, kind: kind, value: bytes))
        }
        return PartitionUpdate(key: key, rows: [Row(clustering: clustering, cells: cells)])
    }

    /// The mutation of a delete: a partition, row or range tombstone marked
    /// at `timestamp` (its local deletion time is stamped by the coordinator).
    static func update(for delete: DeleteStatement, table: TableDefinition, timestamp: Int64) throws(RequestError) -> PartitionUpdate? {
        let name = table.qualifiedName
        let key = try encodeKey(delete.partitionKey, table.partitionKey, what: partitionKeyRole, table: name)
        let deletion = DeletionTime(markedAt: timestamp, localDeletionTime: 0)
        var update = PartitionUpdate(key: key)
        switch delete.target {
        case .partition:
            update.deletion = deletion
        case .row(let clusteringKey):
            let clustering = try encodeKey(clusteringKey, table.clusteringKey, what: "clustering key", table: name)
            update.rows = [Row(clustering: clustering, deletion: deletion, cells: [])]
        case .range(let slice):
            guard let range = try clusteringRange(slice, table: table) else { return nil } // empty: nothing to delete
            update.rangeTombstones = [RangeTombstone(range: range, deletion: deletion)]
        }
        return update
    }

    /// The read of a select at `level`, or nil if its range holds no key.
    static func read(for select: SelectStatement, table: TableDefinition, level: ConsistencyLevel) throws(RequestError) -> ReadCommand? {
        let name = table.qualifiedName
        let key = try encodeKey(select.partitionKey, table.partitionKey, what: partitionKeyRole, table: name)
        let limit = select.limit ?? .max
        guard limit >= 0 else { throw .invalidRequest("\(name): a limit is at least 0, got \(limit)") }
        guard let range = try clusteringRange(select.range, table: table) else { return nil }
        let descending = select.descending ?? (table.options.clusteringOrder == .descending)
        return ReadCommand(table: name, key: key, slice: range, limit: limit, descending: descending, level: level)
    }
}

extension StatementCodec {
    /// The byte range of a typed slice, or nil if no key can lie in it.
    ///
    /// A bound on all clustering columns is used as is. A bound on a prefix
    /// P stands for every key starting with P: an inclusive upper bound
    /// becomes "below the successor of P", an exclusive lower bound "from the
    /// successor of P" (the smallest byte string above every extension of P).
    static func clusteringRange(_ slice: ClusteringSlice, table: TableDefinition) throws(RequestError) -> ClusteringRange? {
        let columns = table.clusteringKey
        func encode(_ values: [TypedValue]) throws(RequestError) -> (key: [UInt8], isPrefix: Bool) {
            guard !columns.isEmpty else {
                throw .invalidRequest("\(table.qualifiedName) has no clustering key; select the whole partition")
            }
            let key = try encodeKey(values, columns, what: "clustering bound", table: table.qualifiedName, prefix: true)
            return (key, values.count < columns.count)
        }
        var lower = ClusteringBound.unbounded, upper = ClusteringBound.unbounded
        switch slice.lower {
        case .unbounded: break
        case .inclusive(let values): lower = .inclusive(try encode(values).key)
        case .exclusive(let values):
            let (key, isPrefix) = try encode(values)
            if !isPrefix {
                lower = .exclusive(key)
            } else if let next = successor(of: key) {
                lower = .inclusive(next)
            } else {
                return nil
            }
        }
        switch slice.upper {
        case .unbounded: break
        case .exclusive(let values): upper = .exclusive(try encode(values).key)
        case .inclusive(let values):
            let (key, isPrefix) = try encode(values)
            if !isPrefix {
                upper = .inclusive(key)
            } else if let next = successor(of: key) {
                upper = .exclusive(next)
            }
        }
        return ClusteringRange(lower: lower, upper: upper)
    }

    /// The smallest byte string greater than every string that starts with
    /// `prefix`; nil if there is none (`prefix` is all 0xFF).
    static func successor(of prefix: [UInt8]) -> [UInt8]? {
        var out = prefix
        while let last = out.last, last == 0xFF { out.removeLast() }
        guard !out.isEmpty else { return nil }
        out[out.count - 1] += 1
        return out
    }

    /// Typed rows of a read. A value that does not decode as its column's
    /// type (written outside this schema) is returned as a blob, never dropped.
    static func resultRows(_ rows: [Row], partitionKey: [TypedValue], table: TableDefinition) -> [ResultRow] {
        let types = Dictionary(table.columns.map { ($0.name, $0.type) }, uniquingKeysWith: { a, _ in a })
        var keyValues: [String: TypedValue] = [:]
        for (column, value) in zip(table.partitionKey, partitionKey) { keyValues[column.name] = value }
        return rows.map { row in
            let clustering = (try? KeyCodec.decodeKey(row.clustering, types: table.clusteringKey.map(\.type)))
                ?? [.blob(row.clustering)]
            var values = keyValues
            for (column, value) in zip(table.clusteringKey, clustering) { values[column.name] = value }
            for cell in row.cells where !cell.column.isEmpty {
                let name = String(decoding: cell.column, as: UTF8.self)
                let decoded = types[name].flatMap { try? KeyCodec.decodeValue(cell.value, type: $0) }
                values[name] = decoded ?? .blob(cell.value)
            }
            return ResultRow(partitionKey: partitionKey, clusteringKey: clustering, values: values)
        }
    }
}
