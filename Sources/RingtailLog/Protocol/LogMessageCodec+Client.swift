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
        case .findCoordinator(let group):
            w.writeUInt8(8)
            w.writeLengthPrefixed(utf8: group)
        case .joinGroup(let group, let member, let topics, let session, let assignor):
            w.writeUInt8(9)
            w.writeLengthPrefixed(utf8: group)
            w.writeLengthPrefixed(utf8: member)
            writeNames(topics, &w)
            w.writeVarint(UInt64(max(0, session.nanosecondsClamped / 1_000_000)))
            w.writeLengthPrefixed(utf8: assignor)
        case .syncGroup(let group, let member, let generation):
            w.writeUInt8(10)
            w.writeLengthPrefixed(utf8: group)
            w.writeLengthPrefixed(utf8: member)
            w.writeSignedVarint(Int64(generation))
        case .heartbeat(let group, let member, let generation):
            w.writeUInt8(11)
            w.writeLengthPrefixed(utf8: group)
            w.writeLengthPrefixed(utf8: member)
            w.writeSignedVarint(Int64(generation))
        case .leaveGroup(let group, let member):
            w.writeUInt8(12)
            w.writeLengthPrefixed(utf8: group)
            w.writeLengthPrefixed(utf8: member)
        case .commitOffsets(let group, let member, let generation, let offsets):
            w.writeUInt8(13)
            w.writeLengthPrefixed(utf8: group)
            w.writeLengthPrefixed(utf8: member)
            w.writeSignedVarint(Int64(generation))
            writeOffsets(offsets, &w)
        case .fetchOffsets(let group):
            w.writeUInt8(14)
            w.writeLengthPrefixed(utf8: group)
        case .describeGroup(let group):
            w.writeUInt8(15)
            w.writeLengthPrefixed(utf8: group)
        }
        return w.bytes
    }

    static func writeOffsets(_ offsets: [TopicPartitionID: Int64], _ w: inout ByteWriter) {
        w.writeVarint(offsets.count)
        for (tp, offset) in offsets.sorted(by: { $0.key < $1.key }) {
            writePartitionID(tp, &w)
            w.writeSignedVarint(offset)
        }
    }

    static func readOffsets(_ r: inout ByteReader) throws -> [TopicPartitionID: Int64] {
        var out: [TopicPartitionID: Int64] = [:]
        for _ in 0..<(try r.readLength(limit: 1 << 20)) { out[try readPartitionID(&r)] = try r.readSignedVarint() }
        return out
    }

    static func writePartitionID(_ tp: TopicPartitionID, _ w: inout ByteWriter) {
        w.writeLengthPrefixed(utf8: tp.topic)
        w.writeVarint(tp.partition)
    }

    static func readPartitionID(_ r: inout ByteReader) throws -> TopicPartitionID {
        TopicPartitionID(topic: try r.readString(limit: namesMax), partition: try r.readLength(limit: 1 << 20))
    }

    static func writePartitionIDs(_ tps: [TopicPartitionID], _ w: inout ByteWriter) {
        w.writeVarint(tps.count)
        for tp in tps { writePartitionID(tp, &w) }
    }

    static func readPartitionIDs(_ r: inout ByteReader) throws -> [TopicPartitionID] {
        var out: [TopicPartitionID] = []
        for _ in 0..<(try r.readLength(limit: 1 << 20)) { out.append(try readPartitionID(&r)) }
        return out
    }

    static func readGroupError(_ r: inout ByteReader) throws -> GroupErrorCode {
        let at = r.offset
        guard let code = GroupErrorCode(rawValue: try r.readUInt8()) else {
            throw DecodeError.unknownTag(offset: at, tag: r.bytes[at], what: "group error")
        }
        return code
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
        case 8: request = .findCoordinator(group: try r.readString(limit: namesMax))
        case 9:
            let group = try r.readString(limit: namesMax)
            let member = try r.readString(limit: namesMax)
            let topics = try readNames(&r)
            let session = try r.readLength(limit: 3_600_000)
            request = .joinGroup(group: group, memberID: member, topics: topics, sessionTimeout: .milliseconds(session),
                                 assignor: try r.readString(limit: namesMax))
        case 10:
            let group = try r.readString(limit: namesMax)
            let member = try r.readString(limit: namesMax)
            request = .syncGroup(group: group, memberID: member, generation: Int32(clamping: try r.readSignedVarint()))
        case 11:
            let group = try r.readString(limit: namesMax)
            let member = try r.readString(limit: namesMax)
            request = .heartbeat(group: group, memberID: member, generation: Int32(clamping: try r.readSignedVarint()))
        case 12:
            let group = try r.readString(limit: namesMax)
            request = .leaveGroup(group: group, memberID: try r.readString(limit: namesMax))
        case 13:
            let group = try r.readString(limit: namesMax)
            let member = try r.readString(limit: namesMax)
            let generation = Int32(clamping: try r.readSignedVarint())
            request = .commitOffsets(group: group, memberID: member, generation: generation, offsets: try readOffsets(&r))
        case 14: request = .fetchOffsets(group: try r.readString(limit: namesMax))
        case 15: request = .describeGroup(group: try r.readString(limit: namesMax))
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
        case .coordinator(let node, let address):
            w.writeUInt8(8)
            w.writeLengthPrefixed(utf8: node)
            w.writeLengthPrefixed(utf8: address)
        case .joined(let j):
            w.writeUInt8(9)
            w.writeUInt8(j.error.rawValue)
            w.writeLengthPrefixed(utf8: j.memberID)
            w.writeSignedVarint(Int64(j.generation))
            writePartitionIDs(j.assignment, &w)
        case .synced(let code, let assignment):
            w.writeUInt8(10)
            w.writeUInt8(code.rawValue)
            writePartitionIDs(assignment, &w)
        case .group(let code):
            w.writeUInt8(11)
            w.writeUInt8(code.rawValue)
        case .offsets(let offsets):
            w.writeUInt8(12)
            writeOffsets(offsets, &w)
        case .groupDescription(let d):
            w.writeUInt8(13)
            w.writeLengthPrefixed(utf8: d.group)
            w.writeLengthPrefixed(utf8: d.state)
            w.writeSignedVarint(Int64(d.generation))
            w.writeLengthPrefixed(utf8: d.assignor)
            w.writeVarint(d.members.count)
            for m in d.members {
                w.writeLengthPrefixed(utf8: m.memberID)
                writeNames(m.topics, &w)
                writePartitionIDs(m.assignment, &w)
            }
            writeOffsets(d.committed, &w)
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
        case 8:
            let node = try r.readString(limit: namesMax)
            reply = .coordinator(node: node, clientAddress: try r.readString(limit: namesMax))
        case 9:
            let error = try readGroupError(&r)
            let member = try r.readString(limit: namesMax)
            let generation = Int32(clamping: try r.readSignedVarint())
            reply = .joined(JoinResult(error: error, memberID: member, generation: generation, assignment: try readPartitionIDs(&r)))
        case 10:
            let error = try readGroupError(&r)
            reply = .synced(error, try readPartitionIDs(&r))
        case 11: reply = .group(try readGroupError(&r))
        case 12: reply = .offsets(try readOffsets(&r))
        case 13:
            let group = try r.readString(limit: namesMax)
            let state = try r.readString(limit: namesMax)
            let generation = Int32(clamping: try r.readSignedVarint())
            let assignor = try r.readString(limit: namesMax)
            var members: [GroupDescription.Member] = []
            for _ in 0..<(try r.readLength(limit: 1 << 16)) {
                let id = try r.readString(limit: namesMax)
                let topics = try readNames(&r)
                members.append(GroupDescription.Member(memberID: id, topics: topics, assignment: try readPartitionIDs(&r)))
            }
            reply = .groupDescription(GroupDescription(group: group, state: state, generation: generation, assignor: assignor,
                                                       members: members, committed: try readOffsets(&r)))
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
