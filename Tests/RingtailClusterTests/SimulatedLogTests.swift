// The append log on the simulated cluster, end to end through real nodes,
// the wire codec and the seeded network: the metadata group elects a
// controller, nodes register, a topic is created and placed, producers
// write with acks=all to partition leaders and consumers read it back in
// order; when a leader crashes, the controller fences it, a new leader takes
// over from the in-sync set and nothing acknowledged is lost.
import RingtailCore
import RingtailLog
import RingtailNode
import RingtailSimulation
import Testing

@Suite struct SimulatedLogTests {
    static func cluster(nodes: Int = 3, seed: UInt64 = 1) throws -> SimulatedCluster {
        var options = SimulatedCluster.Options(nodes: (1...nodes).map {
            (NodeID("n\($0)"), NodeLocation(datacenter: "dc1", rack: "r\($0)"))
        })
        options.seed = seed
        let voters = (1...min(3, nodes)).map { NodeID("n\($0)") }
        options.configure = { config in
            var log = LogServiceConfiguration(voters: voters)
            log.replication.replicaLagMax = .seconds(3)
            config.log = log
        }
        let c = try SimulatedCluster(options: options)
        c.run(for: .seconds(6)) // election, then every node registers by heartbeat
        return c
    }

    static func describe(_ c: SimulatedCluster, at node: NodeID = NodeID("n1")) -> ClusterDescription? {
        guard case .cluster(let d) = c.execute(.describeCluster, at: node) else { return nil }
        return d
    }

    static func batch(_ values: [String]) -> [UInt8] {
        var b = RecordBatchBuilder()
        for v in values { b.append(timestamp: 1_767_225_600_000, key: Array(v.utf8), value: Array(v.utf8)) }
        return b.build()
    }

    /// Produces to the partition's leader as the metadata names it, retrying
    /// through leader changes; returns whether it was acknowledged.
    static func produce(_ c: SimulatedCluster, _ topic: String, _ partition: Int, _ values: [String], acks: Acks = .all) -> Bool {
        for _ in 0..<20 {
            guard let d = describe(c, at: c.runningNodeIDs[0]),
                  let leader = d.topics.first(where: { $0.name == topic })?.partitions[partition].leader else {
                c.run(for: .milliseconds(500))
                continue
            }
            let reply = c.execute(.produce(topic: topic, partition: partition, acks: acks, timeout: .seconds(5), batch: batch(values)),
                                  at: NodeID(leader))
            if case .produced(let p) = reply, p.error == .none { return true }
            c.run(for: .milliseconds(500))
        }
        return false
    }

    static func consume(_ c: SimulatedCluster, _ topic: String, _ partition: Int) -> [String] {
        var out: [String] = []
        var offset: Int64 = 0
        for _ in 0..<200 {
            guard let d = describe(c, at: c.runningNodeIDs[0]),
                  let leader = d.topics.first(where: { $0.name == topic })?.partitions[partition].leader else { break }
            let reply = c.execute(.fetch(FetchRequest(topic: topic, partition: partition, replica: nil, fetchOffset: offset,
                                                      maxWait: .zero)), at: NodeID(leader))
            guard case .fetched(let f) = reply, f.error == .none else { break }
            if f.records.isEmpty { break }
            let records = (try? RecordBatchCodec.records(in: f.records)) ?? []
            out += records.filter { $0.offset >= offset }.map { String(decoding: $0.value ?? [], as: UTF8.self) }
            offset = (records.last?.offset ?? offset) + 1
        }
        return out
    }

    @Test func aNodeWithoutTheLogSaysSo() throws {
        let c = try SimulatedCluster(options: SimulatedCluster.Options(nodes: [(NodeID("n1"), NodeLocation(datacenter: "dc1", rack: "r1"))]))
        guard case .failed(let why) = c.execute(.describeCluster, at: NodeID("n1")) else {
            Issue.record("a node with no append log answered a log request")
            return
        }
        #expect(why.contains("runs no append log"), "\(why)")
    }

