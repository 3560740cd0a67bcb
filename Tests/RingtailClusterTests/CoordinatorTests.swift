import RingtailCore
import RingtailStorage
import RingtailWire
import RingtailCluster
import Testing

/// The coordinator state machine on its own: inputs in, effects out.
@Suite struct CoordinatorTests {
    static let n1 = NodeID("n1"), n2 = NodeID("n2"), n3 = NodeID("n3")
    static let context = ReplicaContext(replicas: [n1, n2, n3], alive: [n1, n2, n3],
                                        datacenters: [n1: "dc1", n2: "dc1", n3: "dc1"],
                                        strategy: .simple(replicationFactor: 3), localDatacenter: "dc1")

    static func sends(_ effects: [CoordinatorEffect]) -> [(NodeID, Message)] {
        effects.compactMap { if case .send(let n, let m) = $0 { return (n, m) } else { return nil } }
    }

    static func version(_ value: String, ts: Int64) -> PartitionUpdate {
        PartitionUpdate(key: [1], rows: [Row(clustering: [], cells: [.live("v", Array(value.utf8), timestamp: ts)])])
    }

    /// Found in review: a speculative digest that arrived after a digest
    /// mismatch had moved the read to its data phase was kept as a digest,
    /// and the read waited for data that was never asked for until it timed out.
    @Test func speculativeDigestArrivingAfterAMismatchIsAskedForData() throws {
        var c = Coordinator(local: Self.n1)
        var now = Instant.zero
        let wall: Int64 = 1_000_000
        var effects = c.handle(.read(request: 1, ReadCommand(table: "ks.t", key: [1], level: .quorum), Self.context),
                               now: now, wallMicros: wall)
        let first = Self.sends(effects)
        #expect(first.count == 2)
        guard case .readRequest(let dataRequest) = first[0].1, case .readRequest(let digestRequest) = first[1].1 else {
            Issue.record("expected two read requests"); return
        }
        #expect(!dataRequest.digestOnly && digestRequest.digestOnly)
        // The speculative timer fires: a digest request goes to the third replica.
        now = now + .milliseconds(3000)
        effects = c.handle(.timer(.speculativeRetry(request: 1)), now: now, wallMicros: wall)
        guard case .readRequest(let spec)? = Self.sends(effects).first?.1 else { Issue.record("no speculation"); return }
        let third = Self.sends(effects)[0].0
        // Data (new) and a mismatching digest (old) arrive: mismatch, full data requested.
        let new = Self.version("new", ts: 20), old = Self.version("old", ts: 10)
        _ = c.handle(.readResponse(from: first[0].0, ReadResponse(id: dataRequest.id, payload: .data(new.encoded()))),
                     now: now, wallMicros: wall)
        effects = c.handle(.readResponse(from: first[1].0, ReadResponse(id: digestRequest.id, payload: .digest(old.digest))),
                           now: now, wallMicros: wall)
        guard case .readRequest(let fullRequest)? = Self.sends(effects).first?.1 else { Issue.record("no data request"); return }
        // The speculative digest arrives late: the coordinator must ask that replica for data too.
        effects = c.handle(.readResponse(from: third, ReadResponse(id: spec.id, payload: .digest(new.digest))),
                           now: now, wallMicros: wall)
        guard case .readRequest(let thirdData)? = Self.sends(effects).first?.1, !thirdData.digestOnly else {
            Issue.record("the late digest was not followed by a data request"); return
        }
        // The stale replica's data completes a quorum of data: resolved, and
        // the stale replica is repaired; the third answer is no longer needed.
        effects = c.handle(.readResponse(from: first[1].0, ReadResponse(id: fullRequest.id, payload: .data(old.encoded()))),
                           now: now, wallMicros: wall)
        let repairs = Self.sends(effects)
        #expect(repairs.count == 1 && repairs.first?.0 == first[1].0)
        #expect(c.handle(.readResponse(from: third, ReadResponse(id: thirdData.id, payload: .data(new.encoded()))),
                         now: now, wallMicros: wall).isEmpty)
        guard case .mutation(let repair)? = repairs.first?.1 else { Issue.record("expected a repair"); return }
        effects = c.handle(.mutationResponse(from: first[1].0, MutationResponse(id: repair.id)), now: now, wallMicros: wall)
        guard case .reply(1, .rows(let rows))? = effects.last else { Issue.record("no reply: \(effects)"); return }
        #expect(rows.first?.cells.first?.value == Array("new".utf8))
        #expect(c.inFlight == 0)
    }

    /// EACH_QUORUM counts at most a quorum per datacenter toward `received`,
    /// so a timeout never reports as many answers as required.
    @Test func eachQuorumTimeoutCountsPerDatacenter() {
        let a1 = NodeID("a1"), a2 = NodeID("a2"), a3 = NodeID("a3"), b1 = NodeID("b1"), b2 = NodeID("b2"), b3 = NodeID("b3")
        let context = ReplicaContext(replicas: [a1, a2, a3, b1, b2, b3], alive: [a1, a2, a3, b1, b2, b3],
                                     datacenters: [a1: "a", a2: "a", a3: "a", b1: "b", b2: "b", b3: "b"],
                                     strategy: .networkTopology(["a": 3, "b": 3]), localDatacenter: "a")
        var c = Coordinator(local: a1)
        let effects = c.handle(.write(request: 7, WriteCommand(table: "ks.t", update: Self.version("x", ts: 1), level: .eachQuorum),
                                      context), now: .zero, wallMicros: 1)
        guard case .mutation(let m)? = Self.sends(effects).first?.1 else { Issue.record("no mutation"); return }
        for n in [a1, a2, a3, b1] { _ = c.handle(.mutationResponse(from: n, MutationResponse(id: m.id)), now: .zero, wallMicros: 1) }
        let timeout = c.handle(.timer(.writeTimeout(request: 7)), now: Instant.zero + .seconds(2), wallMicros: 1)
        #expect(timeout.contains(.reply(request: 7, .failed(.timeout(level: .eachQuorum, received: 3, required: 4, isWrite: true)))))
        // Hints for the two replicas that never answered, never for this node.
        #expect(timeout.filter { if case .storeHint = $0 { return true } else { return false } }.count == 2)
    }

    /// Unavailable is decided in the same call, before anything is sent,
    /// stored or timed.
    @Test func unavailableIsAnsweredAtOnceWithNothingSent() {
        var c = Coordinator(local: Self.n1)
        var context = Self.context
        context.alive = [Self.n1]
        let w = c.handle(.write(request: 1, WriteCommand(table: "ks.t", update: Self.version("x", ts: 1), level: .quorum), context),
                         now: .zero, wallMicros: 1)
        #expect(w == [.reply(request: 1, .failed(.unavailable(level: .quorum, required: 2, alive: 1)))])
        let r = c.handle(.read(request: 2, ReadCommand(table: "ks.t", key: [1], level: .all), context), now: .zero, wallMicros: 1)
        #expect(r == [.reply(request: 2, .failed(.unavailable(level: .all, required: 3, alive: 1)))])
        #expect(c.inFlight == 0)
    }

    /// Error answers that make the level impossible give Failure at once
    /// (no wait for the timeout); replicas that answered with an error are
    /// hinted once every replica has answered, never the coordinator itself.
    @Test func errorAnswersGiveFailureAndHints() {
        var c = Coordinator(local: Self.n1)
        let effects = c.handle(.write(request: 1, WriteCommand(table: "ks.t", update: Self.version("x", ts: 1), level: .quorum),
                                      Self.context), now: .zero, wallMicros: 1)
        guard case .mutation(let m)? = Self.sends(effects).first?.1 else { Issue.record("no mutation"); return }
        #expect(c.handle(.mutationResponse(from: Self.n2, MutationResponse(id: m.id, failure: "disk full")),
                         now: .zero, wallMicros: 1).isEmpty)
        let second = c.handle(.mutationResponse(from: Self.n3, MutationResponse(id: m.id, failure: "disk full")),
                              now: .zero, wallMicros: 1)
        #expect(second == [.reply(request: 1, .failed(.failure(level: .quorum, received: 0, failures: 2, required: 2,
                                                                 isWrite: true, reason: "disk full")))])
        let last = c.handle(.mutationResponse(from: Self.n1, MutationResponse(id: m.id)), now: .zero, wallMicros: 1)
        let hinted = last.compactMap { if case .storeHint(let target, _, _) = $0 { return target } else { return nil } }
        #expect(hinted.sorted() == [Self.n2, Self.n3])
        #expect(c.inFlight == 0)

        // A read whose every replica fails, with no spare left: a read Failure.
        var context = Self.context
        context.replicas = [Self.n1, Self.n2]
        context.alive = [Self.n1, Self.n2]
        context.strategy = .simple(replicationFactor: 2)
        var r = Coordinator(local: Self.n1)
        let sent = Self.sends(r.handle(.read(request: 2, ReadCommand(table: "ks.t", key: [1], level: .one), context),
                                       now: .zero, wallMicros: 1))
        guard case .readRequest(let first)? = sent.first?.1 else { Issue.record("no read"); return }
        let retry = Self.sends(r.handle(.readResponse(from: sent[0].0, ReadResponse(id: first.id, payload: .failed("bad block"))),
                                        now: .zero, wallMicros: 1))
        guard case .readRequest(let second)? = retry.first?.1, !second.digestOnly else { Issue.record("no retry: \(retry)"); return }
        let answer = r.handle(.readResponse(from: retry[0].0, ReadResponse(id: second.id, payload: .failed("bad block"))),
                              now: .zero, wallMicros: 1)
        #expect(answer == [.reply(request: 2, .failed(.failure(level: .one, received: 0, failures: 2, required: 1,
                                                                isWrite: false, reason: "bad block")))])
    }

    /// A read repair that is never acknowledged ends the read with a Timeout
    /// and leaves no hint: repairs are not hinted (the next read repairs again).
    @Test func unacknowledgedReadRepairTimesOutWithoutHints() {
        var c = Coordinator(local: Self.n1)
        var options = Coordinator.Options()
        options.speculativeRetryPercentile = nil
        c = Coordinator(local: Self.n1, options: options)
        let sent = Self.sends(c.handle(.read(request: 1, ReadCommand(table: "ks.t", key: [1], level: .quorum), Self.context),
                                       now: .zero, wallMicros: 1))
        guard case .readRequest(let data) = sent[0].1, case .readRequest(let digest) = sent[1].1 else { Issue.record("no reads"); return }
        let new = Self.version("new", ts: 20), old = Self.version("old", ts: 10)
        _ = c.handle(.readResponse(from: sent[0].0, ReadResponse(id: data.id, payload: .data(new.encoded()))), now: .zero, wallMicros: 1)
        let full = Self.sends(c.handle(.readResponse(from: sent[1].0, ReadResponse(id: digest.id, payload: .digest(old.digest))),
                                       now: .zero, wallMicros: 1))
        guard case .readRequest(let fullRequest)? = full.first?.1 else { Issue.record("no data request"); return }
        let repair = Self.sends(c.handle(.readResponse(from: sent[1].0, ReadResponse(id: fullRequest.id, payload: .data(old.encoded()))),
                                         now: .zero, wallMicros: 1))
        guard case .mutation? = repair.first?.1 else { Issue.record("no repair"); return }
        let end = c.handle(.timer(.readTimeout(request: 1)), now: Instant.zero + .seconds(5), wallMicros: 1)
        #expect(end == [.reply(request: 1, .failed(.timeout(level: .quorum, received: 1, required: 2, isWrite: false)))])
        #expect(c.inFlight == 0)
    }
}

