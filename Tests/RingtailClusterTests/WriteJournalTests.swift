import RingtailCore
import RingtailStorage
import RingtailWire
import RingtailCluster
import RingtailNode
import RingtailSimulation
import Testing

/// A coordinator killed after answering "written" but before the write
/// timeout could hint its silent replicas: the restarted node finds the
/// journal entry and hints every replica (found by `ringtail faults`:
/// without the journal those replicas never got the write).
@Suite struct WriteJournalTests {
    let clock = ManualClock()
    let fs = CrashableFileSystem()
    let a = NodeID("a"), b = NodeID("b"), c = NodeID("c")

    func coordinator(generation: Int64, hintBytesMax: Int? = nil) throws -> ClusterNode {
        let ring = TokenRing.empty
            .adding(a, location: NodeLocation(datacenter: "dc1", rack: "r1"), tokens: [0])
            .adding(b, location: NodeLocation(datacenter: "dc1", rack: "r2"), tokens: [1 << 40])
            .adding(c, location: NodeLocation(datacenter: "dc1", rack: "r3"), tokens: [1 << 50])
        var schema = ClusterSchema()
        try schema.add(KeyspaceDefinition(name: "ks", replication: .simple(replicationFactor: 3)))
        try schema.add(TableDefinition(keyspace: "ks", name: "t"))
        var config = NodeConfiguration(id: a, location: NodeLocation(datacenter: "dc1", rack: "r1"), directory: "/a")
        config.engine.background = .manual
        config.engine.syncMode = .batch
        if let hintBytesMax { config.hints.targetBytesMax = ByteCount(bytes: hintBytesMax) }
        if !fs.fileExists("/a") { try fs.createDirectory("/a") }
        let node = try ClusterNode(configuration: config, ring: ring, schema: schema, fileSystem: fs, clock: clock,
                                   generation: generation, seed: 1)
        for peer in [b, c] {
            _ = node.receive(frame: WireCodec.encode(Envelope(source: peer, message: .gossipAck2(GossipAck2(
                states: [peer: EndpointState(heartbeat: HeartbeatState(generation: 1, version: 1))])))))
        }
        return node
    }

    static let update = PartitionUpdate(key: [1], rows: [
        Row(clustering: [], cells: [Cell(column: Array("v".utf8), timestamp: 5, kind: .live, value: [1])])])

    /// Performs a's effects on itself (self-sends, its own replica write,
    /// its journal); returns what it sent to others and what it answered.
    func settle(_ node: ClusterNode, _ start: [NodeEffect]) -> (sent: [(NodeID, Message)], replies: [ClientResult]) {
        var queue = start, sent: [(NodeID, Message)] = [], replies: [ClientResult] = []
        for _ in 0..<100 where !queue.isEmpty {
            switch queue.removeFirst() {
            case .send(let target, let frame):
                if target == a { queue += node.receive(frame: frame) } else if let m = try? WireCodec.decode(frame: frame).message { sent.append((target, m)) }
            case .applyReplicaWrite(let w): queue += node.finish(w, node.apply(w))
            case .recordJournal(let entry): queue += node.journaled(entry.id, stored: node.record(entry))
            case .reply(_, let result): replies.append(result)
            case .gossipToSeed, .setTimer, .replyLog: continue
            }
        }
        return (sent, replies)
    }

    @Test func aRestartHintsWhatTheKilledCoordinatorLeftUnfinished() throws {
        let node = try coordinator(generation: 1)
        var (sent, replies) = settle(node, node.submit(request: 1, .write(WriteCommand(table: "ks.t", update: Self.update, level: .quorum))))
        guard case .mutation(let m)? = sent.first(where: { $0.0 == b })?.1 else { Issue.record("nothing sent to b: \(sent)"); return }
        #expect(replies.isEmpty) // only a's own copy so far
        // b acknowledges: QUORUM met, journal durable: written. c never answers.
        (sent, replies) = settle(node, node.receive(frame: WireCodec.encode(Envelope(source: b, message: .mutationResponse(
            MutationResponse(id: m.id))))))
        #expect(replies == [.written])
        #expect(node.hintStore.pending(for: c).hints == 0 && node.journal.statistics.recorded == 1)

        // SIGKILL before the write timeout: no hint was ever stored for c.
        node.kill()
        var tear = SeededEntropy(seed: 3)
        fs.recoverFromCrash(entropy: &tear)
        let restarted = try coordinator(generation: 2)
        #expect(restarted.journal.statistics.recovered == 1)
        #expect(restarted.hintStore.pending(for: c).hints == 1)
        #expect(restarted.hintStore.pending(for: b).hints == 1) // b has it already: the hint is a no-op there
        #expect(try restarted.localPartition(table: "ks.t", key: [1])?.rows.first?.cells.first?.value == [1])
        #expect(try restarted.journal.entries().entries.isEmpty)
        try restarted.close()
        // Forgotten durably: the next start finds nothing to recover.
        let again = try coordinator(generation: 3)
        #expect(again.journal.statistics.recovered == 0 && again.hintStore.pending(for: c).hints == 1)
        try again.close()
    }

    /// Found in review: a write whose hint is dropped (over the target's
    /// budget) keeps its entry, so the next start still hints it.
    @Test func aDroppedHintKeepsTheEntry() throws {
        let node = try coordinator(generation: 1, hintBytesMax: 1)
        var (sent, replies) = settle(node, node.submit(request: 1, .write(WriteCommand(table: "ks.t", update: Self.update, level: .quorum))))
        guard case .mutation(let m)? = sent.first(where: { $0.0 == b })?.1 else { Issue.record("nothing sent to b"); return }
        (sent, replies) = settle(node, node.receive(frame: WireCodec.encode(Envelope(source: b, message: .mutationResponse(
            MutationResponse(id: m.id))))))
        #expect(replies == [.written])
        // The timeout hints c, over its budget: dropped, and the entry stays.
        clock.advance(by: .seconds(3))
        _ = settle(node, node.fire(.coordinator(.writeTimeout(request: 1))))
        #expect(node.hintStore.statistics.droppedOverBudget == 1 && node.statistics.journalEntriesKept == 1)
        #expect(try node.journal.entries().entries.count == 1)
        try node.close()
    }

    /// A removal applied before its entry (the entry's write waited on a
    /// sync while every replica answered) still shadows it.
    @Test func aRemovalBeforeItsEntryStillRemovesIt() throws {
        let engine = try StorageEngine(directory: "/j", fileSystem: { try? fs.createDirectory("/j"); return fs }(), clock: clock,
                                       options: { var o = EngineOptions(); o.background = .manual; o.syncMode = .batch; return o }())
        let journal = try WriteJournal(engine: engine, clock: clock)
        let entry = JournalEntry(id: 42 << 32 | 7, timestamp: 1_000, table: "ks.t", update: Self.update, replicas: [a, b])
        try journal.forget(id: entry.id, timestamp: entry.timestamp)
        try journal.record(entry)
        let other = JournalEntry(id: 42 << 32 | 8, timestamp: 1_001, table: "ks.t", update: Self.update, replicas: [c])
        try journal.record(other)
        #expect(try journal.entries().entries == [other])
        try engine.close()
    }
}
