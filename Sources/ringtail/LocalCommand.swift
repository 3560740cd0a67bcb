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
        @OptionGroup var table: TableDefinitionOptions

        func run() throws {
            let definition = try table.definition(name: name)
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
                let update = try RowEdits.put(d, key: key, clustering: clustering, set: set, ttl: ttl,
                                              timestamp: timestamp ?? now, now: now)
                try e.apply(Mutation(table: id, update: update))
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
                let update = try RowEdits.delete(d, key: key, clustering: clustering, column: column, from: from, to: to,
                                                 timestamp: now, now: now)
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
