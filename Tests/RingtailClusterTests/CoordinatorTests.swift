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
}