    @Test func topicsAreCreatedProducedAndConsumed() throws {
        let c = try Self.cluster()
        let d = try #require(Self.describe(c))
        #expect(d.controller != nil)
        #expect(d.brokers.map(\.node) == ["n1", "n2", "n3"] && d.brokers.allSatisfy { !$0.fenced })
        #expect(c.execute(.createTopic(name: "sensors", config: TopicConfig(partitions: 3, replicationFactor: 3)), at: NodeID("n2")) == .ok)
        c.run(for: .seconds(1))
        let topic = try #require(Self.describe(c, at: NodeID("n3"))?.topics.first)
        #expect(topic.name == "sensors" && topic.partitions.count == 3)
        #expect(Set(topic.partitions.compactMap(\.leader)).count == 3, "leaders spread over the nodes")
        for p in 0..<3 {
            #expect(Self.produce(c, "sensors", p, (0..<5).map { "p\(p)-\($0)" }))
            #expect(Self.produce(c, "sensors", p, (5..<8).map { "p\(p)-\($0)" }))
        }
        c.run(for: .seconds(1))
        for p in 0..<3 {
            #expect(Self.consume(c, "sensors", p) == (0..<8).map { "p\(p)-\($0)" })
        }
        // A duplicate name is refused with a reason.
        guard case .failed(let why) = c.execute(.createTopic(name: "sensors", config: TopicConfig(partitions: 1, replicationFactor: 1)),
                                                at: NodeID("n1")) else {
            Issue.record("a duplicate topic was not refused")
            return
        }
        #expect(why.contains("exists"))
    }

    @Test func aCrashedLeaderIsReplacedAndNothingAcknowledgedIsLost() throws {
        let c = try Self.cluster(seed: 7)
        #expect(c.execute(.createTopic(name: "t", config: TopicConfig(partitions: 1, replicationFactor: 3)), at: NodeID("n1")) == .ok)
        c.run(for: .seconds(1))
        var acknowledged: [String] = []
        for i in 0..<10 where Self.produce(c, "t", 0, ["a\(i)"]) { acknowledged.append("a\(i)") }
        let before = try #require(Self.describe(c)?.topics.first?.partitions.first)
        let leader = try #require(before.leader)
        c.crash(NodeID(leader))
        c.run(for: .seconds(6)) // session timeout, fencing, new leader
        let after = try #require(Self.describe(c, at: c.runningNodeIDs[0])?.topics.first?.partitions.first)
        #expect(after.leader != nil && after.leader != leader)
        #expect(after.leaderEpoch > before.leaderEpoch)
        for i in 0..<10 where Self.produce(c, "t", 0, ["b\(i)"]) { acknowledged.append("b\(i)") }
        #expect(acknowledged.count == 20)
        try c.restart(NodeID(leader))
        c.run(for: .seconds(8))
        let consumed = Self.consume(c, "t", 0)
        #expect(consumed == acknowledged)
        // The restarted node caught up and is back in the in-sync set.
        let final = try #require(Self.describe(c)?.topics.first?.partitions.first)
        #expect(final.isr.contains(leader), "isr \(final.isr)")
    }

