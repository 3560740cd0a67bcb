// Client requests as they arrive over the network: decoded from the wire
// (levels by name, partition updates and schema definitions in their own
// encodings), checked, and turned into coordinator requests or schema
// changes; and results turned back into wire replies. Operator commands
// (status, ring, …) are the server's, which reads the node's state.
import RingtailCore
import RingtailStorage
import RingtailWire
import RingtailCluster

extension ClusterNode {
    /// Handles one client request under `requestID` (unique on this node).
    /// Data requests answer later, as a `.reply(request: requestID, …)`
    /// effect (possibly among `effects` already); schema changes answer at
    /// once in `answer`. Admin operations are not handled here (nil, no effects).
    public func handle(client request: ClientRequest, as requestID: UInt64) -> (effects: [NodeEffect], answer: ClientReply?) {
        func invalid(_ message: String) -> ([NodeEffect], ClientReply?) {
            ([], .error(WireRequestError(RequestError.invalidRequest(message))))
        }
        func level(_ name: String) -> ConsistencyLevel? { ConsistencyLevel(rawValue: name) }
        switch request.operation {
        case .write(let table, let bytes, let levelName):
            guard let level = level(levelName) else { return invalid("unknown consistency level '\(levelName)'") }
            guard isJoined else { return invalid("\(id) is joining the ring and coordinates nothing yet; use another node") }
            let update: PartitionUpdate
            do {
                update = try PartitionUpdate(decoding: bytes, limits: engine.options.limits)
            } catch {
                return invalid("the partition update does not decode: \(error.description)")
            }
            return (submit(request: requestID, .write(WriteCommand(table: table, update: update, level: level))), nil)
        case .read(let read):
            guard let level = level(read.consistency) else { return invalid("unknown consistency level '\(read.consistency)'") }
            guard isJoined else { return invalid("\(id) is joining the ring and coordinates nothing yet; use another node") }
            let command = ReadCommand(table: read.table, key: read.key, slice: ClusteringRange(wireLower: read.lower, upper: read.upper),
                                      limit: Int(clamping: read.limit), descending: read.descending, level: level)
            return (submit(request: requestID, .read(command)), nil)
        case .createKeyspace(let bytes):
            let keyspace: KeyspaceDefinition
            do {
                keyspace = try KeyspaceDefinition(decoding: bytes)
            } catch {
                return invalid("the keyspace definition does not decode: \(error.description)")
            }
            return schemaChange { (s, now) throws(RequestError) in try s.add(keyspace, timestampMicros: now) }
        case .createTable(let bytes):
            var r = ByteReader(bytes)
            let table: TableDefinition
            do {
                table = try TableDefinition(decoding: &r)
                guard r.isAtEnd else { return invalid("trailing bytes after the table definition") }
            } catch {
                return invalid("the table definition does not decode: \(error.description)")
            }
            return schemaChange { (s, now) throws(RequestError) in try s.add(table, timestampMicros: now) }
        case .dropKeyspace(let name):
            return schemaChange { (s, now) throws(RequestError) in try s.dropKeyspace(name, timestampMicros: now) }
        case .dropTable(let name):
            return schemaChange { (s, now) throws(RequestError) in try s.dropTable(name, timestampMicros: now) }
        case .admin:
            return ([], nil)
        case .log(let bytes):
            guard let logService else { return invalid("\(id) runs no append log (its configuration names no metadata_voters)") }
            return (perform(logService.client(request: requestID, bytes: bytes)), nil)
        }
    }

    func schemaChange(_ change: (inout ClusterSchema, Int64) throws(RequestError) -> Void) -> ([NodeEffect], ClientReply?) {
        let (effects, result) = changeSchema(change)
        switch result {
        case .success: return (effects, .ok)
        case .failure(let e): return (effects, .error(WireRequestError(e)))
        }
    }

    /// Whether this node owns tokens (and so coordinates requests).
    public var isJoined: Bool { ring.location(of: id) != nil }

    /// Every other node this node has heard of, ascending.
    public var knownPeers: [NodeID] { peers }

    /// What gossip says about `node` (itself included): its application
    /// values (dc, rack, tokens, status, schema, load, addr, client) and heartbeat.
    public func gossipState(of node: NodeID) -> EndpointState? { gossip.endpoints[node] }
}

extension ClientReply {
    /// The wire reply for a coordinator's result; rows travel as a partition
    /// update of `key` holding them.
    public init(_ result: ClientResult, key: [UInt8]) {
        switch result {
        case .written: self = .ok
        case .rows(let rows): self = .rows(rows.isEmpty ? nil : PartitionUpdate(key: key, rows: rows).encoded())
        case .failed(let e): self = .error(WireRequestError(e))
        }
    }
}

extension WireRequestError {
    public init(_ e: RequestError) {
        switch e {
        case .unavailable(let level, let required, let alive):
            self.init(kind: 0, consistency: level.rawValue, numbers: [Int64(required), Int64(alive)], message: e.description)
        case .timeout(let level, let received, let required, let isWrite):
            self.init(kind: 1, consistency: level.rawValue, numbers: [Int64(received), Int64(required)], isWrite: isWrite,
                      message: e.description)
        case .failure(let level, let received, let failures, let required, let isWrite, let reason):
            self.init(kind: 2, consistency: level.rawValue, numbers: [Int64(received), Int64(failures), Int64(required)],
                      isWrite: isWrite, message: reason)
        case .invalidRequest(let m):
            self.init(kind: 3, message: m)
        case .coordinatorLost:
            self.init(kind: 4, message: e.description)
        }
    }

    /// The request error this stands for; an unknown kind or level becomes
    /// `.invalidRequest` with the message.
    public var requestError: RequestError {
        let level = ConsistencyLevel(rawValue: consistency)
        func n(_ i: Int) -> Int { i < numbers.count ? Int(clamping: numbers[i]) : 0 }
        switch kind {
        case 0 where level != nil: return .unavailable(level: level!, required: n(0), alive: n(1))
        case 1 where level != nil: return .timeout(level: level!, received: n(0), required: n(1), isWrite: isWrite)
        case 2 where level != nil:
            return .failure(level: level!, received: n(0), failures: n(1), required: n(2), isWrite: isWrite, reason: message)
        case 4: return .coordinatorLost
        default: return .invalidRequest(message)
        }
    }
}
