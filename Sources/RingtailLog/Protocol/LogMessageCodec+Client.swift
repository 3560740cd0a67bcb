// Encoding of client append-log requests and replies (same conventions as
// the peer messages: a version byte, a tag, checked lengths).
import RingtailCore

extension LogMessageCodec {
    public static func encode(_ request: LogClientRequest) -> [UInt8] {
        var w = ByteWriter(capacity: 64)
        w.writeUInt8(version)
        switch request {
        case .createTopic(let name, let config):
            w.writeUInt8(1)
            w.writeLengthPrefixed(MetadataCommandCodec.encode(.createTopic(name: name, config: config)))
        case .deleteTopic(let name):
            w.writeUInt8(2)
            w.writeLengthPrefixed(utf8: name)
        case .describeCluster:
            w.writeUInt8(3)
        case .produce(let topic, let partition, let acks, let timeout, let batch):
            w.writeUInt8(4)
            w.writeLengthPrefixed(utf8: topic)
            w.writeVarint(partition)
            w.writeUInt8(UInt8(bitPattern: acks.rawValue))
            w.writeVarint(UInt64(max(0, timeout.nanosecondsClamped / 1_000_000)))
            w.writeLengthPrefixed(batch)
        case .fetch(let request):
            w.writeUInt8(5)
            encodeFetch(request, &w)
        case .listOffsets(let topic, let partition, let spec):
            w.writeUInt8(6)
            w.writeLengthPrefixed(utf8: topic)
            w.writeVarint(partition)
            switch spec {
            case .earliest: w.writeUInt8(0)
            case .latest: w.writeUInt8(1)
            case .timestamp(let t):
                w.writeUInt8(2)
                w.writeInt64(t)
            }
        case .initProducer:
            w.writeUInt8(7)
        }
        return w.bytes
    }

    public static func decodeClientRequest(_ bytes: [UInt8]) throws -> LogClientRequest {
        var r = ByteReader(bytes)
        try checkVersion(&r)
        let at = r.offset
        let request: LogClientRequest
        switch try r.readUInt8() {
        case 1:
            guard case .createTopic(let name, let config) = try MetadataCommandCodec.decode(try r.readLengthPrefixed(limit: r.remaining)) else {
                throw DecodeError.invalid(offset: at, reason: "create topic carries another command")
            }
            request = .createTopic(name: name, config: config)
        case 2: request = .deleteTopic(name: try r.readString(limit: namesMax))
        case 3: request = .describeCluster
        case 4:
            let topic = try r.readString(limit: namesMax)
            let partition = try r.readLength(limit: 1 << 20)
            let acksAt = r.offset
            guard let acks = Acks(rawValue: Int8(bitPattern: try r.readUInt8())) else {
                throw DecodeError.unknownTag(offset: acksAt, tag: r.bytes[acksAt], what: "acks")
            }
            let timeout = try r.readLength(limit: 3_600_000)
            request = .produce(topic: topic, partition: partition, acks: acks, timeout: .milliseconds(timeout),
                               batch: try r.readLengthPrefixed(limit: r.remaining))
        case 5: request = .fetch(try decodeFetch(&r))
        case 6:
            let topic = try r.readString(limit: namesMax)
            let partition = try r.readLength(limit: 1 << 20)
            let specAt = r.offset
            let spec: OffsetSpec
            switch try r.readUInt8() {
            case 0: spec = .earliest
            case 1: spec = .latest
            case 2: spec = .timestamp(try r.readInt64())
            case let tag: throw DecodeError.unknownTag(offset: specAt, tag: tag, what: "offset spec")
            }
            request = .listOffsets(topic: topic, partition: partition, spec)
        case 7: request = .initProducer
        case let tag: throw DecodeError.unknownTag(offset: at, tag: tag, what: "log client request")
        }
        guard r.isAtEnd else { throw DecodeError.invalid(offset: r.offset, reason: "bytes after the request") }
        return request
    }