/// The write journal as the coordinator uses it: "written" waits for the
/// entry to be durable unless every replica already answered or was hinted,
/// and the entry is forgotten exactly once when the write finishes.
@Suite struct CoordinatorJournalTests {
    static let n1 = CoordinatorTests.n1, n2 = CoordinatorTests.n2, n3 = CoordinatorTests.n3

    func start(_ c: inout Coordinator, level: ConsistencyLevel = .quorum) -> (mutation: MutationMessage, entry: JournalEntry)? {
        let effects = c.handle(.write(request: 1, WriteCommand(table: "ks.t", update: CoordinatorTests.version("x", ts: 1), level: level),
                                      CoordinatorTests.context), now: .zero, wallMicros: 77)
        guard case .mutation(let m)? = CoordinatorTests.sends(effects).first?.1,
              case .journal(let entry)? = effects.first(where: { if case .journal = $0 { return true } else { return false } })
        else { return nil }
        return (m, entry)
    }

    func forgets(_ effects: [CoordinatorEffect]) -> [UInt64] {
        effects.compactMap { if case .forgetJournal(let id, _) = $0 { return id } else { return nil } }
    }

    @Test func writtenWaitsForTheJournalEntry() throws {
        var c = Coordinator(local: Self.n1)
        let (m, entry) = try #require(start(&c))
        #expect(entry.id == m.id && entry.timestamp == 77 && entry.replicas == [Self.n1, Self.n2, Self.n3])
        // A quorum acknowledges before the entry is durable: no answer yet.
        #expect(c.handle(.mutationResponse(from: Self.n1, MutationResponse(id: m.id)), now: .zero, wallMicros: 1).isEmpty)
        #expect(c.handle(.mutationResponse(from: Self.n2, MutationResponse(id: m.id)), now: .zero, wallMicros: 1).isEmpty)
        #expect(c.handle(.journaled(id: entry.id, stored: true), now: .zero, wallMicros: 1) == [.reply(request: 1, .written)])
        // The last replica finishes the write: the entry goes, once.
        let last = c.handle(.mutationResponse(from: Self.n3, MutationResponse(id: m.id)), now: .zero, wallMicros: 1)
        #expect(last == [.forgetJournal(id: entry.id, timestamp: 77)])
        #expect(c.inFlight == 0)
        // The journal's late answer for a finished write changes nothing.
        #expect(c.handle(.journaled(id: entry.id, stored: true), now: .zero, wallMicros: 1).isEmpty)
    }

