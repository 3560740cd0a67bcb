// Two real nodes that start knowing only themselves, driven by hand the way
// a server drives them: gossip through a seed places each in the other's
// ring, schema changes spread by push and, when a push is lost, by pull.
import RingtailCore
import RingtailStorage
import RingtailWire
import RingtailCluster
import RingtailSimulation
import Testing
@testable import RingtailNode

@Suite struct MembershipTests {
    let clock = ManualClock()

    func node(_ name: String, rack: String, tokens: [Int64]) throws -> ClusterNode {
        var c = NodeConfiguration(id: NodeID(name), location: NodeLocation(datacenter: "dc1", rack: rack), directory: "/" + name)
        c.engine.background = .manual
        c.engine.syncMode = .batch
        c.advertised = ["addr": "127.0.0.1:7\(name.count)"]
        let fs = CrashableFileSystem()
        try fs.createDirectory("/" + name)
        let ring = TokenRing.empty.adding(NodeID(name), location: c.location, tokens: tokens)
        return try ClusterNode(configuration: c, ring: ring, schema: ClusterSchema(), fileSystem: fs, clock: clock,
                               generation: 1, seed: 7)
    }

    /// Delivers frames between `nodes` until none is left (bounded).
    func pump(_ start: [(ClusterNode, NodeEffect)], _ nodes: [ClusterNode], drop: (NodeID) -> Bool = { _ in false }) {
        var queue = start
        var steps = 0
        while !queue.isEmpty && steps < 1000 {
            steps += 1
            let (from, effect) = queue.removeFirst()
            switch effect {
            case .send(let target, let frame):
                guard !drop(target), let to = nodes.first(where: { $0.id == target }) else { continue }
                queue += to.receive(frame: frame).map { (to, $0) }
            case .applyReplicaWrite(let w):
                queue += from.finish(w, from.apply(w)).map { (from, $0) }
            case .gossipToSeed, .setTimer, .reply:
                continue
            }
        }
        #expect(steps < 1000, "gossip did not settle")
    }

    @Test func gossipThroughASeedPlacesPeersAndSpreadsTheSchema() throws {
        let a = try node("a", rack: "r1", tokens: [-100, 100])
        let b = try node("b", rack: "r2", tokens: [0, 200])
        #expect(!a.knownPeers.contains(b.id))
        // a knows no peer: its round goes to a seed, which the driver maps to b.
        let round = a.fire(.gossip)
        guard case .gossipToSeed(let syn)? = round.first else {
            Issue.record("expected a SYN for a seed, got \(round)")
            return
        }
        pump([(a, .send(to: b.id, frame: syn))], [a, b])
        #expect(a.ring.nodes == [a.id, b.id] && b.ring.nodes == [a.id, b.id])
        #expect(a.ring.tokens == [-100, 0, 100, 200] && b.ring.tokens == a.ring.tokens)
        #expect(b.gossipState(of: a.id)?.application["addr"]?.value == "127.0.0.1:71")

        // A change on a is pushed to b at once.
        let (effects, result) = a.changeSchema { (s, now) throws(RequestError) in
            try s.add(KeyspaceDefinition(name: "iot", replication: .simple(replicationFactor: 2)), timestampMicros: now)
        }
        #expect((try? result.get()) != nil)
        pump(effects.map { (a, $0) }, [a, b])
        #expect(b.schema.keyspaces["iot"] != nil && b.schemaVersion == a.schemaVersion)

        // A change on b whose push is lost reaches a by pull on the next gossip.
        let table = TableDefinition(keyspace: "iot", name: "t", partitionKey: [ColumnDefinition("k", .text)])
        let (lost, _) = b.changeSchema { (s, now) throws(RequestError) in try s.add(table, timestampMicros: now + 1) }
        pump(lost.map { (b, $0) }, [a, b], drop: { $0 == a.id })
        #expect(a.schema.tables["iot.t"] == nil)
        clock.advance(by: .seconds(2))
        pump(b.fire(.gossip).map { (b, $0) }, [a, b])
        #expect(a.schema.tables["iot.t"] == table && a.schemaAgreement)
        #expect(a.engine.table(named: "iot.t") != nil, "the pulled table exists in a's engine")
    }