    public static func encode(_ reply: LogClientReply) -> [UInt8] {
        var w = ByteWriter(capacity: 64)
        w.writeUInt8(version)
        switch reply {
        case .ok: w.writeUInt8(0)
        case .error(let code, let message):
            w.writeUInt8(1)
            w.writeUInt8(code.rawValue)
            w.writeLengthPrefixed(utf8: message)
        case .failed(let message):
            w.writeUInt8(2)
            w.writeLengthPrefixed(utf8: message)
        case .cluster(let c):
            w.writeUInt8(3)
            w.writeLengthPrefixed(utf8: c.controller ?? "")
            w.writeVarint(c.brokers.count)
            for b in c.brokers {
                w.writeLengthPrefixed(utf8: b.node)
                w.writeLengthPrefixed(utf8: b.clientAddress)
                w.writeUInt8(b.fenced ? 1 : 0)
            }
            w.writeVarint(c.topics.count)
            for t in c.topics {
                w.writeLengthPrefixed(MetadataCommandCodec.encode(.createTopic(name: t.name, config: t.config)))
                w.writeVarint(t.partitions.count)
                for p in t.partitions {
                    w.writeVarint(p.partition)
                    w.writeLengthPrefixed(utf8: p.leader ?? "")
                    w.writeSignedVarint(Int64(p.leaderEpoch))
                    writeNames(p.replicas, &w)
                    writeNames(p.isr, &w)
                }
            }
        case .produced(let p):
            w.writeUInt8(4)
            w.writeUInt8(p.error.rawValue)
            w.writeSignedVarint(p.baseOffset)
            w.writeSignedVarint(p.logStartOffset)
            w.writeLengthPrefixed(utf8: p.message ?? "")
        case .fetched(let f):
            w.writeUInt8(5)
            encodeFetchResponse(f, &w)
        case .offset(let o):
            w.writeUInt8(6)
            w.writeSignedVarint(o)
        case .producerId(let id):
            w.writeUInt8(7)
            w.writeSignedVarint(id)
        }
        return w.bytes
    }

    public static func decodeClientReply(_ bytes: [UInt8]) throws -> LogClientReply {
        var r = ByteReader(bytes)
        try checkVersion(&r)
        let at = r.offset
        let reply: LogClientReply
        func code() throws -> PartitionErrorCode {
            let at = r.offset
            guard let c = PartitionErrorCode(rawValue: try r.readUInt8()) else {
                throw DecodeError.unknownTag(offset: at, tag: r.bytes[at], what: "partition error")
            }
            return c
        }
        switch try r.readUInt8() {
        case 0: reply = .ok
        case 1:
            let c = try code()
            reply = .error(c, try r.readString(limit: 1 << 16))
        case 2: reply = .failed(try r.readString(limit: 1 << 16))
        case 3:
            let controller = try r.readString(limit: namesMax)
            var brokers: [BrokerDescription] = []
            for _ in 0..<(try r.readLength(limit: 1 << 16)) {
                brokers.append(BrokerDescription(node: try r.readString(limit: namesMax), clientAddress: try r.readString(limit: namesMax),
                                                 fenced: try flag(&r)))
            }
            var topics: [TopicDescription] = []
            for _ in 0..<(try r.readLength(limit: 1 << 20)) {
                guard case .createTopic(let name, let config) = try MetadataCommandCodec.decode(try r.readLengthPrefixed(limit: r.remaining)) else {
                    throw DecodeError.invalid(offset: r.offset, reason: "topic description carries another command")
                }
                var partitions: [PartitionDescription] = []
                for _ in 0..<(try r.readLength(limit: 1 << 20)) {
                    let index = try r.readLength(limit: 1 << 20)
                    let leader = try r.readString(limit: namesMax)
                    let epoch = Int32(clamping: try r.readSignedVarint())
                    partitions.append(PartitionDescription(partition: index, leader: leader.isEmpty ? nil : leader, leaderEpoch: epoch,
                                                           replicas: try readNames(&r), isr: try readNames(&r)))
                }
                topics.append(TopicDescription(name: name, config: config, partitions: partitions))
            }
            reply = .cluster(ClusterDescription(controller: controller.isEmpty ? nil : controller, brokers: brokers, topics: topics))
        case 4:
            let c = try code()
            let base = try r.readSignedVarint()
            let start = try r.readSignedVarint()
            let message = try r.readString(limit: 1 << 16)
            reply = .produced(ProduceResponse(error: c, baseOffset: base, logStartOffset: start, message: message.isEmpty ? nil : message))
        case 5: reply = .fetched(try decodeFetchResponse(&r))
        case 6: reply = .offset(try r.readSignedVarint())
        case 7: reply = .producerId(try r.readSignedVarint())
        case let tag: throw DecodeError.unknownTag(offset: at, tag: tag, what: "log client reply")
        }
        guard r.isAtEnd else { throw DecodeError.invalid(offset: r.offset, reason: "bytes after the reply") }
        return reply
    }

    static func writeNames(_ names: [String], _ w: inout ByteWriter) {
        w.writeVarint(names.count)
        for n in names { w.writeLengthPrefixed(utf8: n) }
    }

    static func readNames(_ r: inout ByteReader) throws -> [String] {
        var out: [String] = []
        for _ in 0..<(try r.readLength(limit: 64)) { out.append(try r.readString(limit: namesMax)) }
        return out
    }
}