    @Test func everyReplicaAnsweringMakesTheJournalMoot() throws {
        var c = Coordinator(local: Self.n1)
        let (m, entry) = try #require(start(&c))
        _ = c.handle(.mutationResponse(from: Self.n1, MutationResponse(id: m.id)), now: .zero, wallMicros: 1)
        _ = c.handle(.mutationResponse(from: Self.n2, MutationResponse(id: m.id)), now: .zero, wallMicros: 1)
        let last = c.handle(.mutationResponse(from: Self.n3, MutationResponse(id: m.id)), now: .zero, wallMicros: 1)
        #expect(last == [.reply(request: 1, .written), .forgetJournal(id: entry.id, timestamp: 77)])
    }

    /// An entry that could not be stored: "written" comes at the timeout,
    /// after the silent replica is hinted (the hint is what covers it then).
    @Test func aFailedEntryAnswersAfterTheHints() throws {
        var c = Coordinator(local: Self.n1)
        let (m, entry) = try #require(start(&c))
        _ = c.handle(.mutationResponse(from: Self.n1, MutationResponse(id: m.id)), now: .zero, wallMicros: 1)
        _ = c.handle(.mutationResponse(from: Self.n2, MutationResponse(id: m.id)), now: .zero, wallMicros: 1)
        #expect(c.handle(.journaled(id: entry.id, stored: false), now: .zero, wallMicros: 1).isEmpty)
        let timeout = c.handle(.timer(.writeTimeout(request: 1)), now: Instant.zero + .seconds(2), wallMicros: 1)
        #expect(timeout == [.storeHint(target: Self.n3, table: "ks.t", update: CoordinatorTests.version("x", ts: 1)),
                            .reply(request: 1, .written), .forgetJournal(id: entry.id, timestamp: 77)])
    }

    /// Found in review: ANY met by a hint (a replica down) answered before
    /// the entry covering the replicas it was sent to was durable.
    @Test func anyMetByAHintStillWaitsForTheJournal() throws {
        var c = Coordinator(local: Self.n1)
        var context = CoordinatorTests.context
        context.alive = [Self.n1, Self.n2]
        let effects = c.handle(.write(request: 1, WriteCommand(table: "ks.t", update: CoordinatorTests.version("x", ts: 1), level: .any),
                                      context), now: .zero, wallMicros: 77)
        #expect(effects.contains(.storeHint(target: Self.n3, table: "ks.t", update: CoordinatorTests.version("x", ts: 1))))
        #expect(!effects.contains { if case .reply = $0 { return true } else { return false } })
        guard case .journal(let entry)? = effects.first(where: { if case .journal = $0 { return true } else { return false } }) else {
            Issue.record("no journal entry"); return
        }
        #expect(entry.replicas == [Self.n1, Self.n2])
        #expect(c.handle(.journaled(id: entry.id, stored: true), now: .zero, wallMicros: 1) == [.reply(request: 1, .written)])
    }

    /// Found in review: this node's own replica is never hinted, so when its
    /// copy has not been written by the timeout the entry must stay (the next
    /// start applies it here).
    @Test func theEntryStaysWhileTheLocalCopyIsMissing() throws {
        var c = Coordinator(local: Self.n1)
        let (m, entry) = try #require(start(&c))
        _ = c.handle(.journaled(id: entry.id, stored: true), now: .zero, wallMicros: 1)
        _ = c.handle(.mutationResponse(from: Self.n2, MutationResponse(id: m.id)), now: .zero, wallMicros: 1)
        #expect(c.handle(.mutationResponse(from: Self.n3, MutationResponse(id: m.id)), now: .zero, wallMicros: 1)
                == [.reply(request: 1, .written)])
        let timeout = c.handle(.timer(.writeTimeout(request: 1)), now: Instant.zero + .seconds(2), wallMicros: 1)
        #expect(timeout.isEmpty && c.inFlight == 0)
    }

    @Test func journalingOffAnswersAtTheLevel() throws {
        var options = Coordinator.Options()
        options.journal = false
        var c = Coordinator(local: Self.n1, options: options)
        let effects = c.handle(.write(request: 1, WriteCommand(table: "ks.t", update: CoordinatorTests.version("x", ts: 1), level: .one),
                                      CoordinatorTests.context), now: .zero, wallMicros: 77)
        #expect(!effects.contains { if case .journal = $0 { return true } else { return false } })
        guard case .mutation(let m)? = CoordinatorTests.sends(effects).first?.1 else { Issue.record("no mutation"); return }
        #expect(c.handle(.mutationResponse(from: Self.n2, MutationResponse(id: m.id)), now: .zero, wallMicros: 1)
                == [.reply(request: 1, .written)])
        #expect(forgets(c.handle(.timer(.writeTimeout(request: 1)), now: Instant.zero + .seconds(2), wallMicros: 1)).isEmpty)
    }
}
