// Node-to-node messages: gossip (SYN, ACK, ACK2), replica writes and reads,
// and their responses. Plain values; WireCodec turns them into frames.
// Partition data travels as the storage engine's own partition-update
// encoding (docs/formats/commit-log.md), so this layer needs no storage types.
import RingtailCore

/// One end of a clustering slice, as a read request carries it.
public enum WireBound: Hashable, Sendable {
    case unbounded
    case inclusive([UInt8])
    case exclusive([UInt8])
}

/// A write for one replica: a partition update to apply to `table`.
public struct MutationMessage: Hashable, Sendable {
    /// Chosen by the sender; the response carries it back.
    public var id: UInt64
    /// `keyspace.table` (table ids are local to each node).
    public var table: String
    /// An encoded `PartitionUpdate`.
    public var update: [UInt8]
    /// Set when this is a stored hint being delivered: when the hint was
    /// created (µs since the epoch, the sender's clock).
    public var hintCreatedAtMicros: Int64?

    public init(id: UInt64, table: String, update: [UInt8], hintCreatedAtMicros: Int64? = nil) {
        self.id = id
        self.table = table
        self.update = update
        self.hintCreatedAtMicros = hintCreatedAtMicros
    }
}

/// The outcome of a replica write.
public struct MutationResponse: Hashable, Sendable {
    public var id: UInt64
    /// nil when applied (durably, per the replica's commit log sync mode);
    /// otherwise why it was not.
    public var failure: String?

    public init(id: UInt64, failure: String? = nil) {
        self.id = id
        self.failure = failure
    }
}

/// A replica read of one partition's clustering slice.
public struct ReadRequest: Hashable, Sendable {
    public var id: UInt64
    public var table: String
    public var key: [UInt8]
    public var lower: WireBound
    public var upper: WireBound
    /// Answer with a digest of the data instead of the data.
    public var digestOnly: Bool

    public init(id: UInt64, table: String, key: [UInt8], lower: WireBound = .unbounded, upper: WireBound = .unbounded,
                digestOnly: Bool) {
        self.id = id
        self.table = table
        self.key = key
        self.lower = lower
        self.upper = upper
        self.digestOnly = digestOnly
    }
}

/// What a replica read returned.
public enum ReadPayload: Hashable, Sendable {
    /// The slice with its tombstones, as an encoded `PartitionUpdate`; nil
    /// when the replica has nothing for the partition.
    case data([UInt8]?)
    case digest(UInt64)
    case failed(String)
}

public struct ReadResponse: Hashable, Sendable {
    public var id: UInt64
    public var payload: ReadPayload

    public init(id: UInt64, payload: ReadPayload) {
        self.id = id
        self.payload = payload
    }
}

/// Gossip round, step 1: the initiator's digests of everything it knows.
public struct GossipSyn: Hashable, Sendable {
    /// A node drops a SYN from another cluster.
    public var clusterName: String
    public var digests: [GossipDigest]

    public init(clusterName: String, digests: [GossipDigest]) {
        self.clusterName = clusterName
        self.digests = digests
    }
}

/// Gossip round, step 2: what the receiver wants, and what it has newer.
public struct GossipAck: Hashable, Sendable {
    public var requests: [GossipDigest]
    public var states: [NodeID: EndpointState]

    public init(requests: [GossipDigest], states: [NodeID: EndpointState]) {
        self.requests = requests
        self.states = states
    }
}

/// Gossip round, step 3: the states the ACK asked for.
public struct GossipAck2: Hashable, Sendable {
    public var states: [NodeID: EndpointState]

    public init(states: [NodeID: EndpointState]) { self.states = states }
}

/// Every node-to-node message.
public enum Message: Hashable, Sendable {
    case gossipSyn(GossipSyn)
    case gossipAck(GossipAck)
    case gossipAck2(GossipAck2)
    case mutation(MutationMessage)
    case mutationResponse(MutationResponse)
    case readRequest(ReadRequest)
    case readResponse(ReadResponse)
    case hello(Hello)
    /// Asks the receiver for its whole schema (answered with `schemaPush`).
    case schemaPull
    case schemaPush(SchemaPush)
    case clientRequest(ClientRequest)
    case clientResponse(ClientResponse)
    /// Append-log traffic between nodes (metadata Raft, broker heartbeats,
    /// proposals, replica fetches), in RingtailLog's own encoding
    /// (LogPeerMessage), so this layer needs no log types.
    case log([UInt8])
}

/// A message with its sender, as one frame carries it.
public struct Envelope: Hashable, Sendable {
    public var source: NodeID
    public var message: Message

    public init(source: NodeID, message: Message) {
        self.source = source
        self.message = message
    }
}

extension Message {
    /// Bytes of the variable-length payload (keys, updates, data): the
    /// encoder reserves about this much so a frame is written without
    /// regrowing its buffer. Gossip is small and left to growth.
    var payloadBytes: Int {
        switch self {
        case .mutation(let m): return m.table.utf8.count + m.update.count
        case .readRequest(let r): return r.table.utf8.count + r.key.count + 2 * 16
        case .readResponse(let r):
            if case .data(let bytes?) = r.payload { return bytes.count }
            return 16
        case .schemaPush(let p): return p.schema.count
        case .log(let bytes): return bytes.count
        case .clientRequest(let r):
            switch r.operation {
            case .write(let table, let update, _): return table.utf8.count + update.count
            case .read(let read): return read.table.utf8.count + read.key.count + 2 * 16
            case .log(let bytes): return bytes.count
            default: return 64
            }
        case .clientResponse(let r):
            switch r.reply {
            case .rows(let bytes?), .document(let bytes), .log(let bytes): return bytes.count
            default: return 64
            }
        case .mutationResponse, .gossipSyn, .gossipAck, .gossipAck2, .hello, .schemaPull: return 64
        }
    }
}

extension Message {
    /// The message kind, for logs and errors.
    public var kindName: String {
        switch self {
        case .gossipSyn: return "gossip SYN"
        case .gossipAck: return "gossip ACK"
        case .gossipAck2: return "gossip ACK2"
        case .mutation: return "mutation"
        case .mutationResponse: return "mutation response"
        case .readRequest: return "read request"
        case .readResponse: return "read response"
        case .hello: return "hello"
        case .schemaPull: return "schema pull"
        case .log: return "log"
        case .schemaPush: return "schema push"
        case .clientRequest: return "client request"
        case .clientResponse: return "client response"
        }
    }
}
