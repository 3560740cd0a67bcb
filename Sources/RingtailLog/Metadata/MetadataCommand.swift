// The commands of the metadata Raft log: every change to brokers, topics and
// partition leadership is one of these, committed by the metadata group and
// applied in the same order by every node (MetadataImage.apply). Encoded
// little-endian with a version byte; docs/internals/log-replication.md.
import RingtailCore

/// A topic's settings, fixed at creation.
public struct TopicConfig: Equatable, Hashable, Sendable {
    public var partitions: Int
    public var replicationFactor: Int
    /// Replicas that must be in sync for an `acks=all` produce (`min.insync.replicas`).
    public var minInsyncReplicas: Int
    /// `retention.ms`; nil keeps records forever.
    public var retentionAge: Duration?
    /// `retention.bytes` per partition; nil has no size bound.
    public var retentionBytes: Int?
    /// `segment.bytes`.
    public var segmentBytes: Int
    /// Sync the partition log before acknowledging every batch.
    public var flushEveryBatch: Bool

    public init(partitions: Int, replicationFactor: Int, minInsyncReplicas: Int? = nil,
                retentionAge: Duration? = .seconds(7 * 24 * 3600), retentionBytes: Int? = nil,
                segmentBytes: Int = 1 << 30, flushEveryBatch: Bool = false) {
        self.partitions = partitions
        self.replicationFactor = replicationFactor
        self.minInsyncReplicas = minInsyncReplicas ?? min(2, replicationFactor)
        self.retentionAge = retentionAge
        self.retentionBytes = retentionBytes
        self.segmentBytes = segmentBytes
        self.flushEveryBatch = flushEveryBatch
    }

    /// A reason the settings cannot make a topic, or nil.
    public var problem: String? {
        if partitions < 1 || partitions > 10_000 { return "partitions must be between 1 and 10000, not \(partitions)" }
        if replicationFactor < 1 || replicationFactor > 16 { return "replication factor must be between 1 and 16, not \(replicationFactor)" }
        if minInsyncReplicas < 1 || minInsyncReplicas > replicationFactor {
            return "min in-sync replicas must be between 1 and the replication factor \(replicationFactor), not \(minInsyncReplicas)"
        }
        if let r = retentionAge, r <= .zero { return "retention must be positive" }
        if let b = retentionBytes, b < 0 { return "retention bytes must not be negative" }
        if segmentBytes < 1024 || segmentBytes > Int(Int32.max) { return "segment bytes must be between 1024 and \(Int32.max)" }
        return nil
    }
}

/// One change to the cluster's log metadata.
public enum MetadataCommand: Equatable, Sendable {
    /// A node's session with the controller began (or it restarted, with a
    /// new incarnation): it is unfenced and may lead partitions.
    case registerBroker(node: NodeID, incarnation: UInt64, location: NodeLocation)
    /// A node's session expired: it is fenced; partitions it led move to
    /// another in-sync replica.
    case fenceBroker(node: NodeID, incarnation: UInt64)
    case createTopic(name: String, config: TopicConfig)
    case deleteTopic(name: String)
    /// A partition leader asks to change the in-sync set; applied only if the
    /// leader and both epochs still match.
    case alterPartition(topic: String, partition: Int, leader: NodeID, leaderEpoch: Int32, partitionEpoch: Int32, isr: [NodeID])
    /// Reserves a block of idempotent producer ids for a node.
    case allocateProducerIds(node: NodeID)
}

public enum MetadataCommandCodec {
    /// DO NOT CHANGE: embedded in the metadata Raft log.
    static let version: UInt8 = 1

