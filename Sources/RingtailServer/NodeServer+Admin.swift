// Operator commands, answered by the node a client is connected to from
// its own view of the cluster (gossip, failure detector, ring, hint store,
// storage), as JSON documents whose shapes are the Codable reports below.
// `ringtail status`, `ring`, `hints`, `flush`, `compact` and `schema` print them.
import Foundation
import RingtailCore
import RingtailStorage
import RingtailWire
import RingtailCluster
import RingtailNode

/// `ringtail status`: every node as the answering node sees it.
public struct StatusReport: Codable, Sendable {
    public struct Node: Codable, Sendable {
        public var name: String
        /// UP or DOWN, by the answering node's failure detector.
        public var state: String
        /// NORMAL, JOINING, or UNKNOWN (no gossip yet).
        public var status: String
        public var address: String
        public var clientAddress: String
        public var datacenter: String
        public var rack: String
        public var loadBytes: Int
        public var tokens: Int
        /// Share of the data this node stores under `ownershipKeyspace`'s
        /// replication (fraction; sums to the replication factor), or its
        /// raw token share when there is no keyspace.
        public var ownership: Double
        public var schema: String
        public var generation: Int64
    }

    public var answeredBy: String
    public var clusterName: String
    /// The keyspace ownership is computed for; nil: raw token ownership.
    public var ownershipKeyspace: String?
    public var nodes: [Node]
    /// Whether every node that is UP gossips the same schema digest.
    public var schemaAgreement: Bool
}

/// `ringtail ring`: every token with its owner.
public struct RingReport: Codable, Sendable {
    public struct Token: Codable, Sendable {
        public var token: Int64
        public var node: String
        public var datacenter: String
        public var rack: String
        public var state: String
    }
    public var answeredBy: String
    public var tokens: [Token]
}

/// `ringtail hints`: the answering node's hint store.
public struct HintsReport: Codable, Sendable {
    public struct Target: Codable, Sendable {
        public var node: String
        public var hints: Int
        public var bytes: Int
    }
    public var answeredBy: String
    public var stored: Int
    public var delivered: Int
    public var droppedOverBudget: Int
    public var droppedExpired: Int
    public var pendingHints: Int
    public var pendingBytes: Int
    public var targets: [Target]
    /// Hints this node received from coordinators and applied.
    public var received: Int
    /// Write journal: entries recorded since start, and those found at
    /// start (writes the previous incarnation left unfinished, now hinted).
    public var journalRecorded: Int
    public var journalRecovered: Int
}

/// `ringtail schema`: the answering node's schema in its encoding (base64)
/// and digest, so a client can encode statements against it.
public struct SchemaReport: Codable, Sendable {
    public var answeredBy: String
    public var digest: String
    public var encoded: String
    public var agreement: Bool
}

/// `flush` and `compact`.
public struct ActionReport: Codable, Sendable {
    public var answeredBy: String
    public var action: String
    public var message: String
}

extension NodeServer {
    /// Answers an operator command through `reply`, on the loop: at once,
    /// or (flush, compact: storage work that may take minutes) after it ran
    /// on the thread pool, so the loop keeps gossiping and serving meanwhile.
    func admin(_ command: String, _ argument: String, reply: @escaping @Sendable (ClientReply) -> Void) {
        guard command == "flush" || command == "compact" else {
            reply(admin(command, argument))
            return
        }
        let me = node.id.name
        var table: TableID?
        if !argument.isEmpty {
            guard let (id, _) = node.engine.table(named: argument) else {
                reply(.error(.invalid("unknown table \(argument)")))
                return
            }
            table = id
        }
        let (engine, target) = (node.engine, table)
        pool.runIfActive(eventLoop: loop) { () throws -> Void in
            if command == "flush" { try engine.flush() } else { try engine.compact(target, major: true) }
        }.whenComplete { result in
            switch result {
            case .success:
                let what = argument.isEmpty ? "every table" : argument
                reply(Self.document(ActionReport(answeredBy: me, action: command,
                                                 message: command == "flush" ? "flushed \(what)" : "compacted \(what) (major)")))
            case .failure(let error):
                reply(.error(WireRequestError(kind: WireRequestError.failureKind, message: "\(command) failed on \(me): \(error)")))
            }
        }
    }

    static func document<T: Encodable>(_ value: T) -> ClientReply {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        do {
            return .document(Array(try encoder.encode(value)))
        } catch {
            return .error(.invalid("encoding the answer failed: \(error)"))
        }
    }

