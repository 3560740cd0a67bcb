// The metadata image: commands round-trip through their codec; topics are
// placed rack-aware with spread leaders; fencing a node moves its
// leaderships to in-sync replicas with a new epoch, never empties an ISR and
// leaves a partition leaderless rather than electing an out-of-sync
// replica; stale ISR changes are refused.
import RingtailCore
import Testing
@testable import RingtailLog

@Suite struct MetadataImageTests {
    static func node(_ i: Int) -> NodeID { NodeID("n\(i)") }

    /// An image with `count` live nodes over `racks` racks.
    static func image(nodes count: Int, racks: Int = 3) -> MetadataImage {
        var image = MetadataImage()
        for i in 1...count {
            image.apply(.registerBroker(node: node(i), incarnation: 1, location: NodeLocation(datacenter: "dc1", rack: "r\((i - 1) % racks + 1)")))
        }
        return image
    }

    @Test func commandsRoundTrip() throws {
        let commands: [MetadataCommand] = [
            .registerBroker(node: Self.node(1), incarnation: 99, location: NodeLocation(datacenter: "dc1", rack: "r2")),
            .fenceBroker(node: Self.node(2), incarnation: 3),
            .createTopic(name: "sensors", config: TopicConfig(partitions: 12, replicationFactor: 3, retentionAge: nil, retentionBytes: 1 << 30, flushEveryBatch: true)),
            .createTopic(name: "t", config: TopicConfig(partitions: 1, replicationFactor: 1)),
            .deleteTopic(name: "old"),
            .alterPartition(topic: "sensors", partition: 4, leader: Self.node(1), leaderEpoch: 7, partitionEpoch: 12, isr: [Self.node(1), Self.node(3)]),
            .allocateProducerIds(node: Self.node(5)),
        ]
        for command in commands {
            #expect(try MetadataCommandCodec.decode(MetadataCommandCodec.encode(command)) == command)
        }
        var bad = MetadataCommandCodec.encode(commands[0])
        bad[0] = 9
        #expect(throws: (any Error).self) { _ = try MetadataCommandCodec.decode(bad) }
        var image = MetadataImage()
        #expect(image.apply(entryAt: 1, data: bad) != .applied)
        #expect(image.unreadableEntries == 1)
    }

    @Test func placementIsRackAwareAndSpreadsLeaders() {
        var image = Self.image(nodes: 6, racks: 3)
        #expect(image.apply(.createTopic(name: "sensors", config: TopicConfig(partitions: 12, replicationFactor: 3))) == .applied)
        let topic = image.topics["sensors"]!
        var leaders: [NodeID: Int] = [:]
        for p in topic.partitions {
            #expect(Set(p.replicas).count == 3)
            let racks = Set(p.replicas.map { image.brokers[$0]!.location.rack })
            #expect(racks.count == 3, "replicas \(p.replicas) share a rack")
            #expect(p.leader == p.replicas[0] && p.isr == p.replicas && p.leaderEpoch == 0)
            leaders[p.leader!, default: 0] += 1
        }
        #expect(leaders.count == 6 && leaders.values.allSatisfy { $0 == 2 }, "leaders \(leaders)")
        // Refusals: duplicate name, bad name, more replicas than live nodes.
        #expect(image.apply(.createTopic(name: "sensors", config: TopicConfig(partitions: 1, replicationFactor: 1))) != .applied)
        #expect(image.apply(.createTopic(name: "a/b", config: TopicConfig(partitions: 1, replicationFactor: 1))) != .applied)
        #expect(image.apply(.createTopic(name: "wide", config: TopicConfig(partitions: 1, replicationFactor: 7))) != .applied)
        #expect(image.topics.count == 1)
    }

    @Test func fencingMovesLeadershipWithinTheISR() {
        var image = Self.image(nodes: 3)
        image.apply(.createTopic(name: "t", config: TopicConfig(partitions: 3, replicationFactor: 3)))
        let p0 = image.partition("t", 0)!
        let leader = p0.leader!
        #expect(image.apply(.fenceBroker(node: leader, incarnation: 1)) == .applied)
        let after = image.partition("t", 0)!
        #expect(after.leader != leader && after.leader != nil)
        #expect(after.leaderEpoch == p0.leaderEpoch + 1)
        #expect(!after.isr.contains(leader) && after.isr.count == 2)
        #expect(after.partitionEpoch > p0.partitionEpoch)
        // A stale fence (old incarnation) changes nothing.
        #expect(image.apply(.fenceBroker(node: leader, incarnation: 0)) != .applied)
        // The node returns: unfenced, but not back in the ISR until its leader asks.
        image.apply(.registerBroker(node: leader, incarnation: 2, location: NodeLocation(datacenter: "dc1", rack: "r1")))
        #expect(image.partition("t", 0)!.leader == after.leader)
        #expect(!image.partition("t", 0)!.isr.contains(leader))
    }

    @Test func theLastInSyncReplicaIsNeverRemovedAndOutOfSyncNodesNeverLead() {
        var image = Self.image(nodes: 3)
        image.apply(.createTopic(name: "t", config: TopicConfig(partitions: 1, replicationFactor: 3)))
        var p = image.partition("t", 0)!
        let leader = p.leader!
        // The leader shrinks the ISR to itself (followers lagging).
        #expect(image.apply(.alterPartition(topic: "t", partition: 0, leader: leader, leaderEpoch: p.leaderEpoch,
                                            partitionEpoch: p.partitionEpoch, isr: [leader])) == .applied)
        p = image.partition("t", 0)!
        #expect(p.isr == [leader])
        // The same request again is stale (partition epoch moved on).
        #expect(image.apply(.alterPartition(topic: "t", partition: 0, leader: leader, leaderEpoch: 0, partitionEpoch: 0,
                                            isr: [leader])) != .applied)
        // The leader dies: no unclean election; the ISR keeps it; the partition is offline.
        image.apply(.fenceBroker(node: leader, incarnation: 1))
        p = image.partition("t", 0)!
        #expect(p.leader == nil && p.isr == [leader])
        // When it returns it leads again, with a new epoch.
        image.apply(.registerBroker(node: leader, incarnation: 2, location: NodeLocation(datacenter: "dc1", rack: "r1")))
        p = image.partition("t", 0)!
        #expect(p.leader == leader && p.leaderEpoch == 2)
    }

    @Test func fencedNodesCannotJoinTheISR() {
        var image = Self.image(nodes: 3)
        image.apply(.createTopic(name: "t", config: TopicConfig(partitions: 1, replicationFactor: 3)))
        let leader = image.partition("t", 0)!.leader!
        let follower = image.partition("t", 0)!.replicas.first { $0 != leader }!
        image.apply(.fenceBroker(node: follower, incarnation: 1))
        let p = image.partition("t", 0)!
        #expect(!p.isr.contains(follower))
        #expect(image.apply(.alterPartition(topic: "t", partition: 0, leader: leader, leaderEpoch: p.leaderEpoch,
                                            partitionEpoch: p.partitionEpoch, isr: p.isr + [follower])) != .applied)
    }

    @Test func producerIdBlocksNeverOverlap() {
        var image = MetadataImage()
        #expect(image.apply(.allocateProducerIds(node: Self.node(1))) == .producerIds(first: 0, count: 1000))
        #expect(image.apply(.allocateProducerIds(node: Self.node(2))) == .producerIds(first: 1000, count: 1000))
    }
}
