// Gossip state: SYN/ACK/ACK2 exchanges converge every node's view; a
// restarted node's new generation replaces its old state; stale generations
// and versions are ignored.
import RingtailCluster
import RingtailWire
import RingtailCore
import Testing

@Suite struct GossipStateTests {
    /// One full exchange: a sends SYN to b, b ACKs, a sends ACK2.
    func exchange(_ a: inout GossipState, _ b: inout GossipState) {
        let (requests, deltasForA) = b.examine(a.digests())
        a.apply(deltasForA)
        b.apply(a.deltas(for: requests))
    }

    /// Every node starts one exchange with a random other node.
    func randomRound(_ nodes: inout [GossipState], _ entropy: inout SeededEntropy) {
        for i in nodes.indices {
            var j = entropy.next(below: nodes.count - 1)
            if j >= i { j += 1 }
            var a = nodes[i], b = nodes[j]
            exchange(&a, &b)
            nodes[i] = a
            nodes[j] = b
        }
    }

    func view(_ g: GossipState) -> [String: String] {
        var out: [String: String] = [:]
        for (id, s) in g.endpoints {
            out[id.name] = "\(s.heartbeat) " + s.application.keys.sorted().map { "\($0)=\(s.application[$0]!.value)" }.joined(separator: ",")
        }
        return out
    }

    @Test(arguments: 1...20)
    func randomExchangesConverge(seed: UInt64) {
        var entropy = SeededEntropy(seed: seed)
        var nodes = (0..<6).map { i -> GossipState in
            var g = GossipState(local: NodeID("n\(i)"), generation: 100 + Int64(i))
            g.set("dc", i < 3 ? "dc1" : "dc2")
            g.set("rack", "r\(i % 3)")
            g.set("status", "NORMAL")
            return g
        }
        // Everyone knows n0 (the seed) to start with.
        for i in 1..<nodes.count {
            var a = nodes[i], seedNode = nodes[0]
            exchange(&a, &seedNode)
            nodes[i] = a
            nodes[0] = seedNode
        }
        for round in 0..<40 {
            for i in nodes.indices { nodes[i].beat() }
            if round == 10 { nodes[2].set("status", "LEAVING") }
            randomRound(&nodes, &entropy)
        }
        // Stop beating and let the views settle.
        for _ in 0..<10 {
            randomRound(&nodes, &entropy)
        }
        let reference = view(nodes[0])
        #expect(reference.count == 6, "seed \(seed)")
        for g in nodes { #expect(view(g) == reference, "seed \(seed)") }
        #expect(nodes[5].endpoints[NodeID("n2")]?.application["status"]?.value == "LEAVING")
    }

    @Test func aRestartedNodesNewGenerationWins() {
        var a = GossipState(local: NodeID("a"), generation: 1)
        var b = GossipState(local: NodeID("b"), generation: 1)
        b.set("status", "NORMAL")
        for _ in 0..<5 { b.beat() }
        exchange(&a, &b)
        #expect(a.endpoints[NodeID("b")]?.heartbeat == HeartbeatState(generation: 1, version: 6))
        // b restarts: new generation, versions start over.
        var b2 = GossipState(local: NodeID("b"), generation: 2)
        b2.set("status", "BOOT")
        exchange(&a, &b2)
        #expect(a.endpoints[NodeID("b")]?.heartbeat.generation == 2)
        #expect(a.endpoints[NodeID("b")]?.application["status"]?.value == "BOOT")
        // The old generation's state is ignored if it arrives late.
        var stale = [NodeID("b"): EndpointState(heartbeat: HeartbeatState(generation: 1, version: 99),
                                                application: ["status": VersionedValue("NORMAL", version: 99)])]
        #expect(a.apply(stale).isEmpty)
        stale[NodeID("a")] = EndpointState(heartbeat: HeartbeatState(generation: 9, version: 9))
        #expect(a.apply(stale).isEmpty) // nobody overwrites a node's own state
        #expect(a.endpoints[NodeID("a")]?.heartbeat.generation == 1)
    }
}
