// A consumer of the append log without a group: it reads chosen partitions
// of a topic from their leaders, from the earliest offset, the latest, a
// time, or given positions, fetching from every partition at once and
// waiting at the leader while there is nothing new. Consumer groups build
// on it (LogGroupConsumer.swift, later).
import RingtailCore
import RingtailLog

/// A record as a consumer receives it.
public struct ConsumedRecord: Equatable, Sendable {
    public var topic: String
    public var partition: Int
    public var offset: Int64
    public var timestampMillis: Int64
    public var key: [UInt8]?
    public var value: [UInt8]?
    public var headers: [RecordHeader]
}

extension ConsumedRecord {
    /// The records of a fetch answer at or after `offset` (a fetch returns
    /// whole batches, which may start before it), and the position after the
    /// last one (nil: nothing new). A batch that does not decode is an error
    /// naming the partition: skipping it would lose records, retrying it would spin.
    static func decode(_ response: FetchResponse, topic: String, partition: Int,
                       from offset: Int64) throws -> ([ConsumedRecord], next: Int64?) {
        let decoded: [LogRecord]
        do { decoded = try RecordBatchCodec.records(in: response.records) } catch {
            throw LogClientError("\(topic)-\(partition) sent a batch that does not decode: \(error)")
        }
        let records = decoded.filter { $0.offset >= offset }.map {
            ConsumedRecord(topic: topic, partition: partition, offset: $0.offset, timestampMillis: $0.timestamp,
                           key: $0.key, value: $0.value, headers: $0.headers)
        }
        guard let last = decoded.last, last.offset + 1 > offset else { return (records, nil) }
        return (records, last.offset + 1)
    }
}

public actor LogConsumer {
    public let client: LogClient
    public let topic: String
    public let start: OffsetSpec
    /// The next offset to read, per partition.
    public private(set) var positions: [Int: Int64] = [:]
    let fetchBytes: Int

    /// Reads `partitions` (nil: all) of `topic`, starting at `start` where no position is given.
    public init(client: LogClient, topic: String, partitions: [Int]? = nil, start: OffsetSpec = .latest,
                positions: [Int: Int64] = [:], fetchBytes: Int = 1 << 20) async throws {
        self.client = client
        self.topic = topic
        self.start = start
        self.fetchBytes = fetchBytes
        let description = try await client.topic(topic)
        for p in partitions ?? Array(0..<description.partitions.count) {
            guard p >= 0 && p < description.partitions.count else {
                throw LogClientError("\(topic) has no partition \(p)", code: .unknownTopicOrPartition)
            }
            if let given = positions[p] {
                self.positions[p] = given
            } else {
                self.positions[p] = try await client.offset(topic: topic, partition: p, start)
            }
        }
    }

    /// Records available now (or within `maxWait`), from every partition, in
    /// offset order per partition.
    public func poll(maxWait: Duration = .milliseconds(500)) async throws -> [ConsumedRecord] {
        let topic = self.topic
        let client = self.client
        let fetchBytes = self.fetchBytes
        let current = positions
        let results = try await withThrowingTaskGroup(of: (Int, FetchResponse).self) { group in
            for (partition, offset) in current {
                group.addTask {
                    (partition, try await client.fetch(topic: topic, partition: partition, offset: offset, maxBytes: fetchBytes, maxWait: maxWait))
                }
            }
            var out: [(Int, FetchResponse)] = []
            for try await r in group { out.append(r) }
            return out
        }
        var records: [ConsumedRecord] = []
        for (partition, response) in results.sorted(by: { $0.0 < $1.0 }) {
            switch response.error {
            case .none:
                break
            case .offsetOutOfRange:
                // Retention removed it, or the log was truncated: start again per the policy.
                positions[partition] = try await client.offset(topic: topic, partition: partition, start)
                continue
            default:
                continue // leadership moving: the next poll asks again
            }
            let (fetched, next) = try ConsumedRecord.decode(response, topic: topic, partition: partition, from: positions[partition] ?? 0)
            records += fetched
            if let next { positions[partition] = next }
        }
        return records
    }

    /// Moves a partition's position (a reset or a committed offset).
    public func seek(partition: Int, to offset: Int64) { positions[partition] = offset }
}
