// A producer for the append log, as Kafka's: records go into one batch per
// partition (chosen by the key's murmur2, a sticky partition for records
// without a key, or explicitly), a batch is sent when it is full or has
// lingered, compressed with LZ4 or Zstd, one batch in flight per partition
// so order holds, and retried on leader changes and timeouts. Idempotent by
// default: the producer id and per-partition sequence numbers make a retry
// land once.
import RingtailCore
import RingtailLog

/// How a producer batches and acknowledges.
public struct ProducerOptions: Sendable {
    public var acks: Acks = .all
    /// Wait this long for more records before sending a batch that is not full (`linger.ms`).
    public var linger: Duration = .milliseconds(5)
    /// Send a batch once it holds this many bytes, uncompressed (`batch.size`).
    public var batchBytes = 64 * 1024
    public var compression: BatchCompression = .none
    /// Producer id and sequence numbers, so retries never duplicate (`enable.idempotence`).
    public var idempotent = true
    /// Give up on a batch this long after it was first sent (`delivery.timeout.ms`).
    public var deliveryTimeout: Duration = .seconds(120)
    /// Batches waiting per partition before `send` waits (back-pressure).
    public var queuedBatchesMax = 16
    public init() {}
}

public actor LogProducer {
    public let client: LogClient
    public let options: ProducerOptions
    var partitioner: Partitioner
    var producerId: Int64 = RecordBatchLayout.noProducerId
    let producerEpoch: Int16 = 0

    struct Key: Hashable { var topic: String; var partition: Int }
    struct Lane {
        var builder: RecordBatchBuilder?
        var openedAt: ContinuousClock.Instant?
        var ready: [(batch: [UInt8], records: Int)] = []
        var sending = false
        var nextSequence: Int32 = 0
    }
    var lanes: [Key: Lane] = [:]
    var failures: [String] = []
    public private(set) var recordsAcknowledged = 0
    var lingerTask: Task<Void, Never>?
    var waiters: [CheckedContinuation<Void, Never>] = []

    public init(client: LogClient, options: ProducerOptions = ProducerOptions(), seed: UInt64 = UInt64.random(in: 0...UInt64.max)) {
        self.client = client
        self.options = options
        partitioner = Partitioner(seed: seed)
    }

    /// Queues one record; it is sent with its batch. Waits while the
    /// partition has `queuedBatchesMax` batches queued. Errors surface in `flush()`.
    public func send(topic: String, key recordKey: [UInt8]?, value: [UInt8]?, headers: [RecordHeader] = [],
                     timestampMillis: Int64, partition explicit: Int? = nil) async throws {
        if options.idempotent && producerId < 0 { producerId = try await client.producerId() }
        let partitions = try await client.topic(topic).partitions.count
        if let explicit, explicit < 0 || explicit >= partitions {
            throw LogClientError("\(topic) has no partition \(explicit)", code: .unknownTopicOrPartition)
        }
        let partition = partitioner.partition(topic: topic, key: recordKey, partitions: partitions, explicit: explicit)
        let key = Key(topic: topic, partition: partition)
        while (lanes[key]?.ready.count ?? 0) >= options.queuedBatchesMax {
            await withCheckedContinuation { waiters.append($0) }
        }
        var lane = lanes[key] ?? Lane()
        if let b = lane.builder, !b.isEmpty,
           b.uncompressedBytes + b.encodedSize(timestamp: timestampMillis, key: recordKey, value: value, headers: headers) > options.batchBytes {
            seal(&lane, key)
            if recordKey == nil { partitioner.batchSent(topic: topic, partition: partition, partitions: partitions) }
        }
        if lane.builder == nil {
            lane.builder = RecordBatchBuilder(compression: options.compression, producerId: producerId,
                                              producerEpoch: options.idempotent ? producerEpoch : -1,
                                              baseSequence: options.idempotent ? lane.nextSequence : RecordBatchLayout.noSequence)
            lane.openedAt = .now
        }
        lane.builder!.append(timestamp: timestampMillis, key: recordKey, value: value, headers: headers)
        lanes[key] = lane
        ensureLinger()
    }

    func seal(_ lane: inout Lane, _ key: Key) {
        guard let builder = lane.builder, !builder.isEmpty else { return }
        lane.ready.append((builder.build(), builder.recordCount))
        if options.idempotent { lane.nextSequence = lane.nextSequence &+ Int32(builder.recordCount) }
        lane.builder = nil
        lane.openedAt = nil
        if !lane.sending {
            lane.sending = true
            Task { await self.drain(key) }
        }
    }

    func ensureLinger() {
        guard lingerTask == nil else { return }
        lingerTask = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: options.linger)
                sealLingering()
            }
        }
    }

    func sealLingering() {
        let now = ContinuousClock.now
        for key in lanes.keys {
            guard var lane = lanes[key], let opened = lane.openedAt, now - opened >= options.linger else { continue }
            seal(&lane, key)
            lanes[key] = lane
        }
    }

    /// Sends a partition's ready batches one at a time, in order.
    func drain(_ key: Key) async {
        while let next = lanes[key]?.ready.first {
            await deliver(next.batch, records: next.records, to: key)
            lanes[key]?.ready.removeFirst()
            let resumed = waiters
            waiters = []
            for w in resumed { w.resume() }
        }
        lanes[key]?.sending = false
    }

    func deliver(_ batch: [UInt8], records: Int, to key: Key) async {
        let deadline = ContinuousClock.now + options.deliveryTimeout
        var attempt = 0
        while true {
            do {
                let r = try await client.produce(topic: key.topic, partition: key.partition, batch: batch, acks: options.acks)
                switch r.error {
                case .none:
                    recordsAcknowledged += records
                    return
                case .notLeader, .notEnoughReplicas, .notEnoughReplicasAfterAppend, .requestTimedOut, .unknownLeaderEpoch, .fencedLeaderEpoch:
                    break // retriable: the same batch (same sequence) lands once
                default:
                    failures.append("\(key.topic)-\(key.partition): \(r.error)\(r.message.map { ": \($0)" } ?? "")")
                    return
                }
            } catch {
                if ContinuousClock.now >= deadline {
                    failures.append("\(key.topic)-\(key.partition): \(error)")
                    return
                }
            }
            if ContinuousClock.now >= deadline {
                failures.append("\(key.topic)-\(key.partition): not acknowledged within \(options.deliveryTimeout)")
                return
            }
            attempt += 1
            try? await Task.sleep(for: .milliseconds(min(1000, 50 * attempt)))
        }
    }

    /// Sends everything queued and waits for every answer; throws if any batch failed.
    public func flush() async throws {
        for key in lanes.keys {
            guard var lane = lanes[key] else { continue }
            seal(&lane, key)
            lanes[key] = lane
        }
        while lanes.values.contains(where: { !$0.ready.isEmpty || $0.sending }) {
            try await Task.sleep(for: .milliseconds(2))
        }
        if !failures.isEmpty {
            let first = failures
            failures = []
            throw LogClientError("\(first.count) batch(es) failed; first: \(first[0])")
        }
    }

    public func close() async throws {
        try await flush()
        lingerTask?.cancel()
        lingerTask = nil
    }
}