    @Test func aPeersConflictingTokenNeverBreaksTheRing() throws {
        let a = try node("a", rack: "r1", tokens: [-100, 100])
        let b = try node("b", rack: "r2", tokens: [100, 300])
        pump([(a, .send(to: b.id, frame: a.fire(.gossip).compactMap {
            if case .gossipToSeed(let f) = $0 { return f } else { return nil } }.first!))], [a, b])
        #expect(a.ring.tokens(of: a.id) == [-100, 100] && a.ring.tokens(of: b.id) == [300])
        #expect(a.statistics.tokenConflicts > 0)
    }

    @Test func aShutdownAnnouncementMarksThePeerDownAtOnce() throws {
        let a = try node("a", rack: "r1", tokens: [-100])
        let b = try node("b", rack: "r2", tokens: [100])
        pump([(a, .send(to: b.id, frame: a.fire(.gossip).compactMap {
            if case .gossipToSeed(let f) = $0 { return f } else { return nil } }.first!))], [a, b])
        #expect(a.isAlive(b.id))
        pump(b.announceShutdown().map { (b, $0) }, [a, b])
        #expect(!a.isAlive(b.id))
    }
}

@Suite struct IncarnationTests {
    /// A replica's answer to the previous incarnation of a coordinator must
    /// not count as an acknowledgement of the new incarnation's write (found
    /// by `ringtail faults`: stale answers queued for a killed node matched
    /// the restarted node's first message ids).
    @Test func aStaleAnswerNeverAcknowledgesANewWrite() throws {
        let clock = ManualClock()
        let ring = TokenRing.empty
            .adding(NodeID("a"), location: NodeLocation(datacenter: "dc1", rack: "r1"), tokens: [0])
            .adding(NodeID("b"), location: NodeLocation(datacenter: "dc1", rack: "r2"), tokens: [1 << 40])
        var schema = ClusterSchema()
        try schema.add(KeyspaceDefinition(name: "ks", replication: .simple(replicationFactor: 2)))
        try schema.add(TableDefinition(keyspace: "ks", name: "t"))
        func coordinator(generation: Int64) throws -> ClusterNode {
            var c = NodeConfiguration(id: NodeID("a"), location: NodeLocation(datacenter: "dc1", rack: "r1"), directory: "/a")
            c.engine.background = .manual
            let fs = CrashableFileSystem()
            try fs.createDirectory("/a")
            let node = try ClusterNode(configuration: c, ring: ring, schema: schema, fileSystem: fs, clock: clock,
                                       generation: generation, seed: 1)
            // b's heartbeat, so the coordinator holds b up and sends to it.
            _ = node.receive(frame: WireCodec.encode(Envelope(source: NodeID("b"), message: .gossipAck2(GossipAck2(
                states: [NodeID("b"): EndpointState(heartbeat: HeartbeatState(generation: 1, version: 1))])))))
            return node
        }
        func mutationIDs(_ effects: [NodeEffect], to target: NodeID) -> [UInt64] {
            effects.compactMap {
                guard case .send(target, let frame) = $0, case .mutation(let m)? = try? WireCodec.decode(frame: frame).message
                else { return nil }
                return m.id
            }
        }
        let write = WriteCommand(table: "ks.t", update: PartitionUpdate(key: [1], rows: [
            Row(clustering: [], cells: [Cell(column: Array("v".utf8), timestamp: 5, kind: .live, value: [1])])]), level: .all)
        let old = try coordinator(generation: 1)
        let oldIDs = mutationIDs(old.submit(request: 1, .write(write)), to: NodeID("b"))
        let new = try coordinator(generation: 2)
        let newIDs = mutationIDs(new.submit(request: 1, .write(write)), to: NodeID("b"))
        #expect(oldIDs.count == 1 && newIDs.count == 1 && Set(oldIDs).isDisjoint(with: newIDs))
        // b's answer to the old incarnation reaches the new one: nothing is acknowledged.
        let stale = WireCodec.encode(Envelope(source: NodeID("b"), message: .mutationResponse(MutationResponse(id: oldIDs[0]))))
        let effects = new.receive(frame: stale)
        #expect(!effects.contains { if case .reply = $0 { return true } else { return false } })
        #expect(new.requestsInFlight == 1)
    }
}
