// Consumer groups on the node: each group is coordinated by the leader of
// its partition of the internal topic `__consumer_offsets` (murmur2 of the
// group name), as in Kafka. Committed offsets are records in that partition,
// written with acks=all, so they are replicated and survive the
// coordinator's death: the next leader reads them back from its log.
// docs/internals/consumer-groups.md.
import RingtailCore
import RingtailLog

extension LogService {
    public static let offsetsTopic = "__consumer_offsets"
    static let offsetsPartitions = 8

    func offsetsPartition(for group: String) -> Int {
        Murmur2.partition(forKey: Array(group.utf8), partitions: image.topics[Self.offsetsTopic]?.partitions.count ?? Self.offsetsPartitions)
    }

    func groupRequest(request: UInt64, _ operation: LogClientRequest, _ out: inout [LogEffect]) {
        let now = clock.now()
        switch operation {
        case .findCoordinator(let group):
            guard let topic = image.topics[Self.offsetsTopic] else {
                if offsetsTopicRequestedAt.map({ now - $0 > .seconds(5) }) ?? true {
                    offsetsTopicRequestedAt = now
                    let rf = min(3, max(1, image.liveBrokers.count))
                    propose(.createTopic(name: Self.offsetsTopic, config: TopicConfig(
                        partitions: Self.offsetsPartitions, replicationFactor: rf, minInsyncReplicas: min(2, rf),
                        retentionAge: .seconds(7 * 24 * 3600), segmentBytes: 64 << 20)), origin: .local, &out)
                }
                out.append(.reply(request: request, .failed("the group coordinator is not available yet (creating \(Self.offsetsTopic)); retry")))
                return
            }
            guard let leader = topic.partitions[offsetsPartition(for: group)].leader else {
                out.append(.reply(request: request, .failed("the group coordinator is not available (its partition has no leader); retry")))
                return
            }
            out.append(.reply(request: request, .coordinator(node: leader.name, clientAddress: clientAddress(leader))))
        case .joinGroup(let group, let member, let topics, let session, let assignorName):
            guard let assignor = Assignor(rawValue: assignorName) else {
                out.append(.reply(request: request, .joined(JoinResult(error: .inconsistentAssignor, memberID: member, generation: -1, assignment: []))))
                return
            }
            guard withGroup(group, request: request, &out, { g in
                let effects = g.join(request: request, memberID: member.isEmpty ? nil : member, topics: Set(topics),
                                     sessionTimeout: session, assignor: assignor, now: now, partitions: partitionCounts())
                return effects
            }) else {
                out.append(.reply(request: request, .joined(JoinResult(error: .notCoordinator, memberID: member, generation: -1, assignment: []))))
                return
            }
        case .syncGroup(let group, let member, let generation):
            guard let g = coordinator(for: group) else { return out.append(.reply(request: request, .synced(.notCoordinator, []))) }
            let (code, assignment) = g.sync(memberID: member, generation: generation)
            out.append(.reply(request: request, .synced(code, assignment)))
        case .heartbeat(let group, let member, let generation):
            guard coordinator(for: group) != nil else { return out.append(.reply(request: request, .group(.notCoordinator))) }
            let code = groups[group]!.heartbeat(memberID: member, generation: generation, now: now)
            out.append(.reply(request: request, .group(code)))
        case .leaveGroup(let group, let member):
            guard withGroup(group, request: request, &out, { g in g.leave(memberID: member, now: now, partitions: partitionCounts()) }) else {
                return out.append(.reply(request: request, .group(.notCoordinator)))
            }
            out.append(.reply(request: request, .group(.none)))
        case .commitOffsets(let group, let member, let generation, let offsets):
            commit(request: request, group: group, member: member, generation: generation, offsets: offsets, now: now, &out)
        case .fetchOffsets(let group):
            guard let g = coordinator(for: group) else { return out.append(.reply(request: request, .error(.notLeader, "not the coordinator of \(group)"))) }
            out.append(.reply(request: request, .offsets(g.committed)))
        case .describeGroup(let group):
            guard let g = coordinator(for: group) else { return out.append(.reply(request: request, .error(.notLeader, "not the coordinator of \(group)"))) }
            let members = g.memberIDs.map {
                GroupDescription.Member(memberID: $0, topics: g.subscription(of: $0).sorted(), assignment: g.assignment(of: $0))
            }
            out.append(.reply(request: request, .groupDescription(GroupDescription(
                group: group, state: g.state.rawValue, generation: g.generation, assignor: g.assignor?.rawValue ?? "",
                members: members, committed: g.committed))))
        default:
            break
        }
    }

