// Client commands against a running cluster, through any node's client
// port (`--host`): keyspaces and tables, put, get, scan and delete at a
// consistency level. Writes are stamped here with this machine's wall clock
// (microseconds), as Cassandra drivers stamp client-side.
import ArgumentParser
import Dispatch
import Foundation
import NIOPosix
import RingtailCore
import RingtailStorage
import RingtailWire
import RingtailCluster
import RingtailNode
import RingtailPosix
import RingtailServer

/// Runs async work from a synchronous command.
func blocking<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
    let done = DispatchSemaphore(value: 0)
    nonisolated(unsafe) var result: Result<T, Error>!
    Task {
        do { result = .success(try await body()) } catch { result = .failure(error) }
        done.signal()
    }
    done.wait()
    return try result.get()
}

struct ConnectionOptions: ParsableArguments {
    @Option(help: "A node's client address, host:port. Default: $RINGTAIL_HOST, else a running node of the local cluster in --cluster-dir, else 127.0.0.1:9042.")
    var host: String?
    @Option(name: .customLong("cluster-dir"), help: "Folder of a local cluster (ringtail cluster up).")
    var clusterDirectory = LocalCluster.defaultDirectory
    @Flag(help: "Print JSON (one object per line) for scripts.") var json = false

    func endpoint() throws -> Endpoint {
        if let host {
            guard let e = Endpoint(host) else { throw ValidationError("--host must be host:port, got '\(host)'") }
            return e
        }
        if let env = ProcessInfo.processInfo.environment["RINGTAIL_HOST"], let e = Endpoint(env) { return e }
        if let cluster = try? LocalCluster.load(clusterDirectory), let e = cluster.anyRunningClientEndpoint() { return e }
        return Endpoint(host: "127.0.0.1", port: 9042)
    }

    /// Connects, runs `body`, closes.
    func with<T: Sendable>(_ body: @escaping @Sendable (RemoteConnection) async throws -> T) throws -> T {
        let endpoint = try endpoint()
        return try blocking {
            let connection: RemoteConnection
            do {
                connection = try await RemoteConnection.connect(to: endpoint, group: MultiThreadedEventLoopGroup.singleton)
            } catch {
                throw RequestFailure("cannot connect to \(endpoint): \(error)")
            }
            defer { connection.close() }
            return try await body(connection)
        }
    }
}

/// A request the cluster refused or could not complete: printed as
/// `Error: …` without the usage text a ValidationError adds.
struct RequestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// The answer of a data or schema request, or a clear error.
func expectOK(_ reply: ClientReply) throws {
    switch reply {
    case .ok, .rows, .document, .log: return
    case .error(let e): throw RequestFailure(e.requestError.description)
    }
}

func document<T: Decodable>(_ reply: ClientReply, as type: T.Type) throws -> T {
    switch reply {
    case .document(let bytes): return try JSONDecoder().decode(T.self, from: Data(bytes))
    case .error(let e): throw RequestFailure(e.requestError.description)
    default: throw ValidationError("the node answered with something other than a document")
    }
}

/// The node's schema (to encode statements against).
/// Drops a keyspace or a table (`what` names it for the message).
func drop(_ operation: ClientOperation, _ what: String, with connection: ConnectionOptions) throws {
    try connection.with { c in try expectOK(try await c.request(operation)) }
    print("dropped \(what)")
}

func fetchSchema(_ c: RemoteConnection) async throws -> ClusterSchema { try await c.schema() }

func tableDefinition(_ c: RemoteConnection, _ name: String) async throws -> TableDefinition {
    let schema = try await fetchSchema(c)
    guard let d = schema.tables[name] else {
        let known = schema.tables.keys.sorted().joined(separator: ", ")
        throw ValidationError("no table \(name)" + (known.isEmpty ? " (no tables yet; use ringtail table create)" : "; tables: \(known)"))
    }
    return d
}

func parseLevel(_ text: String, option: String = "--consistency") throws -> ConsistencyLevel {
    guard let level = ConsistencyLevel(cassandraName: text) else {
        throw ValidationError("\(option) must be one of \(ConsistencyLevel.allCases.map(\.description).joined(separator: ", "))")
    }
    return level
}

/// An operator command's JSON answer, decoded.
func admin<T: Decodable>(_ c: RemoteConnection, _ command: String, _ argument: String = "", as type: T.Type,
                         timeout: Duration = .seconds(30)) async throws -> T {
    try document(try await c.request(.admin(command: command, argument: argument), timeout: timeout), as: T.self)
}

/// Connects to `endpoint`, asks one operator command, closes.
func ask<T: Decodable>(_ endpoint: Endpoint, _ command: String, _ argument: String = "", as type: T.Type,
                       timeout: Duration = .seconds(10)) async throws -> T {
    let c = try await RemoteConnection.connect(to: endpoint, group: MultiThreadedEventLoopGroup.singleton,
                                               timeout: .seconds(2))
    defer { c.close() }
    return try await admin(c, command, argument, as: T.self, timeout: timeout)
}

