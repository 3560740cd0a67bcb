// The append-log benchmark: one system at a time, P producers each keeping
// a window of publishes in flight for a measured time, 100-byte records,
// while one consumer tails the stream (end-to-end latency: publish to
// receipt, both in this process on one monotonic clock); then the consumer
// reads everything back from the start (consume throughput). Prints one JSON
// line.
//
//   ringtail: produce requests of batches of --batch records (its producer's
//             way), acks=1 or all, to each partition's leader; fetches.
//   nats:     JetStream publishes (one message each, the ack awaited
//             asynchronously), stream replicas 1 or 3; a pull consumer.
//   redis:    XADD pipelined; XREAD.
import ArgumentParser
import Foundation
import Histogram
import NIOCore
import NIOPosix
import RingtailCore
import RingtailLog
import RingtailServer
import RingtailWire

/// Latencies and counts of one role.
final class Recorder: @unchecked Sendable {
    private let lock = NSLock()
    private var histogram = Histogram<UInt64>(highestTrackableValue: 60_000_000_000, numberOfSignificantValueDigits: .three)
    private(set) var count = 0
    func record(_ nanos: UInt64, count n: Int = 1) {
        lock.lock()
        histogram.record(max(1, nanos), count: UInt64(n))
        count += n
        lock.unlock()
    }
    func percentile(_ p: Double) -> Double { lock.lock(); defer { lock.unlock() }; return Double(histogram.valueAtPercentile(p)) / 1000 }
}

let clockBase = ContinuousClock.now
func nowNanos() -> UInt64 { UInt64(max(0, (ContinuousClock.now - clockBase).nanosecondsClamped)) }

/// A 100-byte payload whose first 8 bytes are the send time (ns).
func payload(_ size: Int, at t: UInt64) -> [UInt8] {
    var p = [UInt8](repeating: UInt8(ascii: "x"), count: size)
    withUnsafeBytes(of: t.littleEndian) { for i in 0..<8 { p[i] = $0[i] } }
    return p
}
func sentAt(_ bytes: ArraySlice<UInt8>) -> UInt64? {
    guard bytes.count >= 8 else { return nil }
    var v: UInt64 = 0
    for (i, b) in bytes.prefix(8).enumerated() { v |= UInt64(b) << (8 * UInt64(i)) }
    return v
}

protocol LogSystem: Sendable {
    /// Runs one producer until `end`, recording publish latencies.
    func produce(producer: Int, until end: UInt64, publish: Recorder) async throws
    /// Tails the stream until `end`, recording end-to-end latencies.
    func tail(until end: UInt64, endToEnd: Recorder) async throws
    /// Reads everything from the start; returns records read.
    func consumeAll(expected: Int) async throws -> Int
}

@main
struct LogBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ringtail-log-bench",
                                                    abstract: "Produce/consume benchmark of Ringtail's log, NATS JetStream or Redis Streams; one JSON line.")
    @Option(help: "ringtail, nats or redis.") var target: String
    @Option(help: "Addresses host:port, comma-separated (ringtail: client ports; nats/redis: the server).") var hosts: String
    @Option(help: "Label for the results (e.g. acks=all).") var label = ""
    @Option(help: "ringtail: acks (1 or all).") var acks = "1"
    @Option(help: "ringtail: records per produce request.") var batch = 100
    @Flag(help: "ringtail: the topic fsyncs every batch before acknowledging it.") var flush = false
    @Option(help: "nats: stream replicas.") var replicas = 1
    @Option var producers = 4
    @Option(help: "Records in flight per producer: publishes (nats, redis), or window / batch produce requests (ringtail).") var window = 256
    @Option var recordBytes = 100
    @Option var seconds = 10.0
    @Option var topic = "bench"
    @Option var partitions = 6

    func run() async throws {
        _ = clockBase // set it before any task reads the clock
        let endpoints = hosts.split(separator: ",").compactMap { Endpoint(String($0)) }
        guard !endpoints.isEmpty else { throw ValidationError("--hosts") }
        let system: any LogSystem
        switch target {
        case "ringtail":
            system = try await RingtailSystem(endpoints: endpoints, topic: topic, partitions: partitions, acks: acks == "all" ? .all : .leader,
                                              batch: batch, window: window, recordBytes: recordBytes, flush: flush)
        case "nats":
            system = try NatsJetStream(endpoint: endpoints[0], replicas: replicas, window: window, recordBytes: recordBytes)
        case "redis":
            system = try RedisStreams(endpoint: endpoints[0], window: window, recordBytes: recordBytes)
        default: throw ValidationError("--target is ringtail, nats or redis")
        }
        let publish = Recorder(), endToEnd = Recorder()
        let start = nowNanos()
        let end = start + UInt64(seconds * 1e9)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await system.tail(until: end + 2_000_000_000, endToEnd: endToEnd) }
            for p in 0..<producers { tasks.addTask { try await system.produce(producer: p, until: end, publish: publish) } }
            try await tasks.waitForAll()
        }
        let elapsed = Double(nowNanos() - start) / 1e9
        let produced = publish.count
        let consumeStart = nowNanos()
        let consumed = try await system.consumeAll(expected: produced)
        let consumeSeconds = Double(nowNanos() - consumeStart) / 1e9
        func r(_ v: Double) -> Double { (v * 10).rounded() / 10 }
        let result: [String: Any] = [
            "target": target, "label": label, "producers": producers, "window": window, "record_bytes": recordBytes,
            "produced": produced, "produce_per_s": Int(Double(produced) / min(elapsed, seconds)),
            "publish_p50_us": r(publish.percentile(50)), "publish_p99_us": r(publish.percentile(99)),
            "e2e_count": endToEnd.count, "e2e_p50_us": r(endToEnd.percentile(50)), "e2e_p99_us": r(endToEnd.percentile(99)),
            "consumed": consumed, "consume_per_s": Int(Double(consumed) / max(consumeSeconds, 0.001)),
        ]
        let data = try JSONSerialization.data(withJSONObject: result, options: [.sortedKeys])
        print(String(decoding: data, as: UTF8.self))
    }
}
