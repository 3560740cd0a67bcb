// Ringtail's log through its client protocol: produce requests (batches of
// --batch records) to each partition's leader, fetches with long-poll.
import Foundation
import NIOCore
import NIOPosix
import RingtailCore
import RingtailLog
import RingtailServer
import RingtailWire

final class RingtailSystem: LogSystem, @unchecked Sendable {
    let topic: String
    let partitions: Int
    let acks: Acks
    let batch: Int
    let window: Int
    let recordBytes: Int
    /// One connection per partition, to its leader.
    var leaders: [RemoteConnection] = []

    init(endpoints: [Endpoint], topic: String, partitions: Int, acks: Acks, batch: Int, window: Int, recordBytes: Int, flush: Bool) async throws {
        self.topic = topic
        self.partitions = partitions
        self.acks = acks
        self.batch = batch
        self.window = window
        self.recordBytes = recordBytes
        let group = MultiThreadedEventLoopGroup.singleton
        let control = try await RemoteConnection.connect(to: endpoints[0], group: group)
        func ask(_ r: LogClientRequest) async throws -> LogClientReply {
            guard case .log(let bytes) = try await control.request(.log(LogMessageCodec.encode(r))) else { throw BenchError("not a log reply") }
            return try LogMessageCodec.decodeClientReply(bytes)
        }
        // A fresh topic per run: delete, then create.
        _ = try? await ask(.deleteTopic(name: topic))
        try await Task.sleep(for: .seconds(1))
        for _ in 0..<50 {
            if case .ok = try await ask(.createTopic(name: topic, config: TopicConfig(partitions: partitions, replicationFactor: 3, retentionAge: nil, flushEveryBatch: flush))) { break }
            try await Task.sleep(for: .milliseconds(300))
        }
        var description: ClusterDescription?
        for _ in 0..<50 {
            if case .cluster(let d) = try await ask(.describeCluster),
               let t = d.topics.first(where: { $0.name == topic }), t.partitions.allSatisfy({ $0.leader != nil }) {
                description = d
                break
            }
            try await Task.sleep(for: .milliseconds(200))
        }
        guard let d = description, let t = d.topics.first(where: { $0.name == topic }) else { throw BenchError("topic not ready") }
        var byNode: [String: RemoteConnection] = [:]
        for p in t.partitions {
            let leader = p.leader!
            if byNode[leader] == nil {
                let address = d.brokers.first { $0.node == leader }!.clientAddress
                byNode[leader] = try await RemoteConnection.connect(to: Endpoint(address)!, group: group)
            }
            leaders.append(byNode[leader]!)
        }
        try await Task.sleep(for: .seconds(1)) // followers open their replicas
        control.close()
    }

    func request(_ partition: Int, _ r: LogClientRequest) async throws -> LogClientReply {
        guard case .log(let bytes) = try await leaders[partition].request(.log(LogMessageCodec.encode(r)), timeout: .seconds(30)) else {
            throw BenchError("not a log reply")
        }
        return try LogMessageCodec.decodeClientReply(bytes)
    }

    func produce(producer: Int, until end: UInt64, publish: Recorder) async throws {
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            // The same records in flight as a peer with this window: window / batch requests.
            let lanes = max(1, self.window / self.batch)
            for lane in 0..<lanes {
                tasks.addTask {
                    var partition = (producer * lanes + lane) % self.partitions
                    while nowNanos() < end {
                        let t0 = nowNanos()
                        var b = RecordBatchBuilder()
                        for _ in 0..<self.batch { b.append(timestamp: 0, key: nil, value: payload(self.recordBytes, at: t0)) }
                        let reply = try await self.request(partition, .produce(topic: self.topic, partition: partition, acks: self.acks,
                                                                               timeout: .seconds(10), batch: b.build()))
                        if case .produced(let r) = reply, r.error == .none { publish.record(nowNanos() - t0, count: self.batch) }
                        partition = (partition + 1) % self.partitions
                    }
                }
            }
            try await tasks.waitForAll()
        }
    }

    func tail(until end: UInt64, endToEnd: Recorder) async throws {
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            for p in 0..<partitions {
                tasks.addTask {
                    guard case .offset(var offset) = try await self.request(p, .listOffsets(topic: self.topic, partition: p, .latest)) else { return }
                    while nowNanos() < end {
                        let reply = try await self.request(p, .fetch(FetchRequest(topic: self.topic, partition: p, replica: nil,
                                                                                  fetchOffset: offset, maxBytes: 1 << 20, maxWait: .milliseconds(200))))
                        guard case .fetched(let f) = reply, f.error == .none else { continue }
                        let now = nowNanos()
                        for r in try RecordBatchCodec.records(in: f.records) where r.offset >= offset {
                            if let sent = sentAt(r.value?[...] ?? []) { endToEnd.record(now > sent ? now - sent : 1) }
                            offset = r.offset + 1
                        }
                    }
                }
            }
            try await tasks.waitForAll()
        }
    }

    func consumeAll(expected: Int) async throws -> Int {
        try await withThrowingTaskGroup(of: Int.self) { tasks in
            for p in 0..<partitions {
                tasks.addTask {
                    guard case .offset(let end) = try await self.request(p, .listOffsets(topic: self.topic, partition: p, .latest)) else { return 0 }
                    var offset: Int64 = 0, count = 0
                    while offset < end {
                        let reply = try await self.request(p, .fetch(FetchRequest(topic: self.topic, partition: p, replica: nil,
                                                                                  fetchOffset: offset, maxBytes: 1 << 20, maxWait: .zero)))
                        guard case .fetched(let f) = reply, f.error == .none, !f.records.isEmpty else { break }
                        // Every record decoded, as a consumer would (the peers parse each message too).
                        let records = try RecordBatchCodec.records(in: f.records)
                        count += records.count
                        offset = (records.last?.offset ?? offset) + 1
                    }
                    return count
                }
            }
            var total = 0
            for try await n in tasks { total += n }
            return total
        }
    }
}
