// `ringtail local --data DIR …`: drives one embedded storage engine with no
// network: create tables, put, get, scan a time range, delete, flush,
// compact, stats. For demos and scripts; `--json` output for the latter.
import ArgumentParser
import Foundation
import RingtailCore
import RingtailPosix
import RingtailStorage

struct EngineOptionGroup: ParsableArguments {
    @Option(name: .long, help: "Data directory of the engine.")
    var data: String = "ringtail-data"

    @Option(name: .long, help: "Commit log sync: batch, group or periodic.")
    var sync: String = "batch"

    /// Engine options from the command line (`--sync`).
    func engineOptions() throws -> EngineOptions {
        var options = EngineOptions()
        switch sync {
        case "batch": options.syncMode = .batch
        case "group": options.syncMode = .group(.milliseconds(2))
        case "periodic": options.syncMode = .periodic(.seconds(10))
        default: throw ValidationError("--sync must be batch, group or periodic")
        }
        return options
    }

    func open() throws -> StorageEngine {
        try StorageEngine(directory: data, fileSystem: PosixFileSystem(), clock: SystemClock(), options: try engineOptions())
    }

    /// Opens the engine, runs `body`, and closes it. A failed close (its
    /// final commit log sync) is an error like any other, so a command
    /// reports success only once its writes are durable.
    func withEngine<T>(_ body: (StorageEngine) throws -> T) throws -> T {
        let e = try open()
        let result: T
        do { result = try body(e) } catch {
            try? e.close()
            throw error
        }
        try e.close()
        return result
    }
}

struct LocalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "local",
        abstract: "Drive one embedded storage engine directly (no network): ringtail local --data DIR <command>.",
        subcommands: [CreateTable.self, Tables.self, Put.self, Get.self, Scan.self, Delete.self,
                      Flush.self, Compact.self, Stats.self, Demo.self, CrashWriter.self])

    @OptionGroup var engine: EngineOptionGroup
}

/// The table's definition and id, or a clear error.
func resolve(_ engine: StorageEngine, _ name: String) throws -> (TableID, TableDefinition) {
    guard let found = engine.table(named: name) else {
        let known = engine.tableDefinitions.map(\.1.qualifiedName).joined(separator: ", ")
        throw ValidationError("no table \(name)" + (known.isEmpty ? " (no tables yet; use create-table)" : "; tables: \(known)"))
    }
    return found
}

func parseKey(_ values: [String], _ columns: [ColumnDefinition], what: String, now: Int64) throws -> [UInt8] {
    guard values.count == columns.count else {
        throw ValidationError("\(what) needs \(columns.count) value(s) (\(columns.map { "\($0.name):\($0.type.rawValue)" }.joined(separator: ", "))), got \(values.count)")
    }
    return KeyCodec.encodeKey(try zip(values, columns).map { try Values.parse($0, as: $1.type, nowMicros: now) })
}

/// Prefix bound for a clustering range on the first clustering column.
func clusteringBound(_ value: String?, _ definition: TableDefinition, now: Int64, inclusive: Bool) throws -> ClusteringBound {
    guard let value else { return .unbounded }
    guard let first = definition.clusteringKey.first else { throw ValidationError("table has no clustering key") }
    let encoded = KeyCodec.encodeKey([try Values.parse(value, as: first.type, nowMicros: now)])
    // With a composite key this is a prefix: every key that starts with it
    // sorts after it, so an inclusive lower and an exclusive upper bound on
    // the first component are right as they are (the only ones used here).
    return inclusive ? .inclusive(encoded) : .exclusive(encoded)
}

func render(_ row: Row, _ definition: TableDefinition) -> (clustering: [String], cells: [(String, String, Any)]) {
    let clustering = (try? KeyCodec.decodeKey(row.clustering, types: definition.clusteringKey.map(\.type)))?.map(Values.render)
        ?? [row.clustering.map { String(format: "%02x", $0) }.joined()]
    let types = Dictionary(definition.columns.map { ($0.name, $0.type) }, uniquingKeysWith: { a, _ in a })
    let cells = row.cells.map { cell -> (String, String, Any) in
        let name = String(decoding: cell.column, as: UTF8.self)
        let type = types[name] ?? .text
        if let v = try? KeyCodec.decodeValue(cell.value, type: type) { return (name, Values.render(v), Values.json(v)) }
        let raw = String(decoding: cell.value, as: UTF8.self)
        return (name, raw, raw)
    }
    return (clustering, cells)
}

