import RingtailCore
import RingtailStorage
import RingtailWire
import RingtailCluster
import RingtailNode
import RingtailSimulation
import Testing

/// Small whole-cluster scenarios on the simulated cluster: the coordinator,
/// replica, gossip and hint paths end to end.
@Suite struct SimulatedClusterTests {
    static func cluster(nodes: Int = 3, rf: Int = 3, seed: UInt64 = 1,
                        configure: @escaping @Sendable (inout NodeConfiguration) -> Void = { _ in }) throws -> SimulatedCluster {
        var options = SimulatedCluster.Options(nodes: (1...nodes).map {
            (NodeID("n\($0)"), NodeLocation(datacenter: "dc1", rack: "r\($0 % 3)"))
        })
        options.seed = seed
        options.configure = configure
        let c = try SimulatedCluster(options: options)
        try c.create(KeyspaceDefinition(name: "ks", replication: .simple(replicationFactor: rf)))
        try c.create(TableDefinition(keyspace: "ks", name: "t", partitionKey: [ColumnDefinition("k", .text)],
                                     clusteringKey: [ColumnDefinition("c", .bigint)],
                                     columns: [ColumnDefinition("v", .text)]))
        c.run(for: .seconds(5)) // gossip: every node sees every other up
        return c
    }

    static func write(_ key: String, _ c: Int64, _ value: String, ts: Int64) -> PartitionUpdate {
        PartitionUpdate(key: KeyCodec.encodeKey([.text(key)]), rows: [
            Row(clustering: KeyCodec.encodeKey([.bigint(c)]), cells: [.live("v", Array(value.utf8), timestamp: ts)]),
        ])
    }

    static func value(_ result: ClientResult) -> [String] {
        guard case .rows(let rows) = result else { return ["<\(result)>"] }
        return rows.map { String(decoding: $0.cells.first { $0.column == Array("v".utf8) }?.value ?? [], as: UTF8.self) }
    }

