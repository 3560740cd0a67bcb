// The append log's messages round-trip through their codec, and garbage is
// refused with an error rather than a trap.
import RingtailCore
import RingtailRaft
import Testing
@testable import RingtailLog

@Suite struct LogMessageCodecTests {
    static let fetch = FetchRequest(topic: "sensors", partition: 3, replica: "n2", fetchOffset: 1234, lastFetchedEpoch: 4,
                                    currentLeaderEpoch: 5, maxBytes: 65536, maxWait: .milliseconds(500))
    static let fetched = FetchResponse(error: .none, highWatermark: 10, logStartOffset: 0, logEndOffset: 12,
                                       divergingEpoch: 3, divergingEndOffset: 9, records: batch(0))

    @Test func peerMessagesRoundTrip() throws {
        let messages: [LogPeerMessage] = [
            .raft(.requestVote(term: 3, lastLogIndex: 10, lastLogTerm: 2, preVote: true)),
            .raft(.voteResponse(term: 3, granted: false, preVote: false)),
            .raft(.appendEntries(term: 4, prevLogIndex: 9, prevLogTerm: 3, entries: [
                RaftEntry(term: 4, index: 10, kind: .noop), RaftEntry(term: 4, index: 11, data: [1, 2])], leaderCommit: 8)),
            .raft(.appendResponse(term: 4, success: true, index: 11)),
            .heartbeat(incarnation: 77, location: NodeLocation(datacenter: "dc1", rack: "r2"), appliedIndex: 12),
            .metadataUpdate(entries: [RaftEntry(term: 2, index: 13, data: [9])]),
            .proposal(id: 5, command: .deleteTopic(name: "x")),
            .proposalResult(id: 5, outcome: .rejected("no topic x")),
            .proposalResult(id: 6, outcome: .producerIds(first: 1000, count: 1000)),
            .fetch(id: 9, Self.fetch),
            .fetchResponse(id: 9, Self.fetched),
            .fetchResponse(id: 10, FetchResponse(error: .notLeader)),
        ]
        for m in messages { #expect(try LogMessageCodec.decodePeer(LogMessageCodec.encode(m)) == m) }
    }

    @Test func clientMessagesRoundTrip() throws {
        let requests: [LogClientRequest] = [
            .createTopic(name: "sensors", config: TopicConfig(partitions: 6, replicationFactor: 3)),
            .deleteTopic(name: "sensors"),
            .describeCluster,
            .produce(topic: "sensors", partition: 2, acks: .all, timeout: .seconds(5), batch: batch(0)),
            .produce(topic: "sensors", partition: 0, acks: .none, timeout: .zero, batch: batch(3)),
            .fetch(Self.fetch),
            .listOffsets(topic: "sensors", partition: 1, .timestamp(1_767_225_600_000)),
            .listOffsets(topic: "sensors", partition: 1, .earliest),
            .initProducer,
            .findCoordinator(group: "sink"),
            .joinGroup(group: "sink", memberID: "", topics: ["a", "b"], sessionTimeout: .seconds(10), assignor: "range"),
            .syncGroup(group: "sink", memberID: "m1", generation: 3),
            .heartbeat(group: "sink", memberID: "m1", generation: 3),
            .leaveGroup(group: "sink", memberID: "m1"),
            .commitOffsets(group: "sink", memberID: "m1", generation: 3, offsets: [TopicPartitionID(topic: "a", partition: 1): 99]),
            .fetchOffsets(group: "sink"),
            .describeGroup(group: "sink"),
        ]
        for m in requests { #expect(try LogMessageCodec.decodeClientRequest(LogMessageCodec.encode(m)) == m) }
        let replies: [LogClientReply] = [
            .ok, .error(.notLeader, "n2 leads"), .failed("no controller"),
            .cluster(ClusterDescription(controller: "n1", brokers: [BrokerDescription(node: "n1", clientAddress: "127.0.0.1:9042", fenced: false)],
                                        topics: [TopicDescription(name: "t", config: TopicConfig(partitions: 1, replicationFactor: 1),
                                                                  partitions: [PartitionDescription(partition: 0, leader: "n1", leaderEpoch: 2, replicas: ["n1"], isr: ["n1"])])])),
            .produced(ProduceResponse(error: .none, baseOffset: 42, logStartOffset: 0)),
            .produced(ProduceResponse(error: .notEnoughReplicas, message: "1 in-sync")),
            .fetched(Self.fetched), .offset(77), .producerId(1001),
            .coordinator(node: "n2", clientAddress: "127.0.0.1:9402"),
            .joined(JoinResult(error: .none, memberID: "m1", generation: 2, assignment: [TopicPartitionID(topic: "a", partition: 0)])),
            .synced(.rebalanceInProgress, []), .group(.notOwner),
            .offsets([TopicPartitionID(topic: "a", partition: 0): 5]),
            .groupDescription(GroupDescription(group: "sink", state: "stable", generation: 2, assignor: "range",
                                               members: [.init(memberID: "m1", topics: ["a"], assignment: [TopicPartitionID(topic: "a", partition: 0)])],
                                               committed: [TopicPartitionID(topic: "a", partition: 0): 5])),
        ]
        for m in replies { #expect(try LogMessageCodec.decodeClientReply(LogMessageCodec.encode(m)) == m) }
    }

    @Test func garbageIsRefused() {
        var entropy = SeededEntropy(seed: 4)
        let valid = LogMessageCodec.encode(LogPeerMessage.fetchResponse(id: 1, Self.fetched))
        for _ in 0..<2000 {
            var bytes = valid
            for _ in 0..<(1 + entropy.next(below: 4)) { bytes[entropy.next(below: bytes.count)] = UInt8(entropy.next(below: 256)) }
            if entropy.next(below: 4) == 0 { bytes = Array(bytes.prefix(entropy.next(below: bytes.count))) }
            _ = try? LogMessageCodec.decodePeer(bytes)
            _ = try? LogMessageCodec.decodeClientRequest(bytes)
            _ = try? LogMessageCodec.decodeClientReply(bytes)
        }
        #expect(throws: (any Error).self) { _ = try LogMessageCodec.decodePeer([]) }
        #expect(throws: (any Error).self) { _ = try LogMessageCodec.decodePeer([1, 99]) }
    }
}
