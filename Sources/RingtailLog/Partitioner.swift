// Choosing a topic partition for a record, by Kafka's rules so that keys land
// where a Kafka producer would put them: murmur2 of the key bytes, made
// positive, modulo the partition count. Records without a key stick to one
// partition until their batch is sent (Kafka's sticky partitioner, KIP-480),
// which fills batches instead of spreading single records.
import RingtailCore

/// Kafka's murmur2 (seed 0x9747b28c), as `org.apache.kafka.common.utils.Utils.murmur2`.
public enum Murmur2 {
    public static func hash(_ data: [UInt8]) -> Int32 {
        let m: UInt32 = 0x5bd1_e995
        let r: UInt32 = 24
        let length = data.count
        var h: UInt32 = 0x9747_b28c ^ UInt32(truncatingIfNeeded: length)
        let blocks = length / 4
        data.withUnsafeBytes { raw in
            for i in 0..<blocks {
                var k = UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self))
                k &*= m
                k ^= k >> r
                k &*= m
                h &*= m
                h ^= k
            }
        }
        let tail = blocks * 4
        switch length % 4 {
        case 3:
            h ^= UInt32(data[tail + 2]) << 16
            h ^= UInt32(data[tail + 1]) << 8
            h ^= UInt32(data[tail])
            h &*= m
        case 2:
            h ^= UInt32(data[tail + 1]) << 8
            h ^= UInt32(data[tail])
            h &*= m
        case 1:
            h ^= UInt32(data[tail])
            h &*= m
        default:
            break
        }
        h ^= h >> 13
        h &*= m
        h ^= h >> 15
        return Int32(bitPattern: h)
    }

    /// Kafka's `toPositive(murmur2(key)) % partitions`.
    public static func partition(forKey key: [UInt8], partitions: Int) -> Int {
        precondition(partitions > 0)
        return Int(UInt32(bitPattern: hash(key)) & 0x7fff_ffff) % partitions
    }
}

/// Picks a partition for each record a producer sends.
///
/// Value type; deterministic given its entropy (tests and the simulator
/// seed it). Not thread-safe.
public struct Partitioner: Sendable {
    private var entropy: SeededEntropy
    /// The partition records without a key go to, per topic, until `batchSent`.
    private var sticky: [String: Int] = [:]

    public init(seed: UInt64) { entropy = SeededEntropy(seed: seed) }

    /// The partition for a record: `explicit` if given, the key's murmur2
    /// partition if it has a key, else the topic's sticky partition.
    public mutating func partition(topic: String, key: [UInt8]?, partitions: Int, explicit: Int? = nil) -> Int {
        precondition(partitions > 0)
        if let explicit { return explicit }
        if let key { return Murmur2.partition(forKey: key, partitions: partitions) }
        if let current = sticky[topic], current < partitions { return current }
        let chosen = Int(entropy.next() % UInt64(partitions))
        sticky[topic] = chosen
        return chosen
    }

    /// A batch for `partition` of `topic` was sent: keyless records move on
    /// to another partition (never the same one when there is a choice).
    public mutating func batchSent(topic: String, partition: Int, partitions: Int) {
        guard sticky[topic] == partition else { return }
        guard partitions > 1 else { return }
        let step = 1 + Int(entropy.next() % UInt64(partitions - 1))
        sticky[topic] = (partition + step) % partitions
    }
}