func printRows(_ rows: [Row], _ definition: TableDefinition, json: Bool) {
    for row in rows {
        let r = render(row, definition)
        if json {
            var object: [String: Any] = [:]
            for (i, c) in definition.clusteringKey.enumerated() where i < r.clustering.count { object[c.name] = r.clustering[i] }
            for (name, _, value) in r.cells { object[name] = value }
            print(Values.jsonLine(object))
        } else {
            let key = r.clustering.isEmpty ? "" : r.clustering.joined(separator: ", ") + "  "
            print(key + r.cells.map { "\($0.0)=\($0.1)" }.joined(separator: " "))
        }
    }
}

extension LocalCommand {
    struct CreateTable: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "create-table", abstract: "Create KEYSPACE.TABLE.")
        @ParentCommand var local: LocalCommand
        var engine: EngineOptionGroup { local.engine }
        @Argument(help: "KEYSPACE.TABLE") var name: String
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

        func run() throws {
            let parts = name.split(separator: ".").map(String.init)
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
            let id = try engine.withEngine { try $0.createTable(definition) }
            print("created \(name) (\(id))")
        }
    }

    struct Tables: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List tables.")
        @ParentCommand var local: LocalCommand
        var engine: EngineOptionGroup { local.engine }
        func run() throws {
            try engine.withEngine { e in
                for (id, d) in e.tableDefinitions {
                    let cols = { (c: [ColumnDefinition]) in c.map { "\($0.name):\($0.type.rawValue)" }.joined(separator: ",") }
                    print("\(d.qualifiedName) (\(id)) partition key [\(cols(d.partitionKey))] clustering [\(cols(d.clusteringKey))] \(d.options.clusteringOrder.rawValue) columns [\(cols(d.columns))]")
                }
            }
        }
    }

    struct Put: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Write cells of one row.")
        @ParentCommand var local: LocalCommand
        var engine: EngineOptionGroup { local.engine }
        @Argument(help: "KEYSPACE.TABLE") var table: String
        @Option(help: "Partition key value(s), in key column order.") var key: [String]
        @Option(help: "Clustering value(s), in clustering column order.") var clustering: [String] = []
        @Option(help: "column=value (repeat).") var set: [String]
        @Option(help: "TTL in seconds.") var ttl: Int32?
        @Option(help: "Write timestamp in microseconds (default: now).") var timestamp: Int64?

        func run() throws {
            try engine.withEngine { e in
                let (id, d) = try resolve(e, table)
                let now = SystemClock().wallMicros()
                let types = Dictionary(d.columns.map { ($0.name, $0.type) }, uniquingKeysWith: { a, _ in a })
                let ts = timestamp ?? now
                let kind: Cell.Kind = ttl.map { .expiring(ttlSeconds: $0, expiresAt: 0) } ?? .live
                var cells = [Cell(column: [], timestamp: ts, kind: kind, value: [])] // row marker
                for assignment in set {
                    guard let eq = assignment.firstIndex(of: "=") else { throw ValidationError("--set takes column=value, got '\(assignment)'") }
                    let name = String(assignment[..<eq]), text = String(assignment[assignment.index(after: eq)...])
                    let value = KeyCodec.encodeValue(try Values.parse(text, as: types[name] ?? .text, nowMicros: now))
                    cells.append(Cell(column: Array(name.utf8), timestamp: ts, kind: kind, value: value))
                }
                let row = Row(clustering: try parseKey(clustering, d.clusteringKey, what: "--clustering", now: now), cells: cells)
                try e.apply(Mutation(table: id, update: PartitionUpdate(key: try parseKey(key, d.partitionKey, what: "--key", now: now), rows: [row])))
            }
            print("ok")
        }
    }

    struct Get: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Read one row, or a whole partition.")
        @ParentCommand var local: LocalCommand
        var engine: EngineOptionGroup { local.engine }
        @Argument var table: String
        @Option var key: [String]
        @Option var clustering: [String] = []
        @Flag var json = false

        func run() throws {
            try engine.withEngine { e in
                let (id, d) = try resolve(e, table)
                let now = SystemClock().wallMicros()
                let slice = clustering.isEmpty ? ClusteringRange.all : .single(try parseKey(clustering, d.clusteringKey, what: "--clustering", now: now))
                let result = try e.read(id, key: try parseKey(key, d.partitionKey, what: "--key", now: now), slice: slice)
                printRows(result.rows, d, json: json)
                if result.rows.isEmpty && !json { print("(no rows)") }
            }
        }
    }

    struct Scan: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Read a partition's rows in a clustering (time) range.")
        @ParentCommand var local: LocalCommand
        var engine: EngineOptionGroup { local.engine }
        @Argument var table: String
        @Option var key: [String]
        @Option(help: "Lower bound (inclusive) on the first clustering column.") var from: String?
        @Option(help: "Upper bound (exclusive) on the first clustering column.") var to: String?
        @Option var limit: Int = 100
        @Flag(help: "Newest / largest first.") var desc = false
        @Flag var json = false

        func run() throws {
            try engine.withEngine { e in
                let (id, d) = try resolve(e, table)
                let now = SystemClock().wallMicros()
                let slice = ClusteringRange(lower: try clusteringBound(from, d, now: now, inclusive: true),
                                            upper: try clusteringBound(to, d, now: now, inclusive: false))
                let result = try e.read(id, key: try parseKey(key, d.partitionKey, what: "--key", now: now), slice: slice,
                                        limit: limit, descending: desc)
                printRows(result.rows, d, json: json)
                if !json { print("(\(result.rows.count) rows)") }
            }
        }
    }

    struct Delete: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delete a partition, a row, a cell (--column), or a clustering range (--from/--to).")
        @ParentCommand var local: LocalCommand
        var engine: EngineOptionGroup { local.engine }
        @Argument var table: String
        @Option var key: [String]
        @Option var clustering: [String] = []
        @Option var column: String?
        @Option var from: String?
        @Option var to: String?

        func run() throws {
            try engine.withEngine { e in
                let (id, d) = try resolve(e, table)
                let now = SystemClock().wallMicros()
                let deletion = DeletionTime(markedAt: now, localDeletionTime: now)
                var update = PartitionUpdate(key: try parseKey(key, d.partitionKey, what: "--key", now: now))
                if from != nil || to != nil {
                    update.rangeTombstones = [RangeTombstone(range: ClusteringRange(
                        lower: try clusteringBound(from, d, now: now, inclusive: true),
                        upper: try clusteringBound(to, d, now: now, inclusive: false)), deletion: deletion)]
                } else if !clustering.isEmpty || d.clusteringKey.isEmpty && column != nil {
                    let ck = try parseKey(clustering, d.clusteringKey, what: "--clustering", now: now)
                    if let column {
                        update.rows = [Row(clustering: ck, cells: [.tombstone(Array(column.utf8), timestamp: now, deletedAt: now)])]
                    } else {
                        update.rows = [Row(clustering: ck, deletion: deletion, cells: [])]
                    }
                } else {
                    update.deletion = deletion
                }
                try e.apply(Mutation(table: id, update: update))
            }
            print("ok")
        }
    }

    struct Flush: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Write all memtables to SSTables.")
        @ParentCommand var local: LocalCommand
        var engine: EngineOptionGroup { local.engine }
        func run() throws {
            try engine.withEngine { try $0.flush() }
            print("flushed")
        }
    }

    struct Compact: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Run due compactions (or --major: everything into one SSTable per table).")
        @ParentCommand var local: LocalCommand
        var engine: EngineOptionGroup { local.engine }
        @Flag var major = false
        func run() throws {
            let s = try engine.withEngine { e in
                try e.flush()
                try e.compact(major: major)
                return e.statistics
            }
            print("compactions \(s.compactions), expired sstables dropped \(s.expiredSSTablesDropped), tombstones purged \(s.tombstonesPurged), live sstables \(s.liveSSTables)")
        }
    }

    struct Stats: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Engine counters and live SSTables per table.")
        @ParentCommand var local: LocalCommand
        var engine: EngineOptionGroup { local.engine }
        func run() throws {
            try engine.withEngine { e in
                print(e.statistics)
                for (id, d) in e.tableDefinitions {
                    let files = e.sstables(of: id)
                    print("\(d.qualifiedName): \(files.count) sstables, \(files.reduce(0) { $0 + $1.statistics.partitionCount }) partitions, \(files.reduce(0) { $0 + $1.statistics.rowCount }) rows")
                    for f in files {
                        print("  g\(f.generation) \(f.path) level \(f.statistics.compactionLevel) partitions \(f.statistics.partitionCount) rows \(f.statistics.rowCount) tombstones \(f.statistics.tombstoneCount)")
                    }
                }
            }
        }
    }
}
