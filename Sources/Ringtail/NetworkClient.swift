// The typed client over the network: the same `RingtailClient` statements an
// `EmbeddedClient` runs in-process, sent to a real cluster's client port.
// The client learns the schema from the node it talks to (and again when a
// statement names a table it does not know), checks and encodes each
// statement against it exactly as the embedded cluster does (StatementCodec),
// stamps writes with its own clock (strictly increasing per client), and
// sends them over one connection (RemoteConnection, many requests in
// flight). A lost connection fails the requests on it with `.coordinatorLost`;
// the next request connects to the next address.
import NIOCore
import NIOPosix
import Synchronization
import RingtailCore
import RingtailStorage
import RingtailWire
import RingtailCluster
import RingtailServer
import RingtailPosix

public final class NetworkClient: RingtailClient {
    public let consistency: ConsistencyLevel
    /// Client addresses of the nodes, tried in turn.
    public let endpoints: [Endpoint]
    /// How long a request may wait for its answer (the node answers Timeout
    /// after its own request timeouts, 2 s for writes and 5 s for reads by default).
    public let requestTimeout: Duration
    let group: EventLoopGroup

    struct State {
        var connection: RemoteConnection?
        var next = 0
        var schema = ClusterSchema()
        var lastTimestamp: Int64 = 0
        var closed = false
    }
    private let state = Mutex(State())

    /// A client at `consistency`, connected to the first address that answers.
    public static func connect(to endpoints: [Endpoint], consistency: ConsistencyLevel = .quorum,
                               requestTimeout: Duration = .seconds(12)) async throws(RequestError) -> NetworkClient {
        guard !endpoints.isEmpty else { throw .invalidRequest("no node address given") }
        let client = NetworkClient(endpoints: endpoints, consistency: consistency, requestTimeout: requestTimeout,
                                   group: MultiThreadedEventLoopGroup.singleton)
        try await client.refreshSchema()
        return client
    }

    /// The same, with addresses written `host:port`.
    public static func connect(to addresses: [String], consistency: ConsistencyLevel = .quorum,
                               requestTimeout: Duration = .seconds(12)) async throws(RequestError) -> NetworkClient {
        var endpoints: [Endpoint] = []
        for a in addresses {
            guard let e = Endpoint(a) else { throw .invalidRequest("'\(a)' is not host:port") }
            endpoints.append(e)
        }
        return try await connect(to: endpoints, consistency: consistency, requestTimeout: requestTimeout)
    }

    init(endpoints: [Endpoint], consistency: ConsistencyLevel, requestTimeout: Duration, group: EventLoopGroup) {
        self.endpoints = endpoints
        self.consistency = consistency
        self.requestTimeout = requestTimeout
        self.group = group
    }

    /// Closes the connection; later requests fail.
    public func close() {
        let c = state.withLock { s in
            s.closed = true
            defer { s.connection = nil }
            return s.connection
        }
        c?.close()
    }

    public func execute(_ statement: InsertStatement, consistency: ConsistencyLevel?) async throws(RequestError) {
        let table = try await definition(of: statement.table)
        let update = try StatementCodec.update(for: statement, table: table, timestamp: nextTimestamp())
        try await write(update, table: table, level: consistency ?? self.consistency)
    }

    /// Rows of one partition go as one write; partitions are written at once
    /// (many requests in flight on the connection).
    public func execute(batch: [InsertStatement], consistency: ConsistencyLevel?) async throws(RequestError) {
        // One write per partition: rows for the same (table, partition key) join one update.
        struct Target: Hashable { var table: String; var key: [UInt8] }
        var tables: [String: TableDefinition] = [:]
        var slots: [Target: Int] = [:]
        var writes: [(table: TableDefinition, update: PartitionUpdate)] = []
        for statement in batch {
            let table: TableDefinition
            if let known = tables[statement.table] {
                table = known
            } else {
                table = try await definition(of: statement.table)
                tables[statement.table] = table
            }
            let update = try StatementCodec.update(for: statement, table: table, timestamp: nextTimestamp())
            let target = Target(table: statement.table, key: update.key)
            if let slot = slots[target] {
                writes[slot].update.rows += update.rows
            } else {
                slots[target] = writes.count
                writes.append((table, update))
            }
        }
        let level = consistency ?? self.consistency
        let failure: RequestError? = await withTaskGroup(of: RequestError?.self) { group in
            for (table, update) in writes {
                group.addTask {
                    do throws(RequestError) { try await self.write(update, table: table, level: level) } catch { return error }
                    return nil
                }
            }
            var first: RequestError?
            for await result in group where first == nil { first = result }
            return first
        }
        if let failure { throw failure }
    }