/// Polls `condition` every 200 ms until it holds; false after `seconds`.
func poll(_ seconds: Double, _ condition: () async -> Bool) async -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if await condition() { return true }
        try? await Task.sleep(for: .milliseconds(200))
    }
    return false
}

/// Sends a create (keyspace or table) and waits for schema agreement; with
/// `ifNotExists`, an existing one is success (and agreement is still awaited).
func create(_ operation: ClientOperation, ifNotExists: Bool, with connection: ConnectionOptions) throws -> Bool {
    try connection.with { c in
        let reply = try await c.request(operation)
        if case .error(let e) = reply, ifNotExists, e.message.hasSuffix("already exists") {
            return try await awaitSchemaAgreement(c)
        }
        try expectOK(reply)
        return try await awaitSchemaAgreement(c)
    }
}

/// Waits (up to 10 s) until every live node reports the same schema.
func awaitSchemaAgreement(_ c: RemoteConnection) async throws -> Bool {
    await poll(10) { (try? await admin(c, "status", as: StatusReport.self))?.schemaAgreement ?? false }
}

struct KeyspaceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "keyspace", abstract: "Create or drop a keyspace.",
                                                    subcommands: [Create.self, Drop.self])

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a keyspace: --rf N (simple) or --dc NAME:RF (network, repeat).")
        @OptionGroup var connection: ConnectionOptions
        @Argument var name: String
        @Option(help: "Replication factor (SimpleStrategy).") var rf: Int?
        @Option(help: "Datacenter replication, dc:rf (NetworkTopologyStrategy; repeat).") var dc: [String] = []
        @Flag(name: .customLong("if-not-exists"), help: "Succeed if it exists already.") var ifNotExists = false

        func run() throws {
            let replication: ReplicationStrategy
            switch (rf, dc.isEmpty) {
            case (let rf?, true): replication = .simple(replicationFactor: rf)
            case (nil, false):
                var factors: [String: Int] = [:]
                for spec in dc {
                    let parts = spec.split(separator: ":").map(String.init)
                    guard parts.count == 2, let f = Int(parts[1]) else { throw ValidationError("--dc takes NAME:RF, got '\(spec)'") }
                    factors[parts[0]] = f
                }
                replication = .networkTopology(factors)
            default: throw ValidationError("give either --rf N or --dc NAME:RF (one per datacenter)")
            }
            let keyspace = KeyspaceDefinition(name: name, replication: replication)
            let agreed = try create(.createKeyspace(keyspace.encoded()), ifNotExists: ifNotExists, with: connection)
            print("created keyspace \(name) (\(replication))" + (agreed ? "; schema agreed" : "; schema not yet agreed by every live node"))
        }
    }

    struct Drop: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Drop a keyspace and every table in it (their data is deleted).")
        @OptionGroup var connection: ConnectionOptions
        @Argument var name: String
        func run() throws { try drop(.dropKeyspace(name), "keyspace \(name)", with: connection) }
    }
}

struct TableCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "table", abstract: "Create, drop or list tables.",
                                                    subcommands: [Create.self, Drop.self, List.self])

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create KEYSPACE.TABLE.")
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "KEYSPACE.TABLE") var name: String
        @OptionGroup var table: TableDefinitionOptions
        @Flag(name: .customLong("if-not-exists"), help: "Succeed if it exists already.") var ifNotExists = false

        func run() throws {
            let definition = try table.definition(name: name)
            var w = ByteWriter()
            definition.encode(into: &w)
            let agreed = try create(.createTable(w.bytes), ifNotExists: ifNotExists, with: connection)
            print("created table \(name)" + (agreed ? "; schema agreed" : "; schema not yet agreed by every live node"))
        }
    }

    struct Drop: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Drop KEYSPACE.TABLE (its data is deleted).")
        @OptionGroup var connection: ConnectionOptions
        @Argument var name: String
        func run() throws { try drop(.dropTable(name), "table \(name)", with: connection) }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List keyspaces and tables.")
        @OptionGroup var connection: ConnectionOptions
        func run() throws {
            let schema = try connection.with { c in try await fetchSchema(c) }
            for (name, ks) in schema.keyspaces.sorted(by: { $0.key < $1.key }) {
                print("keyspace \(name) \(ks.replication)")
                for (_, d) in schema.tables.sorted(by: { $0.key < $1.key }) where d.keyspace == name {
                    let cols = { (c: [ColumnDefinition]) in c.map { "\($0.name):\($0.type.rawValue)" }.joined(separator: ",") }
                    print("  \(d.qualifiedName) partition key [\(cols(d.partitionKey))] clustering [\(cols(d.clusteringKey))] \(d.options.clusteringOrder.rawValue) columns [\(cols(d.columns))]")
                }
            }
        }
    }
}

struct LevelOption: ParsableArguments {
    @Option(help: "Consistency level: ANY, ONE, TWO, THREE, QUORUM, LOCAL_ONE, LOCAL_QUORUM, EACH_QUORUM, ALL.")
    var consistency: String = "QUORUM"
}