    @Test func quorumWriteThenQuorumRead() throws {
        let c = try Self.cluster()
        for n in c.nodeIDs { #expect(c.nodeIDs.allSatisfy { c.node(n)!.isAlive($0) }) }
        let w = c.execute(.write(WriteCommand(table: "ks.t", update: Self.write("a", 1, "x", ts: 10), level: .quorum)),
                          at: NodeID("n1"))
        #expect(w == .written)
        let r = c.execute(.read(ReadCommand(table: "ks.t", key: KeyCodec.encodeKey([.text("a")]), level: .quorum)),
                          at: NodeID("n2"))
        #expect(Self.value(r) == ["x"])
        // Every replica holds it (RF 3 on 3 nodes).
        for n in c.nodeIDs {
            #expect(try c.node(n)!.localPartition(table: "ks.t", key: KeyCodec.encodeKey([.text("a")]))?.rows.count == 1)
        }
    }

    /// With a reply handler every reply goes to it and none is kept (a long
    /// run would hold them all); `execute` still gets its own, including one
    /// given at once (Unavailable, before any message).
    @Test func repliesGoToTheHandlerAndExecuteStillWorks() throws {
        let c = try Self.cluster()
        var seen: [UInt64: ClientResult] = [:]
        c.onReply = { seen[$0] = $1 }
        let id = c.submit(.write(WriteCommand(table: "ks.t", update: Self.write("a", 1, "x", ts: 10), level: .quorum)),
                          to: NodeID("n1"))
        c.run(for: .seconds(1))
        #expect(seen[id] == .written)
        #expect(c.takeReply(id) == nil)
        let r = c.execute(.read(ReadCommand(table: "ks.t", key: KeyCodec.encodeKey([.text("a")]), level: .quorum)),
                          at: NodeID("n2"))
        #expect(Self.value(r) == ["x"])
        c.crash(NodeID("n2"))
        c.crash(NodeID("n3"))
        c.run(for: .seconds(30)) // n1's detector convicts both
        let unavailable = c.execute(.read(ReadCommand(table: "ks.t", key: KeyCodec.encodeKey([.text("a")]), level: .all)),
                                    at: NodeID("n1"))
        guard case .failed(.unavailable) = unavailable else { Issue.record("got \(unavailable)"); return }
        #expect(seen.count == 3)
    }

    @Test func unknownTableAndBadLevelsAreInvalidRequests() throws {
        let c = try Self.cluster()
        let r = c.execute(.write(WriteCommand(table: "ks.nope", update: Self.write("a", 1, "x", ts: 1), level: .one)),
                          at: NodeID("n1"))
        guard case .failed(.invalidRequest) = r else { Issue.record("got \(r)"); return }
        let any = c.execute(.read(ReadCommand(table: "ks.t", key: [1], level: .any)), at: NodeID("n1"))
        guard case .failed(.invalidRequest) = any else { Issue.record("got \(any)"); return }
        let each = c.execute(.read(ReadCommand(table: "ks.t", key: [1], level: .eachQuorum)), at: NodeID("n1"))
        guard case .failed(.invalidRequest) = each else { Issue.record("got \(each)"); return }
    }

    @Test func downReplicaGetsAHintThatIsDeliveredWhenItReturns() throws {
        let c = try Self.cluster()
        c.crash(NodeID("n3"))
        c.run(for: .seconds(30)) // long enough for phi to convict n3
        #expect(!c.node(NodeID("n1"))!.isAlive(NodeID("n3")))
        let w = c.execute(.write(WriteCommand(table: "ks.t", update: Self.write("a", 1, "x", ts: 10), level: .quorum)),
                          at: NodeID("n1"))
        #expect(w == .written)
        #expect(c.node(NodeID("n1"))!.hintStore.pending(for: NodeID("n3")).hints == 1)
        // ALL fails fast: Unavailable, with the numbers, with no time passing.
        let before = c.now
        let all = c.execute(.write(WriteCommand(table: "ks.t", update: Self.write("a", 2, "y", ts: 11), level: .all)),
                            at: NodeID("n1"))
        #expect(all == .failed(.unavailable(level: .all, required: 3, alive: 2)))
        #expect(c.now == before)
        try c.restart(NodeID("n3"))
        c.run(for: .seconds(10))
        #expect(c.node(NodeID("n1"))!.hintStore.pending(for: NodeID("n3")).hints == 0)
        #expect(c.node(NodeID("n1"))!.hintStore.statistics.delivered == 1)
        let key = KeyCodec.encodeKey([.text("a")])
        #expect(try c.node(NodeID("n3"))!.localPartition(table: "ks.t", key: key)?.rows.count == 1)
    }

    @Test func anyIsSatisfiedByAHint() throws {
        let c = try Self.cluster(nodes: 3, rf: 1)
        // Find a key whose only replica is n2, then take n2 down.
        let key = (0..<1000).map { "k\($0)" }.first { k in
            c.ring.replicas(for: Murmur3.token(KeyCodec.encodeKey([.text(k)])), strategy: .simple(replicationFactor: 1)) == [NodeID("n2")]
        }!
        c.crash(NodeID("n2"))
        c.run(for: .seconds(30))
        let one = c.execute(.write(WriteCommand(table: "ks.t", update: Self.write(key, 1, "x", ts: 10), level: .one)),
                            at: NodeID("n1"))
        #expect(one == .failed(.unavailable(level: .one, required: 1, alive: 0)))
        let any = c.execute(.write(WriteCommand(table: "ks.t", update: Self.write(key, 1, "x", ts: 10), level: .any)),
                            at: NodeID("n1"))
        #expect(any == .written)
        #expect(c.node(NodeID("n1"))!.hintStore.pending(for: NodeID("n2")).hints == 1)
    }

    @Test func writeTimesOutWhenRepliesAreCutAndHintsTheMissingReplicas() throws {
        let c = try Self.cluster()
        // n2 and n3 still look alive to n1 (gossip is fresh), but nothing reaches them.
        c.block(from: NodeID("n1"), to: NodeID("n2"))
        c.block(from: NodeID("n1"), to: NodeID("n3"))
        let start = c.now
        let w = c.execute(.write(WriteCommand(table: "ks.t", update: Self.write("a", 1, "x", ts: 10), level: .quorum)),
                          at: NodeID("n1"))
        #expect(w == .failed(.timeout(level: .quorum, received: 1, required: 2, isWrite: true)))
        #expect(c.now - start == .seconds(2))
        #expect(c.node(NodeID("n1"))!.hintStore.pending(for: NodeID("n2")).hints == 1)
        #expect(c.node(NodeID("n1"))!.hintStore.pending(for: NodeID("n3")).hints == 1)
    }

    @Test func digestMismatchRepairsTheStaleReplicaBeforeAnswering() throws {
        let c = try Self.cluster(configure: { $0.coordinator.speculativeRetryPercentile = nil })
        let key = KeyCodec.encodeKey([.text("a")])
        // Old value everywhere, then a newer one written at ONE while n2, n3 are cut off from n1.
        #expect(c.execute(.write(WriteCommand(table: "ks.t", update: Self.write("a", 1, "old", ts: 10), level: .all)),
                          at: NodeID("n1")) == .written)
        c.block(from: NodeID("n1"), to: NodeID("n2"))
        c.block(from: NodeID("n1"), to: NodeID("n3"))
        #expect(c.execute(.write(WriteCommand(table: "ks.t", update: Self.write("a", 1, "new", ts: 20), level: .one)),
                          at: NodeID("n1")) == .written)
        // Clear the hints so only read repair can fix n2 and n3.
        c.heal()
        for n in ["n2", "n3"] {
            for h in try c.node(NodeID("n1"))!.hintStore.nextBatch(for: NodeID(n), limit: 10) {
                try c.node(NodeID("n1"))!.hintStore.acknowledge(through: h)
            }
        }
        let r = c.execute(.read(ReadCommand(table: "ks.t", key: key, level: .all)), at: NodeID("n2"))
        #expect(Self.value(r) == ["new"])
        // Read repair mutations are never hinted (the coordinator's store stays empty).
        #expect(c.node(NodeID("n2"))!.hintStore.statistics.stored == 0)
        for n in c.nodeIDs {
            let p = try c.node(n)!.localPartition(table: "ks.t", key: key)
            #expect(p?.rows.first?.cells.first?.timestamp == 20, "replica \(n) not repaired")
        }
    }

    @Test func malformedFramesAreDroppedAndCounted() throws {
        let c = try Self.cluster()
        let n1 = c.node(NodeID("n1"))!
        #expect(n1.receive(frame: [1, 2, 3]).isEmpty)
        #expect(n1.receive(frame: [255, 255, 255, 255, 0, 0, 0, 0]).isEmpty)
        #expect(n1.statistics.framesRejected == 2)
        let foreign = WireCodec.encode(Envelope(source: NodeID("x"), message: .gossipSyn(GossipSyn(clusterName: "other", digests: []))))
        #expect(n1.receive(frame: foreign).isEmpty)
        #expect(n1.statistics.framesRejected == 3)
    }

    /// hinted-handoff.md: hints wait while their target is held down, and
    /// are then delivered within the throttle's byte budget per round, with
    /// no burst saved up while the target was away.
    @Test func hintDeliveryWaitsForTheTargetAndIsThrottled() throws {
        let c = try Self.cluster(configure: { $0.hintThrottleBytesPerSecond = 1000 })
        let n1 = NodeID("n1"), n3 = NodeID("n3")
        c.crash(n3)
        c.run(for: .seconds(30))
        let value = String(repeating: "v", count: 400)
        for i in 0..<20 {
            #expect(c.execute(.write(WriteCommand(table: "ks.t", update: Self.write("k\(i)", 1, value, ts: 10), level: .quorum)),
                              at: n1) == .written)
        }
        #expect(c.node(n1)!.hintStore.pending(for: n3).hints == 20)
        c.run(for: .seconds(10))
        #expect(c.node(n1)!.statistics.hintsSent == 0, "hints were sent to a node held down")
        try c.restart(n3)
        var sent = 0
        for _ in 0..<60 where c.node(n1)!.hintStore.pending(for: n3).hints > 0 {
            c.run(for: .seconds(1))
            let now = c.node(n1)!.statistics.hintsSent
            // About 430 bytes a hint, 1000 bytes a round: at most 3 (the last may overshoot).
            #expect(now - sent <= 3, "\(now - sent) hints in one round")
            sent = now
        }
        #expect(c.node(n1)!.hintStore.pending(for: n3).hints == 0)
        #expect(c.node(n1)!.hintStore.statistics.delivered == 20)
    }
}