    public static func encode(_ command: MetadataCommand) -> [UInt8] {
        var w = ByteWriter(capacity: 64)
        w.writeUInt8(version)
        switch command {
        case .registerBroker(let node, let incarnation, let location):
            w.writeUInt8(1)
            w.writeLengthPrefixed(utf8: node.name)
            w.writeUInt64(incarnation)
            w.writeLengthPrefixed(utf8: location.datacenter)
            w.writeLengthPrefixed(utf8: location.rack)
        case .fenceBroker(let node, let incarnation):
            w.writeUInt8(2)
            w.writeLengthPrefixed(utf8: node.name)
            w.writeUInt64(incarnation)
        case .createTopic(let name, let c):
            w.writeUInt8(3)
            w.writeLengthPrefixed(utf8: name)
            w.writeVarint(c.partitions)
            w.writeVarint(c.replicationFactor)
            w.writeVarint(c.minInsyncReplicas)
            w.writeSignedVarint(c.retentionAge.map { $0.nanosecondsClamped / 1_000_000 } ?? -1)
            w.writeSignedVarint(c.retentionBytes.map(Int64.init) ?? -1)
            w.writeVarint(c.segmentBytes)
            w.writeUInt8(c.flushEveryBatch ? 1 : 0)
        case .deleteTopic(let name):
            w.writeUInt8(4)
            w.writeLengthPrefixed(utf8: name)
        case .alterPartition(let topic, let partition, let leader, let leaderEpoch, let partitionEpoch, let isr):
            w.writeUInt8(5)
            w.writeLengthPrefixed(utf8: topic)
            w.writeVarint(partition)
            w.writeLengthPrefixed(utf8: leader.name)
            w.writeSignedVarint(Int64(leaderEpoch))
            w.writeSignedVarint(Int64(partitionEpoch))
            w.writeVarint(isr.count)
            for node in isr { w.writeLengthPrefixed(utf8: node.name) }
        case .allocateProducerIds(let node):
            w.writeUInt8(6)
            w.writeLengthPrefixed(utf8: node.name)
        }
        return w.bytes
    }

    public static func decode(_ bytes: [UInt8]) throws -> MetadataCommand {
        var r = ByteReader(bytes)
        let v = try r.readUInt8()
        guard v == version else { throw DecodeError.unknownTag(offset: 0, tag: v, what: "metadata command version") }
        let tag = try r.readUInt8()
        func name() throws -> String { try r.readString(limit: 255) }
        func node() throws -> NodeID { NodeID(try name()) }
        let command: MetadataCommand
        switch tag {
        case 1:
            command = .registerBroker(node: try node(), incarnation: try r.readUInt64(),
                                      location: NodeLocation(datacenter: try name(), rack: try name()))
        case 2:
            command = .fenceBroker(node: try node(), incarnation: try r.readUInt64())
        case 3:
            let topic = try name()
            let partitions = try r.readLength(limit: 10_000)
            let rf = try r.readLength(limit: 16)
            let minIsr = try r.readLength(limit: 16)
            let retention = try r.readSignedVarint()
            let retentionBytes = try r.readSignedVarint()
            let segmentBytes = try r.readLength(limit: Int(Int32.max))
            let flush = try r.readUInt8() == 1
            command = .createTopic(name: topic, config: TopicConfig(
                partitions: partitions, replicationFactor: rf, minInsyncReplicas: minIsr,
                retentionAge: retention < 0 ? nil : .milliseconds(retention), retentionBytes: retentionBytes < 0 ? nil : Int(retentionBytes),
                segmentBytes: segmentBytes, flushEveryBatch: flush))
        case 4:
            command = .deleteTopic(name: try name())
        case 5:
            let topic = try name()
            let partition = try r.readLength(limit: 10_000)
            let leader = try node()
            let leaderEpoch = Int32(clamping: try r.readSignedVarint())
            let partitionEpoch = Int32(clamping: try r.readSignedVarint())
            let count = try r.readLength(limit: 16)
            var isr: [NodeID] = []
            for _ in 0..<count { isr.append(try node()) }
            command = .alterPartition(topic: topic, partition: partition, leader: leader, leaderEpoch: leaderEpoch,
                                      partitionEpoch: partitionEpoch, isr: isr)
        case 6:
            command = .allocateProducerIds(node: try node())
        default:
            throw DecodeError.unknownTag(offset: 1, tag: tag, what: "metadata command")
        }
        guard r.isAtEnd else { throw DecodeError.invalid(offset: r.offset, reason: "bytes after the command") }
        return command
    }
}