    @Test func nodesOutsideTheMetadataGroupFollowItAndTheControllerCanFail() throws {
        let c = try Self.cluster(nodes: 5, seed: 3)
        #expect(c.execute(.createTopic(name: "wide", config: TopicConfig(partitions: 5, replicationFactor: 3)), at: NodeID("n5")) == .ok)
        c.run(for: .seconds(1))
        // n4 and n5 are not voters: they learn the topic from the controller.
        let seen = try #require(Self.describe(c, at: NodeID("n4"))?.topics.first)
        #expect(seen.partitions.count == 5)
        let leaders = Set(seen.partitions.compactMap(\.leader))
        #expect(leaders.contains("n4") || leaders.contains("n5"), "non-voters lead partitions too")
        for p in 0..<5 { #expect(Self.produce(c, "wide", p, ["x\(p)"])) }
        // The controller dies; the group elects another and work goes on.
        let controller = try #require(Self.describe(c)?.controller)
        c.crash(NodeID(controller))
        c.run(for: .seconds(8))
        let next = try #require(Self.describe(c, at: c.runningNodeIDs[0])?.controller)
        #expect(next != controller)
        for p in 0..<5 { #expect(Self.produce(c, "wide", p, ["y\(p)"])) }
        c.run(for: .seconds(1))
        for p in 0..<5 { #expect(Self.consume(c, "wide", p) == ["x\(p)", "y\(p)"]) }
        #expect(c.execute(.deleteTopic(name: "wide"), at: NodeID("n4")) == .ok)
        c.run(for: .seconds(1))
        #expect(Self.describe(c, at: NodeID("n5"))?.topics.isEmpty == true)
    }

    /// A producer-id request forwarded to a controller that just died is
    /// answered (refused, after the forwarding timeout), and the node hands
    /// out ids again once a new controller is elected: it does not wait
    /// forever for an allocation that was lost.
    @Test func producerIdsSurviveALostAllocation() throws {
        let c = try Self.cluster(nodes: 5, seed: 3)
        let controller = try #require(Self.describe(c)?.controller)
        c.crash(NodeID(controller))
        let first = c.submit(.initProducer, to: NodeID("n4"))
        c.run(for: .seconds(15))
        let answered = try #require(c.takeLogReply(first), "the request was never answered")
        switch answered {
        case .producerId, .failed: break
        default: Issue.record("unexpected answer \(answered)")
        }
        guard case .producerId(let a) = c.execute(.initProducer, at: NodeID("n4")),
              case .producerId(let b) = c.execute(.initProducer, at: NodeID("n5")) else {
            Issue.record("no producer ids after the new controller was elected")
            return
        }
        #expect(a != b)
    }

    /// Sends a group request to the group's coordinator, looking it up first.
    static func toCoordinator(_ c: SimulatedCluster, _ group: String, _ request: LogClientRequest) -> LogClientReply {
        for _ in 0..<30 {
            if case .coordinator(let node, _) = c.execute(.findCoordinator(group: group), at: c.runningNodeIDs[0]) {
                let reply = c.execute(request, at: NodeID(node))
                switch reply {
                case .group(.notCoordinator), .error(.notLeader, _): break
                case .joined(let j) where j.error == .notCoordinator: break
                default: return reply
                }
            }
            c.run(for: .milliseconds(500))
        }
        return .failed("no coordinator")
    }

    @Test func groupsRebalanceAndTheirOffsetsSurviveTheCoordinator() throws {
        let c = try Self.cluster(seed: 11)
        #expect(c.execute(.createTopic(name: "t", config: TopicConfig(partitions: 6, replicationFactor: 3)), at: NodeID("n1")) == .ok)
        c.run(for: .seconds(1))
        let join1 = Self.toCoordinator(c, "g", .joinGroup(group: "g", memberID: "", topics: ["t"], sessionTimeout: .seconds(10), assignor: "range"))
        guard case .joined(let m1) = join1, m1.error == .none else { Issue.record("join: \(join1)"); return }
        #expect(m1.assignment.count == 6)
        // A second member: its join waits until the first rejoins.
        guard case .coordinator(let node, _) = c.execute(.findCoordinator(group: "g"), at: NodeID("n1")) else { Issue.record("no coordinator"); return }
        let pending = c.submit(.joinGroup(group: "g", memberID: "", topics: ["t"], sessionTimeout: .seconds(10), assignor: "range"), to: NodeID(node))
        c.run(for: .milliseconds(200))
        #expect(Self.toCoordinator(c, "g", .heartbeat(group: "g", memberID: m1.memberID, generation: m1.generation)) == .group(.rebalanceInProgress))
        guard case .joined(let again) = Self.toCoordinator(c, "g", .joinGroup(group: "g", memberID: m1.memberID, topics: ["t"],
                                                                                sessionTimeout: .seconds(10), assignor: "range")) else {
            Issue.record("rejoin failed"); return
        }
        c.run(for: .milliseconds(200))
        guard case .joined(let m2)? = c.takeLogReply(pending) else { Issue.record("the second join was not answered"); return }
        #expect(again.generation == m2.generation && again.assignment.count == 3 && m2.assignment.count == 3)
        #expect(Set(again.assignment).isDisjoint(with: m2.assignment))
        // Commits: the owner's land; another member's for the same partition are refused.
        let mine = again.assignment[0]
        #expect(Self.toCoordinator(c, "g", .commitOffsets(group: "g", memberID: m1.memberID, generation: again.generation, offsets: [mine: 42])) == .group(.none))
        #expect(Self.toCoordinator(c, "g", .commitOffsets(group: "g", memberID: m2.memberID, generation: m2.generation, offsets: [mine: 7])) == .group(.notOwner))
        // The coordinator dies: the offsets partition's new leader reads the commits back.
        c.crash(NodeID(node))
        c.run(for: .seconds(6))
        let fetched = Self.toCoordinator(c, "g", .fetchOffsets(group: "g"))
        #expect(fetched == .offsets([mine: 42]), "\(fetched)")
    }
}
