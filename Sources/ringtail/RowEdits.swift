// What `ringtail local` and the cluster client commands share: a table
// definition from options, and the partition update of a put or a delete
// typed on the command line.
import ArgumentParser
import RingtailStorage

struct TableDefinitionOptions: ParsableArguments {
    @Option(name: .customLong("partition-key"), help: "Partition key columns, name:type (repeat or comma-separate).")
    var partitionKey: [String] = ["key:text"]
    @Option(help: "Clustering columns, name:type (time first for time series).") var clustering: [String] = []
    @Option(help: "Regular columns, name:type (others are stored as text).") var column: [String] = []
    @Option(help: "Clustering order: asc or desc.") var order: String = "asc"
    @Option(help: "Compression: lz4, zstd or none.") var compression: String = "lz4"
    @Option(help: "Compaction: size-tiered or time-window.") var compaction: String = "size-tiered"
    @Option(help: "Time window for time-window compaction, e.g. 1d, 6h, 30m.") var window: String = "1d"
    @Option(help: "Default TTL in seconds (0: none).") var ttl: Int32 = 0
    @Option(name: .customLong("gc-grace"), help: "Seconds tombstones are kept before purge.") var gcGrace: Int64 = 864_000

    func definition(name: String) throws -> TableDefinition {
        let parts = name.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 2 else { throw ValidationError("table name must be KEYSPACE.TABLE") }
        var options = TableOptions()
        guard let o = ["asc": ClusteringOrder.ascending, "desc": .descending][order] else { throw ValidationError("--order must be asc or desc") }
        options.clusteringOrder = o
        switch compression {
        case "lz4": options.compression = .lz4
        case "zstd": options.compression = .zstd(level: 3)
        case "none": options.compression = .none
        default: throw ValidationError("--compression must be lz4, zstd or none")
        }
        switch compaction {
        case "size-tiered": options.compaction = .sizeTiered(SizeTieredOptions())
        case "time-window":
            guard let unit = ["m": TimeWindowUnit.minutes, "h": .hours, "d": .days][String(window.suffix(1))],
                  let size = Int(window.dropLast()), size > 0 else { throw ValidationError("--window must look like 1d, 6h or 30m") }
            options.compaction = .timeWindow(TimeWindowOptions(unit: unit, size: size))
        default: throw ValidationError("--compaction must be size-tiered or time-window")
        }
        options.defaultTTLSeconds = ttl
        options.gcGraceSeconds = gcGrace
        let definition = TableDefinition(keyspace: parts[0], name: parts[1], partitionKey: try Values.columns(partitionKey),
                                         clusteringKey: try Values.columns(clustering), columns: try Values.columns(column),
                                         options: options)
        do { try definition.validate() } catch { throw ValidationError(error.description) }
        return definition
    }
}

enum RowEdits {
    /// One row's cells (with a row marker) at `timestamp`.
    static func put(_ d: TableDefinition, key: [String], clustering: [String], set: [String], ttl: Int32?,
                    timestamp ts: Int64, now: Int64) throws -> PartitionUpdate {
        let types = Dictionary(d.columns.map { ($0.name, $0.type) }, uniquingKeysWith: { a, _ in a })
        let kind: Cell.Kind = ttl.map { .expiring(ttlSeconds: $0, expiresAt: 0) } ?? .live
        var cells = [Cell(column: [], timestamp: ts, kind: kind, value: [])] // row marker
        for assignment in set {
            guard let eq = assignment.firstIndex(of: "=") else { throw ValidationError("--set takes column=value, got '\(assignment)'") }
            let name = String(assignment[..<eq]), text = String(assignment[assignment.index(after: eq)...])
            let value = KeyCodec.encodeValue(try Values.parse(text, as: types[name] ?? .text, nowMicros: now))
            cells.append(Cell(column: Array(name.utf8), timestamp: ts, kind: kind, value: value))
        }
        let row = Row(clustering: try parseKey(clustering, d.clusteringKey, what: "--clustering", now: now), cells: cells)
        return PartitionUpdate(key: try parseKey(key, d.partitionKey, what: "--key", now: now), rows: [row])
    }

    /// A partition, row, cell or clustering-range tombstone at `timestamp`.
    static func delete(_ d: TableDefinition, key: [String], clustering: [String], column: String?, from: String?, to: String?,
                       timestamp: Int64, now: Int64) throws -> PartitionUpdate {
        let deletion = DeletionTime(markedAt: timestamp, localDeletionTime: now)
        var update = PartitionUpdate(key: try parseKey(key, d.partitionKey, what: "--key", now: now))
        if column != nil && (from != nil || to != nil || (clustering.isEmpty && !d.clusteringKey.isEmpty)) {
            // Never widen a cell delete into a range or partition delete.
            throw ValidationError("--column deletes one cell: give the row's full --clustering key, not --from/--to")
        }
        if from != nil || to != nil {
            update.rangeTombstones = [RangeTombstone(range: ClusteringRange(
                lower: try clusteringBound(from, d, now: now, inclusive: true),
                upper: try clusteringBound(to, d, now: now, inclusive: false)), deletion: deletion)]
        } else if !clustering.isEmpty || d.clusteringKey.isEmpty && column != nil {
            let ck = try parseKey(clustering, d.clusteringKey, what: "--clustering", now: now)
            if let column {
                update.rows = [Row(clustering: ck, cells: [.tombstone(Array(column.utf8), timestamp: timestamp, deletedAt: now)])]
            } else {
                update.rows = [Row(clustering: ck, deletion: deletion, cells: [])]
            }
        } else {
            update.deletion = deletion
        }
        return update
    }
}
