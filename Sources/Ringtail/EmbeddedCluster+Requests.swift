// Data requests on an embedded cluster: the `EmbeddedClient` a caller gets
// from `client(consistency:coordinator:)`, and the path of each statement:
// check it against the schema, pick a coordinator, stamp it, run the cluster
// until the coordinator answers, and turn the answer into typed rows.
import RingtailCore
import RingtailStorage
import RingtailCluster
import RingtailNode
import RingtailSimulation

/// A client of an `EmbeddedCluster` at a default consistency level.
///
/// A value: copy it freely, from any thread. Requests go to `coordinator`,
/// or round-robin to the running nodes when it is nil.
public struct EmbeddedClient: RingtailClient {
    public let cluster: EmbeddedCluster
    public let consistency: ConsistencyLevel
    /// The node every request goes to (n1…nN), or nil for round-robin.
    public let coordinator: String?

    public func execute(_ statement: InsertStatement, consistency: ConsistencyLevel?) async throws(RequestError) {
        try cluster.execute(statement, level: consistency ?? self.consistency, coordinator: coordinator)
    }

    public func execute(_ statement: SelectStatement, consistency: ConsistencyLevel?) async throws(RequestError) -> [ResultRow] {
        try cluster.execute(statement, level: consistency ?? self.consistency, coordinator: coordinator)
    }

    public func execute(_ statement: DeleteStatement, consistency: ConsistencyLevel?) async throws(RequestError) {
        try cluster.execute(statement, level: consistency ?? self.consistency, coordinator: coordinator)
    }
}

extension EmbeddedCluster {
    /// A client whose requests run at `consistency` unless a call says
    /// otherwise. A named `coordinator` that is down answers
    /// `.coordinatorLost`; an unknown one `.invalidRequest`.
    public func client(consistency: ConsistencyLevel = .quorum, coordinator: String? = nil) -> EmbeddedClient {
        EmbeddedClient(cluster: self, consistency: consistency, coordinator: coordinator)
    }

    static let shutDownRequest = RequestError.invalidRequest("the embedded cluster is shut down")

    func execute(_ insert: InsertStatement, level: ConsistencyLevel, coordinator: String?) throws(RequestError) {
        try locked(orThrow: Self.shutDownRequest) { (s) throws(RequestError) in
            let table = try Self.table(named: insert.table, in: s.cluster.schema)
            let node = try chooseCoordinator(coordinator, &s)
            let timestamp = try nextTimestamp(&s, level: level)
            let update = try StatementCodec.update(for: insert, table: table, timestamp: timestamp)
            try Self.expectWritten(s.cluster.execute(.write(WriteCommand(table: table.qualifiedName, update: update,
                                                                         level: level)), at: node))
        }
    }

    func execute(_ delete: DeleteStatement, level: ConsistencyLevel, coordinator: String?) throws(RequestError) {
        try locked(orThrow: Self.shutDownRequest) { (s) throws(RequestError) in
            let table = try Self.table(named: delete.table, in: s.cluster.schema)
            let node = try chooseCoordinator(coordinator, &s)
            let timestamp = try nextTimestamp(&s, level: level)
            guard let update = try StatementCodec.update(for: delete, table: table, timestamp: timestamp) else { return }
            try Self.expectWritten(s.cluster.execute(.write(WriteCommand(table: table.qualifiedName, update: update,
                                                                         level: level)), at: node))
        }
    }

    func execute(_ select: SelectStatement, level: ConsistencyLevel, coordinator: String?) throws(RequestError) -> [ResultRow] {
        try locked(orThrow: Self.shutDownRequest) { (s) throws(RequestError) -> [ResultRow] in
            let table = try Self.table(named: select.table, in: s.cluster.schema)
            let node = try chooseCoordinator(coordinator, &s)
            guard let read = try StatementCodec.read(for: select, table: table, level: level) else { return [] }
            switch s.cluster.execute(.read(read), at: node) {
            case .rows(let rows):
                return StatementCodec.resultRows(rows, partitionKey: select.partitionKey, table: table)
            case .failed(let error):
                throw error
            case .written:
                throw .invalidRequest("the coordinator answered a read as a write")
            }
        }
    }

    static func expectWritten(_ result: ClientResult) throws(RequestError) {
        switch result {
        case .written: return
        case .failed(let error): throw error
        case .rows: throw .invalidRequest("the coordinator answered a write with rows")
        }
    }

    /// The definition of a qualified table name, or an error listing the tables there are.
    static func table(named name: String, in schema: ClusterSchema) throws(RequestError) -> TableDefinition {
        if let table = schema.tables[name] { return table }
        let known = schema.tables.keys.sorted()
        let list = known.isEmpty ? "no tables yet" : "tables: " + known.prefix(20).joined(separator: ", ")
        let hint = name.contains(".") ? "" : "; name tables keyspace.table"
        throw .invalidRequest("unknown table \(name)\(hint) (\(list))")
    }

    /// The named node if it runs, else the next running node in round-robin order.
    func chooseCoordinator(_ name: String?, _ s: inout State) throws(RequestError) -> NodeID {
        if let name {
            guard nodeNames.contains(name) else {
                throw .invalidRequest("unknown coordinator \(name) (nodes: \(nodeNames.joined(separator: ", ")))")
            }
            guard s.cluster.isRunning(NodeID(name)) else { throw .coordinatorLost }
            return NodeID(name)
        }
        let running = s.cluster.runningNodeIDs
        guard !running.isEmpty else { throw .coordinatorLost }
        defer { s.nextCoordinator &+= 1 }
        return running[Int(UInt(bitPattern: s.nextCoordinator) % UInt(running.count))]
    }

    /// The coordinators' wall clock (virtual time: every node's clock is
    /// unskewed), raised above the last timestamp handed out. With
    /// directory storage the lease in the state file is extended first, so
    /// the invariant "lease >= every timestamp" survives a crash of the process.
    func nextTimestamp(_ s: inout State, level: ConsistencyLevel) throws(RequestError) -> Int64 {
        let wall = s.cluster.timeline.wallMicros
        let timestamp = max(wall, s.lastTimestamp &+ 1)
        if let store = s.store, var saved = s.saved, timestamp > saved.timestampLease {
            saved.timestampLease = timestamp + Self.timestampLeaseMicros
            do {
                try store.save(saved)
            } catch {
                throw .failure(level: level, received: 0, failures: 1, required: 1, isWrite: true,
                               reason: "the timestamp lease could not be saved: \(error.message)")
            }
            s.saved = saved
        }
        s.lastTimestamp = timestamp
        return timestamp
    }
}
