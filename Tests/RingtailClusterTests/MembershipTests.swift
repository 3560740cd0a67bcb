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
            case .recordJournal(let entry):
                queue += from.journaled(entry.id, stored: from.record(entry)).map { (from, $0) }
            case .gossipToSeed, .setTimer, .reply, .replyLog:
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

@Suite struct NodeSchemaTests {
    let clock = ManualClock()
    let fs = CrashableFileSystem()

    func node(ring: TokenRing? = nil, generation: Int64 = 1) throws -> ClusterNode {
        var c = NodeConfiguration(id: NodeID("a"), location: NodeLocation(datacenter: "dc1", rack: "r1"), directory: "/a")
        c.engine.background = .manual
        c.engine.syncMode = .batch
        if !fs.fileExists("/a") { try fs.createDirectory("/a") }
        let ring = ring ?? TokenRing.empty.adding(NodeID("a"), location: c.location, tokens: [0])
        return try ClusterNode(configuration: c, ring: ring, schema: ClusterSchema(), fileSystem: fs, clock: clock,
                               generation: generation, seed: 1)
    }

    static let table = TableDefinition(keyspace: "ks", name: "t", partitionKey: [ColumnDefinition("k", .text)])

    func change(_ n: ClusterNode, _ body: (inout ClusterSchema, Int64) throws(RequestError) -> Void) {
        clock.advance(by: .milliseconds(1))
        let (_, result) = n.changeSchema(body)
        #expect((try? result.get()) != nil)
    }

    func write(_ n: ClusterNode, key: [UInt8]) throws {
        let row = Row(clustering: [], cells: [Cell(column: Array("v".utf8), timestamp: 1, kind: .live, value: [1])])
        let effects = n.receive(frame: WireCodec.encode(Envelope(source: NodeID("b"), message: .mutation(MutationMessage(
            id: 1, table: "ks.t", update: PartitionUpdate(key: key, rows: [row]).encoded())))))
        guard case .applyReplicaWrite(let w)? = effects.first else {
            Issue.record("expected a replica write, got \(effects)")
            return
        }
        #expect(n.apply(w).failure == nil)
    }

    /// schema.bin brings the schema back at a restart, with the table's data.
    @Test func theSchemaSurvivesARestart() throws {
        let first = try node()
        change(first) { (s, now) throws(RequestError) in
            try s.add(KeyspaceDefinition(name: "ks", replication: .simple(replicationFactor: 1)), timestampMicros: now)
        }
        change(first) { (s, now) throws(RequestError) in try s.add(Self.table, timestampMicros: now) }
        try write(first, key: [7])
        let version = first.schemaVersion
        try first.close()
        let second = try node(generation: 2)
        #expect(second.schema.tables["ks.t"] == Self.table && second.schemaVersion == version)
        #expect(try second.localPartition(table: "ks.t", key: [7]) != nil)
        // A schema.bin that does not decode stops the start with a corruption error.
        try second.close()
        try fs.writeAtomically("/a/schema.bin", bytes: [9, 9, 9])
        #expect(throws: StorageError.self) { try node(generation: 3) }
    }

    /// Dropping a table deletes its data; creating it again starts empty.
    @Test func droppedTablesLoseTheirDataAndComeBackEmpty() throws {
        let n = try node()
        change(n) { (s, now) throws(RequestError) in
            try s.add(KeyspaceDefinition(name: "ks", replication: .simple(replicationFactor: 1)), timestampMicros: now)
        }
        change(n) { (s, now) throws(RequestError) in try s.add(Self.table, timestampMicros: now) }
        try write(n, key: [7])
        change(n) { (s, now) throws(RequestError) in try s.dropTable("ks.t", timestampMicros: now) }
        #expect(n.engine.table(named: "ks.t") == nil)
        #expect(throws: StorageError.self) { try n.localPartition(table: "ks.t", key: [7]) }
        change(n) { (s, now) throws(RequestError) in try s.add(Self.table, timestampMicros: now) }
        #expect(try n.localPartition(table: "ks.t", key: [7]) == nil)
    }

    /// A node without tokens coordinates nothing.
    @Test func aJoiningNodeRefusesRequests() throws {
        let n = try node(ring: .empty)
        #expect(!n.isJoined)
        let (_, answer) = n.handle(client: ClientRequest(id: 1, operation: .read(ClientRead(table: "ks.t", key: [1],
                                                                                         consistency: "one"))), as: 1)
        guard case .error(let e)? = answer else {
            Issue.record("expected a refusal, got \(String(describing: answer))")
            return
        }
        #expect(e.message.contains("joining"))
    }

    @Test func gossipedTokensAreChecked() {
        #expect(ClusterNode.parse(tokens: "5,-3,9") == [-3, 5, 9])
        for bad in ["", "5,5", "1,,2", "x", "\(Int64.min)", (0...4096).map(String.init).joined(separator: ",")] {
            #expect(ClusterNode.parse(tokens: bad) == nil, "\(bad.prefix(20))")
        }
    }

    /// A peer's conflicting tokens are refused once, not re-placed on every heartbeat.
    @Test func aConflictingPeerIsPlacedOnce() throws {
        let n = try node()
        var state = EndpointState(heartbeat: HeartbeatState(generation: 1, version: 1), application: [
            "dc": VersionedValue("dc1", version: 1), "rack": VersionedValue("r2", version: 1),
            "tokens": VersionedValue("0,50", version: 1)])
        for beat in 1...5 {
            state.heartbeat.version = Int64(beat + 1)
            _ = n.receive(frame: WireCodec.encode(Envelope(source: NodeID("b"), message: .gossipAck2(GossipAck2(
                states: [NodeID("b"): state])))))
        }
        #expect(n.statistics.ringChanges == 1 && n.statistics.tokenConflicts == 1)
        #expect(n.ring.tokens(of: NodeID("b")) == [50])
    }
}