    /// The commands answered at once, on the loop.
    func admin(_ command: String, _ argument: String) -> ClientReply {
        func document<T: Encodable>(_ value: T) -> ClientReply { Self.document(value) }
        func invalid(_ m: String) -> ClientReply { .error(.invalid(m)) }
        let me = node.id.name
        switch command {
        case "status":
            if !argument.isEmpty && node.schema.keyspaces[argument] == nil { return invalid("unknown keyspace \(argument)") }
            return document(status(keyspace: argument.isEmpty ? nil : argument))
        case "ring":
            let ring = node.ring
            let tokens = ring.tokens.map { t -> RingReport.Token in
                let owner = ring.primary(for: t)
                let location = ring.location(of: owner)!
                return RingReport.Token(token: t, node: owner.name, datacenter: location.datacenter, rack: location.rack,
                                        state: node.isAlive(owner) ? "UP" : "DOWN")
            }
            return document(RingReport(answeredBy: me, tokens: tokens))
        case "hints":
            let s = node.hintStore.statistics
            let targets = node.hintStore.targets.map { t in
                let p = node.hintStore.pending(for: t)
                return HintsReport.Target(node: t.name, hints: p.hints, bytes: p.bytes)
            }
            return document(HintsReport(answeredBy: me, stored: s.stored, delivered: s.delivered,
                                        droppedOverBudget: s.droppedOverBudget, droppedExpired: s.droppedExpired,
                                        pendingHints: s.pendingHints, pendingBytes: s.pendingBytes, targets: targets,
                                        received: node.statistics.hintsReceived,
                                        journalRecorded: node.journal.statistics.recorded,
                                        journalRecovered: node.journal.statistics.recovered))
        case "schema":
            return document(SchemaReport(answeredBy: me, digest: node.schemaVersion,
                                         encoded: Data(node.schemaEncoded).base64EncodedString(),
                                         agreement: node.schemaAgreement))
        case "local-read":
            // "TABLE HEXKEY": what this replica itself stores for a partition
            // (tombstones included), without coordination: for checkers.
            let parts = argument.split(separator: " ").map(String.init)
            guard parts.count == 2, let key = Hex.decode(parts[1]) else { return invalid("local-read takes TABLE HEXKEY") }
            do {
                return .rows(try node.localPartition(table: parts[0], key: key)?.encoded())
            } catch {
                return invalid(error.description)
            }
        case "isolate":
            // Fault injection: drop every peer frame in and out ("on"), or stop ("off").
            guard configuration.allowFaultInjection else {
                return invalid("fault injection is off on \(me) (allow_fault_injection = true turns it on)")
            }
            guard argument == "on" || argument == "off" else { return invalid("isolate takes on or off") }
            isolated = argument == "on"
            logger.warning("fault injection: \(isolated ? "cut off from" : "reconnected to") every peer")
            return document(ActionReport(answeredBy: me, action: "isolate", message: isolated ? "isolated" : "reconnected"))
        default:
            return invalid("unknown operator command \(command)")
        }
    }

    func status(keyspace: String?) -> StatusReport {
        let ring = node.ring
        var ownershipKeyspace = keyspace
        if ownershipKeyspace == nil { ownershipKeyspace = node.schema.keyspaces.keys.sorted().first }
        let strategy = ownershipKeyspace.flatMap { node.schema.keyspaces[$0]?.replication }
        let ownership = ring.isEmpty ? [:] : ring.ownership(strategy: strategy ?? .simple(replicationFactor: 1))
        var nodes: [StatusReport.Node] = []
        for id in ([node.id] + node.knownPeers) {
            let g = node.gossipState(of: id)
            func value(_ k: String) -> String? { g?.application[k]?.value }
            let location = ring.location(of: id)
            let own = ownership[id].map { strategy == nil ? $0.raw : $0.effective } ?? 0
            nodes.append(StatusReport.Node(
                name: id.name, state: node.isAlive(id) ? "UP" : "DOWN", status: value("status") ?? "UNKNOWN",
                address: value("addr") ?? "", clientAddress: value("client") ?? "",
                datacenter: value("dc") ?? location?.datacenter ?? "", rack: value("rack") ?? location?.rack ?? "",
                loadBytes: Int(value("load") ?? "") ?? 0, tokens: ring.tokens(of: id).count, ownership: own,
                schema: value("schema") ?? "", generation: g?.heartbeat.generation ?? 0))
        }
        nodes.sort { $0.name < $1.name }
        return StatusReport(answeredBy: node.id.name, clusterName: configuration.clusterName,
                            ownershipKeyspace: strategy == nil ? nil : ownershipKeyspace, nodes: nodes,
                            schemaAgreement: node.schemaAgreement)
    }
}
