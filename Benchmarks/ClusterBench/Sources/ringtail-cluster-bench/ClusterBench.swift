// One closed-loop run against a cluster: N clients, each with its own TCP
// connection (spread round-robin over the given addresses), each sending one
// request, waiting for the answer, and sending the next, for a warm-up and
// then a measured time. Prints one JSON line: ops/s and latency percentiles
// of the measured part. The same harness drives both systems:
//
//   ringtail: writes and reads of 100-byte values in bench.kv (key text,
//             value blob) at a consistency level, over Ringtail's client
//             protocol (RemoteConnection);
//   etcd:     Put and Range (linearizable, etcd's default) of the same keys
//             and values, as gRPC calls over HTTP/2 (etcd's own protocol),
//             one HTTP/2 stream per call as every gRPC client does.
//
// Keys are drawn uniformly from --keys distinct keys, values are random.
import ArgumentParser
import Foundation
import Histogram
import NIOCore
import NIOPosix
import RingtailCore
import RingtailServer
import RingtailStorage
import RingtailWire

@main
struct ClusterBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ringtail-cluster-bench",
        abstract: "Closed-loop write or read load against a Ringtail or etcd cluster; prints one JSON line.")

    @Option(help: "ringtail or etcd.") var target: String
    @Option(help: "write or read.") var op: String
    @Option(help: "Client addresses, host:port, comma-separated.") var hosts: String
    @Option(help: "Ringtail consistency level (one, quorum, all).") var level = "quorum"
    @Option(help: "Concurrent clients, one connection each.") var clients = 64
    @Option(help: "Value size in bytes.") var valueBytes = 100
    @Option(help: "Distinct keys.") var keys = 100_000
    @Option(help: "Warm-up seconds (not measured).") var warmup = 2.0
    @Option(help: "Measured seconds.") var seconds = 10.0
    @Option(help: "Ringtail table.") var table = "bench.kv"

    func run() async throws {
        guard ["ringtail", "etcd"].contains(target) else { throw ValidationError("--target is ringtail or etcd") }
        guard ["write", "read"].contains(op) else { throw ValidationError("--op is write or read") }
        let endpoints = try hosts.split(separator: ",").map { text -> Endpoint in
            guard let e = Endpoint(String(text)) else { throw ValidationError("bad address \(text)") }
            return e
        }
        guard !endpoints.isEmpty, clients > 0 else { throw ValidationError("need addresses and clients") }
        let group = MultiThreadedEventLoopGroup.singleton
        var clientsMade: [any BenchClient] = []
        for i in 0..<clients {
            let e = endpoints[i % endpoints.count]
            if target == "ringtail" {
                clientsMade.append(try await RingtailBenchClient(endpoint: e, group: group, table: table, level: level))
            } else {
                clientsMade.append(try await EtcdBenchClient(endpoint: e, group: group))
            }
        }
        let start = ContinuousClock.now
        let measureFrom = start + .milliseconds(Int(warmup * 1000))
        let end = measureFrom + .milliseconds(Int(seconds * 1000))
        let (op, keys, valueBytes) = (op, keys, valueBytes)
        let results = await withTaskGroup(of: ClientResult.self) { tasks in
            for (i, client) in clientsMade.enumerated() {
                tasks.addTask {
                    var result = ClientResult()
                    var random = SystemRandomNumberGenerator()
                    var value = [UInt8](repeating: 0, count: valueBytes)
                    _ = i
                    while true {
                        let now = ContinuousClock.now
                        if now >= end { break }
                        let key = "key\(Int.random(in: 0..<keys, using: &random))"
                        for j in 0..<value.count { value[j] = UInt8.random(in: 97...122, using: &random) }
                        let t0 = ContinuousClock.now
                        let ok = await (op == "write" ? client.write(key: key, value: value) : client.read(key: key))
                        let t1 = ContinuousClock.now
                        guard t0 >= measureFrom else { continue }
                        if ok {
                            let d = t1 - t0
                            let ns = UInt64(d.components.seconds) * 1_000_000_000 + UInt64(d.components.attoseconds / 1_000_000_000)
                            result.record(ns)
                        } else {
                            result.errors += 1
                        }
                    }
                    return result
                }
            }
            var all = ClientResult()
            for await r in tasks { all.merge(r) }
            return all
        }
        for c in clientsMade { c.close() }
        let h = results.histogram
        func us(_ p: Double) -> Double { Double(h.valueAtPercentile(p)) / 1000 }
        let line: [String: Any] = [
            "target": target, "op": op, "level": target == "ringtail" ? level.uppercased() : "etcd",
            "clients": clients, "value_bytes": valueBytes, "seconds": seconds,
            "ops": Int(h.totalCount), "errors": results.errors,
            "ops_per_s": (Double(h.totalCount) / seconds).rounded(),
            "p50_us": us(50), "p99_us": us(99), "p999_us": us(99.9), "max_us": Double(h.max) / 1000,
        ]
        let data = try JSONSerialization.data(withJSONObject: line, options: [.sortedKeys])
        print(String(decoding: data, as: UTF8.self))
    }
}

struct ClientResult: Sendable {
    var histogram = Histogram<UInt64>(lowestDiscernibleValue: 1_000, highestTrackableValue: 600_000_000_000,
                                      numberOfSignificantValueDigits: .three)
    var errors = 0
    mutating func record(_ ns: UInt64) { histogram.record(min(max(ns, 1_000), 600_000_000_000)) }
    mutating func merge(_ other: ClientResult) {
        histogram.add(other.histogram)
        errors += other.errors
    }
}

protocol BenchClient: Sendable {
    func write(key: String, value: [UInt8]) async -> Bool
    func read(key: String) async -> Bool
    func close()
}

/// Ringtail's client protocol: one connection, one request at a time.
final class RingtailBenchClient: BenchClient {
    let connection: RemoteConnection
    let table: String
    let level: String
    static let column = Array("v".utf8)

    init(endpoint: Endpoint, group: EventLoopGroup, table: String, level: String) async throws {
        connection = try await RemoteConnection.connect(to: endpoint, group: group)
        self.table = table
        self.level = level
    }

    func write(key: String, value: [UInt8]) async -> Bool {
        let now = Int64(Date().timeIntervalSince1970 * 1_000_000)
        let update = PartitionUpdate(key: KeyCodec.encodeKey([.text(key)]), rows: [
            Row(clustering: [], cells: [Cell(column: Self.column, timestamp: now, kind: .live, value: value)])])
        guard case .ok? = try? await connection.request(.write(table: table, update: update.encoded(), consistency: level),
                                                        timeout: .seconds(10)) else { return false }
        return true
    }

    func read(key: String) async -> Bool {
        let read = ClientRead(table: table, key: KeyCodec.encodeKey([.text(key)]), consistency: level)
        guard case .rows? = try? await connection.request(.read(read), timeout: .seconds(10)) else { return false }
        return true
    }

    func close() { connection.close() }
}
