// Messages beyond replica traffic: the handshake that opens every
// connection, schema exchange between nodes, and client requests with
// their responses. Schema definitions and partition data travel as the
// cluster's and the storage engine's own encodings, so this layer needs no
// storage types (docs/formats/wire.md).
import RingtailCore

/// The first frame each side sends on a new connection. A node closes a
/// connection whose hello names another cluster or comes in a protocol
/// version it does not speak.
public struct Hello: Hashable, Sendable {
    public enum Role: UInt8, Hashable, Sendable {
        /// Another node: gossip and replica traffic follow.
        case peer = 0
        /// A client: requests follow, answered on the same connection.
        case client = 1
    }

    public var clusterName: String
    /// The highest protocol version the sender speaks.
    public var protocolVersion: UInt8
    public var role: Role
    /// Where the sender listens for peers (`host:port`); empty for clients.
    public var listenAddress: String

    public init(clusterName: String, protocolVersion: UInt8 = WireCodec.version, role: Role, listenAddress: String = "") {
        self.clusterName = clusterName
        self.protocolVersion = protocolVersion
        self.role = role
        self.listenAddress = listenAddress
    }
}

/// A node's whole schema, sent to a peer that pulled it (its gossiped
/// digest differed) or pushed after a client changed it.
public struct SchemaPush: Hashable, Sendable {
    /// The ClusterSchema encoding.
    public var schema: [UInt8]
    public init(schema: [UInt8]) { self.schema = schema }
}

/// A client read of one partition's clustering slice.
public struct ClientRead: Hashable, Sendable {
    public var table: String
    public var key: [UInt8]
    public var lower: WireBound
    public var upper: WireBound
    /// At most this many rows.
    public var limit: UInt64
    public var descending: Bool
    /// A consistency level's name (`quorum`, `localQuorum`, …).
    public var consistency: String

    public init(table: String, key: [UInt8], lower: WireBound = .unbounded, upper: WireBound = .unbounded,
                limit: UInt64 = .max, descending: Bool = false, consistency: String) {
        self.table = table
        self.key = key
        self.lower = lower
        self.upper = upper
        self.limit = limit
        self.descending = descending
        self.consistency = consistency
    }
}

/// What a client asks of the node it is connected to (its coordinator).
public enum ClientOperation: Hashable, Sendable {
    /// Writes an encoded PartitionUpdate (stamped by the client) at a level.
    case write(table: String, update: [UInt8], consistency: String)
    case read(ClientRead)
    /// A keyspace definition in the schema encoding (name, replication).
    case createKeyspace([UInt8])
    /// A table definition in the manifest's encoding.
    case createTable([UInt8])
    case dropKeyspace(String)
    /// `keyspace.table`.
    case dropTable(String)
    /// An operator command (`status`, `ring`, `hints`, `flush`, `compact`,
    /// `schema`) with an optional argument (a table for flush and compact);
    /// answered with a JSON document.
    case admin(command: String, argument: String)
    /// An append-log request (topics, produce, fetch, groups) in
    /// RingtailLog's encoding (LogClientRequest).
    case log([UInt8])
}

public struct ClientRequest: Hashable, Sendable {
    /// Chosen by the client, unique among its requests in flight on one
    /// connection; the response carries it back.
    public var id: UInt64
    public var operation: ClientOperation
    public init(id: UInt64, operation: ClientOperation) {
        self.id = id
        self.operation = operation
    }
}

/// A request error with its numbers, as RequestError carries them.
public struct WireRequestError: Hashable, Sendable {
    /// 0 unavailable, 1 timeout, 2 failure, 3 invalid request, 4 coordinator lost, 5 overloaded.
    public var kind: UInt8
    public var consistency: String
    /// unavailable: required, alive; timeout: received, required;
    /// failure: received, failures, required.
    public var numbers: [Int64]
    public var isWrite: Bool
    public var message: String

    /// The kinds, as `kind` carries them. DO NOT CHANGE: clients read them.
    public static let unavailableKind: UInt8 = 0, timeoutKind: UInt8 = 1, failureKind: UInt8 = 2
    public static let invalidKind: UInt8 = 3, coordinatorLostKind: UInt8 = 4, overloadedKind: UInt8 = 5

    public static func invalid(_ message: String) -> WireRequestError { WireRequestError(kind: invalidKind, message: message) }
    public static func coordinatorLost(_ message: String) -> WireRequestError {
        WireRequestError(kind: coordinatorLostKind, message: message)
    }
    public static func overloaded(_ message: String) -> WireRequestError { WireRequestError(kind: overloadedKind, message: message) }

    public init(kind: UInt8, consistency: String = "", numbers: [Int64] = [], isWrite: Bool = false, message: String = "") {
        self.kind = kind
        self.consistency = consistency
        self.numbers = numbers
        self.isWrite = isWrite
        self.message = message
    }
}

public enum ClientReply: Hashable, Sendable {
    /// A write was acknowledged at its level, or a schema change applied.
    case ok
    /// The rows a read found, as an encoded PartitionUpdate (nil: none).
    case rows([UInt8]?)
    case error(WireRequestError)
    /// An operator command's answer: a JSON document (UTF-8).
    case document([UInt8])
    /// An append-log answer in RingtailLog's encoding (LogClientReply).
    case log([UInt8])
}

public struct ClientResponse: Hashable, Sendable {
    public var id: UInt64
    public var reply: ClientReply
    public init(id: UInt64, reply: ClientReply) {
        self.id = id
        self.reply = reply
    }
}
