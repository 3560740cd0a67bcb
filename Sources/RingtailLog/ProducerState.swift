// Idempotent producers: per producer id, the epoch and the last few batches
// a partition log accepted, so that a retried batch is recognised and
// answered with its original offsets instead of being written twice, a gap in
// sequence numbers is refused, and a producer fenced by a newer epoch cannot
// write. Rebuilt from batch headers when a log opens (docs/internals/log-replication.md).

/// What the log should do with a batch, per the producer state.
public enum ProducerCheck: Equatable, Sendable {
    /// New data: append it.
    case append
    /// A retry of a batch already in the log, at these offsets.
    case duplicate(firstOffset: Int64, lastOffset: Int64)
}

/// The idempotence state of one partition log.
///
/// Value type, not thread-safe. Bounded: `batchesPerProducer` batches per
/// producer id (Kafka keeps 5, the most a producer may have in flight).
public struct ProducerStateTable: Equatable, Sendable {
    public static let batchesPerProducer = 5

    struct BatchMetadata: Equatable, Sendable {
        var firstSequence: Int32
        var lastSequence: Int32
        var firstOffset: Int64
        var lastOffset: Int64
    }

    struct Entry: Equatable, Sendable {
        var epoch: Int16
        var batches: [BatchMetadata]
    }

    private(set) var producers: [Int64: Entry] = [:]

    public init() {}

    /// Whether any remembered batch ends at or past `offset`: only then can
    /// cutting the log there change this table.
    func remembersBatches(from offset: Int64) -> Bool {
        producers.values.contains { $0.batches.contains { $0.lastOffset >= offset } }
    }

    /// Decides what to do with a batch from the network. Throws
    /// `.invalidProducerEpoch` for a fenced producer and
    /// `.outOfOrderSequence` for a sequence gap.
    public func check(_ header: RecordBatchHeader) throws(LogError) -> ProducerCheck {
        guard header.hasProducerId else { return .append }
        guard header.baseSequence >= 0 else {
            throw LogError.invalid("producer \(header.producerId) sent base sequence \(header.baseSequence)")
        }
        // A producer the log does not know (new, or its batches aged out by
        // retention) may start at any sequence, as in Kafka since KIP-360.
        guard let entry = producers[header.producerId] else { return .append }
        if header.producerEpoch < entry.epoch {
            throw LogError(code: .invalidProducerEpoch,
                           message: "producer \(header.producerId) epoch \(header.producerEpoch) is older than \(entry.epoch): a newer instance fenced it")
        }
        if header.producerEpoch > entry.epoch {
            guard header.baseSequence == 0 else {
                throw LogError(code: .outOfOrderSequence,
                               message: "producer \(header.producerId) began epoch \(header.producerEpoch) at sequence \(header.baseSequence), not 0")
            }
            return .append
        }
        if let seen = entry.batches.first(where: { $0.firstSequence == header.baseSequence && $0.lastSequence == header.lastSequence }) {
            return .duplicate(firstOffset: seen.firstOffset, lastOffset: seen.lastOffset)
        }
        let last = entry.batches.last?.lastSequence ?? -1
        let expected = last == Int32.max ? 0 : last + 1
        guard header.baseSequence == expected else {
            throw LogError(code: .outOfOrderSequence,
                           message: "producer \(header.producerId) sent sequence \(header.baseSequence); the log expected \(expected)")
        }
        return .append
    }

    /// Records a batch the log now holds (with its assigned offsets).
    public mutating func record(_ header: RecordBatchHeader) {
        guard header.hasProducerId, header.baseSequence >= 0 else { return }
        var entry = producers[header.producerId] ?? Entry(epoch: header.producerEpoch, batches: [])
        if header.producerEpoch != entry.epoch {
            entry = Entry(epoch: header.producerEpoch, batches: [])
        }
        entry.batches.append(BatchMetadata(firstSequence: header.baseSequence, lastSequence: header.lastSequence,
                                           firstOffset: header.baseOffset, lastOffset: header.lastOffset))
        if entry.batches.count > Self.batchesPerProducer { entry.batches.removeFirst(entry.batches.count - Self.batchesPerProducer) }
        producers[header.producerId] = entry
    }
}