    public func execute(_ statement: DeleteStatement, consistency: ConsistencyLevel?) async throws(RequestError) {
        let table = try await definition(of: statement.table)
        guard let update = try StatementCodec.update(for: statement, table: table, timestamp: nextTimestamp()) else { return }
        try await write(update, table: table, level: consistency ?? self.consistency)
    }

    public func execute(_ statement: SelectStatement, consistency: ConsistencyLevel?) async throws(RequestError) -> [ResultRow] {
        let table = try await definition(of: statement.table)
        guard let read = try StatementCodec.read(for: statement, table: table, level: consistency ?? self.consistency) else {
            return []
        }
        let bounds = read.slice.wireBounds
        let request = ClientRead(table: read.table, key: read.key, lower: bounds.lower, upper: bounds.upper,
                                 limit: UInt64(clamping: read.limit), descending: read.descending,
                                 consistency: read.level.rawValue)
        let rows = try await using { try await $0.rows(request, timeout: requestTimeout) }
        return StatementCodec.resultRows(rows, partitionKey: statement.partitionKey, table: table)
    }

    // MARK: Internals

    func write(_ update: PartitionUpdate, table: TableDefinition, level: ConsistencyLevel) async throws(RequestError) {
        let operation = ClientOperation.write(table: table.qualifiedName, update: update.encoded(), consistency: level.rawValue)
        switch try await using({ try await $0.request(operation, timeout: requestTimeout) }) {
        case .ok: return
        case .error(let e): throw e.requestError
        default: throw .invalidRequest("the node answered a write with something else")
        }
    }

    /// Write timestamps: the wall clock in µs, never repeating or going back for this client.
    func nextTimestamp() -> Int64 {
        let now = SystemClock().wallMicros()
        return state.withLock { s in
            s.lastTimestamp = max(now, s.lastTimestamp + 1)
            return s.lastTimestamp
        }
    }

    func definition(of name: String) async throws(RequestError) -> TableDefinition {
        if let t = state.withLock({ $0.schema.tables[name] }) { return t }
        try await refreshSchema() // created since we last looked?
        if let t = state.withLock({ $0.schema.tables[name] }) { return t }
        let known = state.withLock { $0.schema.tables.keys.sorted() }
        throw .invalidRequest("unknown table \(name) (\(known.isEmpty ? "no tables yet" : "tables: " + known.prefix(20).joined(separator: ", ")))")
    }

    func refreshSchema() async throws(RequestError) {
        let schema = try await using { try await $0.schema(timeout: requestTimeout) }
        state.withLock { $0.schema = schema }
    }

    /// Runs `body` on the current connection (opening one first if needed).
    /// A node's refusal comes through as its `RequestError`; anything else is
    /// `.coordinatorLost`, and a connection that broke is replaced next time
    /// (one a timed-out request left up keeps serving the others).
    func using<T>(_ body: (RemoteConnection) async throws -> T) async throws(RequestError) -> T {
        let connection = try await currentConnection()
        do {
            return try await body(connection)
        } catch let e as RequestError {
            throw e
        } catch {
            if !connection.isActive {
                state.withLock { s in if s.connection === connection { s.connection = nil } }
                connection.close()
            }
            throw .coordinatorLost
        }
    }

    func currentConnection() async throws(RequestError) -> RemoteConnection {
        let (existing, closed) = state.withLock { ($0.connection, $0.closed) }
        if closed { throw .invalidRequest("the client is closed") }
        if let existing { return existing }
        for _ in 0..<endpoints.count {
            let endpoint = state.withLock { s in
                defer { s.next = (s.next + 1) % endpoints.count }
                return endpoints[s.next]
            }
            let c: RemoteConnection
            do {
                c = try await RemoteConnection.connect(to: endpoint, group: group, timeout: .seconds(5))
            } catch {
                continue // the next address
            }
            let kept = state.withLock { s -> RemoteConnection? in
                if s.closed { return nil } // closed meanwhile
                if let other = s.connection { return other } // another request connected first
                s.connection = c
                return c
            }
            if kept !== c { c.close() }
            guard let kept else { throw .invalidRequest("the client is closed") }
            return kept
        }
        throw .coordinatorLost // no node answered
    }
}