struct PutCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "put", abstract: "Write cells of one row.")
    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var level: LevelOption
    @Argument(help: "KEYSPACE.TABLE") var table: String
    @Option(help: "Partition key value(s), in key column order.") var key: [String]
    @Option(help: "Clustering value(s), in clustering column order.") var clustering: [String] = []
    @Option(help: "column=value (repeat).") var set: [String]
    @Option(help: "TTL in seconds.") var ttl: Int32?

    func run() throws {
        let level = try parseLevel(self.level.consistency)
        let (table, key, clustering, set, ttl) = (table, key, clustering, set, ttl)
        try connection.with { c in
            let d = try await tableDefinition(c, table)
            let now = SystemClock().wallMicros()
            let update = try RowEdits.put(d, key: key, clustering: clustering, set: set, ttl: ttl, timestamp: now, now: now)
            try expectOK(try await c.request(.write(table: table, update: update.encoded(), consistency: level.rawValue)))
        }
        print(connection.json ? Values.jsonLine(["ok": true]) : "ok")
    }
}

struct DeleteCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delete", abstract: "Delete a partition, a row, a cell (--column), or a clustering range (--from/--to).")
    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var level: LevelOption
    @Argument var table: String
    @Option var key: [String]
    @Option var clustering: [String] = []
    @Option var column: String?
    @Option var from: String?
    @Option var to: String?

    func run() throws {
        let level = try parseLevel(self.level.consistency)
        let (table, key, clustering, column, from, to) = (table, key, clustering, column, from, to)
        try connection.with { c in
            let d = try await tableDefinition(c, table)
            let now = SystemClock().wallMicros()
            let update = try RowEdits.delete(d, key: key, clustering: clustering, column: column, from: from, to: to,
                                             timestamp: now, now: now)
            try expectOK(try await c.request(.write(table: table, update: update.encoded(), consistency: level.rawValue)))
        }
        print(connection.json ? Values.jsonLine(["ok": true]) : "ok")
    }
}

struct GetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "get", abstract: "Read one row, or a whole partition.")
    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var level: LevelOption
    @Argument var table: String
    @Option var key: [String]
    @Option var clustering: [String] = []

    func run() throws {
        let level = try parseLevel(self.level.consistency)
        let (table, key, clustering, json) = (table, key, clustering, connection.json)
        try connection.with { c in
            let d = try await tableDefinition(c, table)
            let now = SystemClock().wallMicros()
            let partition = try parseKey(key, d.partitionKey, what: "--key", now: now)
            let slice = clustering.isEmpty ? ClusteringRange.all
                : .single(try parseKey(clustering, d.clusteringKey, what: "--clustering", now: now))
            let rows = try await readRows(c, ClientRead(table: table, key: partition, lower: slice.wireBounds.lower,
                                                       upper: slice.wireBounds.upper, consistency: level.rawValue))
            printRows(rows, d, json: json)
            if rows.isEmpty && !json { print("(no rows)") }
        }
    }
}

struct ScanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "scan", abstract: "Read a partition's rows in a clustering (time) range.")
    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var level: LevelOption
    @Argument var table: String
    @Option var key: [String]
    @Option(help: "Lower bound (inclusive) on the first clustering column.") var from: String?
    @Option(help: "Upper bound (exclusive) on the first clustering column.") var to: String?
    @Option var limit: Int = 100
    @Option(help: "asc or desc (newest first on a time-series table).") var order: String?

    func run() throws {
        let level = try parseLevel(self.level.consistency)
        guard order == nil || order == "asc" || order == "desc" else { throw ValidationError("--order must be asc or desc") }
        guard limit >= 0 else { throw ValidationError("--limit must be at least 0") }
        let (table, key, from, to, limit, order, json) = (table, key, from, to, limit, order, connection.json)
        try connection.with { c in
            let d = try await tableDefinition(c, table)
            let now = SystemClock().wallMicros()
            let partition = try parseKey(key, d.partitionKey, what: "--key", now: now)
            let range = ClusteringRange(lower: try clusteringBound(from, d, now: now, inclusive: true),
                                        upper: try clusteringBound(to, d, now: now, inclusive: false))
            let descending = order.map { $0 == "desc" } ?? (d.options.clusteringOrder == .descending)
            let rows = try await readRows(c, ClientRead(table: table, key: partition, lower: range.wireBounds.lower,
                                                       upper: range.wireBounds.upper, limit: UInt64(limit),
                                                       descending: descending, consistency: level.rawValue))
            printRows(rows, d, json: json)
            if !json { print("(\(rows.count) rows)") }
        }
    }
}

/// The rows of a read in the order it asked for (`RemoteConnection.rows`).
func readRows(_ c: RemoteConnection, _ read: ClientRead) async throws -> [Row] {
    do {
        return try await c.rows(read)
    } catch let e as RequestError {
        throw RequestFailure(e.description)
    }
}
