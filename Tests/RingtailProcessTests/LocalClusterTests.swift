// A real local cluster as a user drives it, through the `ringtail` binary:
// three node processes on 127.0.0.1, schema, writes and reads at several
// levels, a node killed (QUORUM still writes, ALL refused, hints pending),
// restarted (hints delivered), a graceful stop, and garbage on a node's
// ports (the connection is closed; the node keeps serving). Every process
// is stopped by pid at the end (`cluster clean`).
import Foundation
import Glibc
import Testing
import Ringtail
import RingtailCluster

@Suite(.serialized) struct LocalClusterTests {
    func run(_ arguments: [String]) throws -> (status: Int32, output: String) { try RingtailProcess.run(arguments) }

    /// Opens a TCP connection to 127.0.0.1:`port`, writes `bytes`, and waits
    /// (bounded) for the node to close it.
    func sendRaw(_ bytes: [UInt8], port: UInt16) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { return false }
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        var buffer = [UInt8](repeating: 0, count: 64)
        return recv(fd, &buffer, buffer.count, 0) == 0  // 0: the node closed the connection
    }

    @Test func aLocalClusterSurvivesAKilledNodeAndDeliversItsHints() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ringtail-lc-\(getpid())").path
        let c = ["--dir", dir]
        let n1 = ["--host", "127.0.0.1:9711"]
        defer { _ = try? run(["cluster", "clean"] + c) }
        let up = try run(["cluster", "up", "--nodes", "3", "--peer-port", "7710", "--client-port", "9710", "--timeout", "60"] + c)
        #expect(up.status == 0, "\(up.output)")
        #expect(up.output.contains("UN  n3") && up.output.contains("all live nodes agree"), "\(up.output)")

        #expect(try run(["keyspace", "create", "iot", "--rf", "3"] + n1).status == 0)
        let table = try run(["table", "create", "iot.r", "--partition-key", "s:text", "--clustering", "ts:bigint",
                             "--column", "v:double"] + n1)
        #expect(table.status == 0 && table.output.contains("schema agreed"), "\(table.output)")
        #expect(try run(["put", "iot.r", "--key", "a", "--clustering", "1", "--set", "v=1.5"] + n1).status == 0)
        let read = try run(["get", "iot.r", "--key", "a", "--consistency", "ALL", "--json", "--host", "127.0.0.1:9713"])
        #expect(read.output.contains("\"v\":1.5"), "\(read.output)")
        // A cell delete without its row's clustering key is refused, never widened to the partition.
        let cell = try run(["delete", "iot.r", "--key", "a", "--column", "v"] + n1)
        #expect(cell.status != 0 && cell.output.contains("--column deletes one cell"), "\(cell.output)")
        let unknown = try run(["put", "iot.nope", "--key", "a", "--set", "v=1"] + n1)
        #expect(unknown.status != 0 && unknown.output.contains("no table iot.nope"), "\(unknown.output)")

        #expect(try run(["cluster", "kill", "n3"] + c).status == 0)
        #expect(try run(["wait", "down", "n3", "--timeout", "30"] + n1).status == 0)
        #expect(try run(["put", "iot.r", "--key", "a", "--clustering", "2", "--set", "v=2.5"] + n1).status == 0)
        let all = try run(["put", "iot.r", "--key", "a", "--clustering", "3", "--set", "v=0", "--consistency", "ALL"] + n1)
        #expect(all.status != 0 && all.output.contains("Unavailable: ALL needs 3 live replica(s), 2 alive"), "\(all.output)")
        let hints = try run(["hints"] + n1)
        #expect(hints.output.contains("for n3"), "\(hints.output)")
        #expect(hints.output.contains("write journal: ") && hints.output.contains("recovered at start"), "\(hints.output)")

        #expect(try run(["cluster", "start", "n3"] + c).status == 0)
        #expect(try run(["wait", "hints-delivered", "--timeout", "60"] + n1).status == 0)
        let scan = try run(["scan", "iot.r", "--key", "a", "--consistency", "ONE", "--host", "127.0.0.1:9713"])
        #expect(scan.output.contains("(2 rows)"), "\(scan.output)")
        // Newest first, and the limit keeps the newest.
        let desc = try run(["scan", "iot.r", "--key", "a", "--order", "desc", "--limit", "1", "--json"] + n1)
        #expect(desc.output.contains("\"ts\":\"2\"") && !desc.output.contains("\"ts\":\"1\""), "\(desc.output)")
        let both = try run(["scan", "iot.r", "--key", "a", "--order", "desc", "--json"] + n1)
        let lines = both.output.split(separator: "\n")
        #expect(lines.count == 2 && lines[0].contains("\"ts\":\"2\"") && lines[1].contains("\"ts\":\"1\""), "\(both.output)")

        // The typed client over the network runs the statements an embedded
        // cluster runs; an address that does not answer is skipped.
        let client = try await NetworkClient.connect(to: ["127.0.0.1:9719", "127.0.0.1:9712"], consistency: .quorum)
        defer { client.close() }
        for ts in 1...3 {
            try await client.insert(into: "iot.r", partitionKey: [.text("b")], clusteringKey: [.bigint(Int64(ts))],
                                    values: ["v": .double(Double(ts) / 2)])
        }
        let newest = try await client.select(from: "iot.r", partitionKey: [.text("b")], limit: 2, descending: true,
                                             consistency: .all)
        #expect(newest.map { $0["ts"] } == [.bigint(3), .bigint(2)] && newest.first?["v"] == .double(1.5))
        try await client.delete(from: "iot.r", partitionKey: [.text("b")], range: .from(.bigint(2)))
        let left = try await client.select(from: "iot.r", partitionKey: [.text("b")], range: .from(.bigint(1), through: .bigint(3)))
        #expect(left.map { $0["ts"] } == [.bigint(1)])
        await #expect(throws: RequestError.self) {
            try await client.insert(into: "iot.nope", partitionKey: [.text("b")], values: [:])
        }

        // Garbage on both ports: an oversized frame header and a non-hello frame.
        #expect(sendRaw([0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0], port: 9711))
        #expect(sendRaw([0, 0, 0, 0, 0, 0, 0, 0], port: 7711))
        let status = try run(["status"] + n1)
        #expect(status.status == 0 && status.output.contains("UN  n1"), "\(status.output)")
        let log = try String(contentsOfFile: dir + "/n1/node.log", encoding: .utf8)
        #expect(log.contains("exceeds the limit"), "the oversized frame is logged")

        let stop = try run(["cluster", "stop", "n2"] + c)
        #expect(stop.status == 0, "\(stop.output)")
        // The shutdown announcement: n1 holds n2 down at once, long before
        // its failure detector would (about 9 s at these settings).
        let announced = try run(["wait", "down", "n2", "--timeout", "3"] + n1)
        #expect(announced.status == 0, "\(announced.output)")
        let n2log = try String(contentsOfFile: dir + "/n2/node.log", encoding: .utf8)
        #expect(n2log.contains("flushed and closed storage") && n2log.contains("stopped"))
        let down = try run(["cluster", "down"] + c)
        #expect(down.status == 0, "\(down.output)")
    }

    /// A configuration that does not parse: exit status 64, a message naming
    /// the file, and no data directory created.
    @Test func aBadConfigurationIsRefusedBeforeAnythingIsWritten() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ringtail-cfg-\(getpid())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let config = dir + "/n1.toml"
        try "node_name = \"n1\"\nlisten_address = \"127.0.0.1:7790\"\nclient_address = \"127.0.0.1:9790\"\ndata_directory = \"data\"\nnum_tokenz = 3\n"
            .write(toFile: config, atomically: true, encoding: .utf8)
        let result = try run(["node", "--config", config])
        #expect(result.status == 64, "\(result.output)")
        #expect(result.output.contains("n1.toml") && result.output.contains("num_tokenz"), "\(result.output)")
        #expect(!FileManager.default.fileExists(atPath: dir + "/data"))
    }
}