    /// Runs `body` on the group's coordinator state and replies with its
    /// join answers; false if this node does not coordinate the group.
    func withGroup(_ group: String, request: UInt64, _ out: inout [LogEffect],
                   _ body: (inout GroupCoordinator) -> [GroupEffect]) -> Bool {
        guard coordinator(for: group) != nil else { return false }
        let effects = body(&groups[group]!)
        performGroup(effects, &out)
        return true
    }

    func performGroup(_ effects: [GroupEffect], _ out: inout [LogEffect]) {
        for case .joined(let request, let result) in effects { out.append(.reply(request: request, .joined(result))) }
    }

    /// Partition counts of every topic, for assignments.
    func partitionCounts() -> [String: Int] { image.topics.mapValues(\.partitions.count) }

    /// The group's state if this node leads its offsets partition, loading
    /// the committed offsets from that partition's log when it just became leader.
    func coordinator(for group: String) -> GroupCoordinator? {
        guard image.topics[Self.offsetsTopic] != nil else { return nil }
        let partition = offsetsPartition(for: group)
        let key = TopicPartitionID(topic: Self.offsetsTopic, partition: partition)
        guard let replica = replicas[key], case .leader(let epoch) = replica.role else { return nil }
        if loadedOffsets[partition] != epoch {
            loadOffsets(partition: partition, replica: replica)
            loadedOffsets[partition] = epoch
        }
        if groups[group] == nil { groups[group] = GroupCoordinator(groupID: group) }
        return groups[group]
    }

    /// Rebuilds every group's committed offsets from an offsets partition.
    func loadOffsets(partition: Int, replica: PartitionReplica) {
        for name in groups.keys where offsetsPartition(for: name) == partition { groups[name] = nil }
        var offset = replica.log.logStartOffset
        var reads = 0
        while offset < replica.log.logEndOffset && reads < 1_000_000 {
            reads += 1
            guard let result = try? replica.log.read(from: offset, maxBytes: 1 << 20),
                  let records = try? RecordBatchCodec.records(in: result.bytes), !result.bytes.isEmpty else { break }
            for record in records where record.offset >= offset {
                guard let (group, tp) = Self.decodeOffsetKey(record.key), let value = record.value, value.count == 8 else { continue }
                let committed = value.withUnsafeBytes { Int64(bigEndian: $0.loadUnaligned(as: Int64.self)) }
                if groups[group] == nil { groups[group] = GroupCoordinator(groupID: group) }
                groups[group]!.recordCommitted([tp: committed])
            }
            offset = result.nextOffset
        }
    }

    static func encodeOffsetKey(_ group: String, _ tp: TopicPartitionID) -> [UInt8] {
        Array("\(group)\u{0}\(tp.topic)\u{0}\(tp.partition)".utf8)
    }

    static func decodeOffsetKey(_ key: [UInt8]?) -> (String, TopicPartitionID)? {
        guard let key else { return nil }
        let parts = key.split(separator: 0, omittingEmptySubsequences: false)
        guard parts.count == 3, let p = Int(String(decoding: parts[2], as: UTF8.self)) else { return nil }
        return (String(decoding: parts[0], as: UTF8.self), TopicPartitionID(topic: String(decoding: parts[1], as: UTF8.self), partition: p))
    }

    func commit(request: UInt64, group: String, member: String, generation: Int32, offsets: [TopicPartitionID: Int64],
                now: Instant, _ out: inout [LogEffect]) {
        guard let g = coordinator(for: group) else { return out.append(.reply(request: request, .group(.notCoordinator))) }
        let code = g.checkCommit(memberID: member, generation: generation, partitions: Array(offsets.keys))
        guard code == .none else { return out.append(.reply(request: request, .group(code))) }
        guard !offsets.isEmpty else { return out.append(.reply(request: request, .group(.none))) }
        var builder = RecordBatchBuilder()
        let millis = clock.wallMicros() / 1000
        for (tp, offset) in offsets.sorted(by: { $0.key < $1.key }) {
            var value: [UInt8] = []
            value.appendBigEndianInt64(offset)
            builder.append(timestamp: millis, key: Self.encodeOffsetKey(group, tp), value: value)
        }
        let key = TopicPartitionID(topic: Self.offsetsTopic, partition: offsetsPartition(for: group))
        guard let replica = replicas[key] else { return out.append(.reply(request: request, .group(.notCoordinator))) }
        let ours = newID()
        origins[ours] = .groupCommit(request, group, offsets)
        perform(replica.handle(.produce(id: ours, batch: builder.build(), acks: .all, timeout: .seconds(5)), now: now), for: key, &out)
    }
}

extension Array where Element == UInt8 {
    mutating func appendBigEndianInt64(_ v: Int64) {
        Swift.withUnsafeBytes(of: v.bigEndian) { append(contentsOf: $0) }
    }
}
