// Operator commands in the spirit of nodetool, answered by the node at
// --host from its own view: status, ring, hints, flush, compact, schema.
import ArgumentParser
import Foundation
import RingtailCore
import RingtailServer

func printStatus(_ s: StatusReport) {
    print("Cluster \(s.clusterName), as seen by \(s.answeredBy)")
    print("Owns: " + (s.ownershipKeyspace.map { "effective, under keyspace \($0)'s replication" } ?? "raw token share (no keyspace)"))
    for dc in Set(s.nodes.map(\.datacenter)).sorted() {
        print("Datacenter: \(dc)")
        print("Status=Up/Down  State=Normal/Joining/Shut down")
        let header = ["--", "Name", "Address", "Client", "Load", "Tokens", "Owns", "Rack", "Schema"]
        var rows = [header]
        for n in s.nodes where n.datacenter == dc {
            let code = (n.state == "UP" ? "U" : "D") + (["NORMAL": "N", "JOINING": "J", "SHUTDOWN": "S"][n.status] ?? "?")
            rows.append([code, n.name, n.address, n.clientAddress, ByteCount(bytes: n.loadBytes).description, "\(n.tokens)",
                         String(format: "%.1f%%", n.ownership * 100), n.rack, String(n.schema.prefix(8))])
        }
        let widths = header.indices.map { i in rows.map { $0[i].count }.max()! }
        for r in rows { print(r.enumerated().map { $1.padding(toLength: widths[$0], withPad: " ", startingAt: 0) }.joined(separator: "  ")) }
    }
    print("Schema: " + (s.schemaAgreement ? "all live nodes agree" : "DISAGREEMENT between live nodes"))
}

func printJSON<T: Encodable>(_ value: T) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    print(String(decoding: try encoder.encode(value), as: UTF8.self))
}

struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status", abstract: "Every node: up/down, address, datacenter, rack, load, tokens, ownership, schema.")
    @OptionGroup var connection: ConnectionOptions
    @Argument(help: "Keyspace whose replication effective ownership is computed for (default: the first).") var keyspace: String?

    func run() throws {
        let keyspace = keyspace ?? ""
        let report = try connection.with { c in
            try await admin(c, "status", keyspace, as: StatusReport.self)
        }
        if connection.json { try printJSON(report) } else { printStatus(report) }
    }
}

struct RingCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ring", abstract: "Every token and the node that owns it.")
    @OptionGroup var connection: ConnectionOptions
    func run() throws {
        let report = try connection.with { c in
            try await admin(c, "ring", as: RingReport.self)
        }
        if connection.json { try printJSON(report); return }
        print("Ring as seen by \(report.answeredBy): \(report.tokens.count) tokens")
        for t in report.tokens {
            print("\(String(t.token).padding(toLength: 21, withPad: " ", startingAt: 0)) \(t.node)  \(t.datacenter)/\(t.rack)  \(t.state)")
        }
    }
}

struct HintsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "hints", abstract: "Hints the node holds for replicas that missed writes.")
    @OptionGroup var connection: ConnectionOptions
    func run() throws {
        let r = try connection.with { c in
            try await admin(c, "hints", as: HintsReport.self)
        }
        if connection.json { try printJSON(r); return }
        print("\(r.answeredBy): \(r.pendingHints) hints pending (\(ByteCount(bytes: r.pendingBytes))); stored \(r.stored), delivered \(r.delivered), dropped \(r.droppedOverBudget) over budget and \(r.droppedExpired) past the hint window; received and applied \(r.received); write journal: \(r.journalRecorded) writes recorded, \(r.journalRecovered) recovered at start")
        for t in r.targets { print("  for \(t.node): \(t.hints) hints (\(ByteCount(bytes: t.bytes)))") }
    }
}

struct FlushCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "flush", abstract: "Flush the node's memtables to SSTables.")
    @OptionGroup var connection: ConnectionOptions
    @Argument(help: "KEYSPACE.TABLE (default: every table).") var table: String?
    func run() throws {
        let table = table ?? ""
        let r = try connection.with { c in
            try await admin(c, "flush", table, as: ActionReport.self)
        }
        if connection.json { try printJSON(r) } else { print("\(r.answeredBy): \(r.message)") }
    }
}

struct CompactCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "compact", abstract: "Major compaction on the node.")
    @OptionGroup var connection: ConnectionOptions
    @Argument(help: "KEYSPACE.TABLE (default: every table).") var table: String?
    func run() throws {
        let table = table ?? ""
        let r = try connection.with { c in
            try await admin(c, "compact", table, as: ActionReport.self)
        }
        if connection.json { try printJSON(r) } else { print("\(r.answeredBy): \(r.message)") }
    }
}

struct WaitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wait",
        abstract: "Wait until the node at --host sees a condition: `up NODE`, `down NODE`, `hints-delivered`, `schema-agreement`.")
    @OptionGroup var connection: ConnectionOptions
    @Argument(help: "up, down, hints-delivered or schema-agreement.") var condition: String
    @Argument(help: "The node, for up and down.") var node: String?
    @Option(help: "Seconds before giving up (exit 1).") var timeout: Double = 60

    func run() throws {
        guard ["up", "down", "hints-delivered", "schema-agreement"].contains(condition) else {
            throw ValidationError("the condition must be up, down, hints-delivered or schema-agreement")
        }
        if (condition == "up" || condition == "down") && node == nil { throw ValidationError("\(condition) needs a node") }
        let (condition, node, timeout) = (condition, node ?? "", timeout)
        let endpoint = try connection.endpoint()
        // A new connection per check: the node may restart while we wait.
        let met = try blocking {
            await poll(timeout) {
                switch condition {
                case "hints-delivered":
                    return (try? await ask(endpoint, "hints", as: HintsReport.self))?.pendingHints == 0
                default:
                    guard let s = try? await ask(endpoint, "status", as: StatusReport.self) else { return false }
                    if condition == "schema-agreement" { return s.schemaAgreement }
                    let state = s.nodes.first { $0.name == node }?.state
                    return condition == "up" ? state == "UP" : state == "DOWN"
                }
            }
        }
        guard met else { throw RequestFailure("not \(condition) \(node) within \(Int(timeout)) s") }
        print(condition == "up" || condition == "down" ? "\(node) is \(condition)" : condition)
    }
}
