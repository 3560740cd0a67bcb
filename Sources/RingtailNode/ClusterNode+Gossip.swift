// Gossip rounds and failure detection: every gossip interval a node beats
// its heartbeat and sends a SYN to one random live peer, and, with the
// chance Cassandra uses (down / (live + 1)), to one peer held down, so a
// returning node is noticed. A peer's heartbeat advancing in a received
// state is a heartbeat arrival for the phi-accrual detector.
import RingtailCore
import RingtailWire
import RingtailCluster

extension ClusterNode {
    func gossipRound() -> [NodeEffect] {
        gossip.beat()
        let now = clock.now()
        let peers = ring.nodes.filter { $0 != id }
        guard !peers.isEmpty else { return [] }
        let live = peers.filter { detector.isAlive($0, at: now) }
        let down = peers.filter { !detector.isAlive($0, at: now) }
        let syn = WireCodec.encode(Envelope(source: id, message: .gossipSyn(GossipSyn(
            clusterName: configuration.clusterName, digests: gossip.digests()))))
        var effects: [NodeEffect] = []
        if !live.isEmpty {
            effects.append(.send(to: live[entropy.next(below: live.count)], frame: syn))
        }
        if !down.isEmpty && entropy.next(below: live.count + 1) < down.count {
            effects.append(.send(to: down[entropy.next(below: down.count)], frame: syn))
        }
        return effects
    }

    func receiveSyn(_ syn: GossipSyn, from source: NodeID) -> [NodeEffect] {
        guard syn.clusterName == configuration.clusterName else {
            statistics.framesRejected += 1
            statistics.lastRejection = "gossip from \(source) of cluster \"\(syn.clusterName)\", this is \"\(configuration.clusterName)\""
            return []
        }
        let (requests, deltas) = gossip.examine(syn.digests)
        return [send(.gossipAck(GossipAck(requests: requests, states: deltas)), to: source)]
    }

    func receiveAck(_ ack: GossipAck, from source: NodeID) -> [NodeEffect] {
        merge(ack.states)
        let reply = gossip.deltas(for: ack.requests)
        return [send(.gossipAck2(GossipAck2(states: reply)), to: source)]
    }

    /// Merges received states and feeds heartbeat arrivals to the detector.
    func merge(_ states: [NodeID: EndpointState]) {
        let before = snapshotHeartbeats(states.keys)
        noteGossip(gossip.apply(states), before: before)
    }

    func snapshotHeartbeats(_ nodes: some Collection<NodeID>) -> [NodeID: HeartbeatState] {
        var out: [NodeID: HeartbeatState] = [:]
        for n in nodes { out[n] = gossip.endpoints[n]?.heartbeat }
        return out
    }

    /// Feeds heartbeat arrivals to the failure detector for nodes whose
    /// heartbeat moved forward in the last merge.
    func noteGossip(_ changed: [NodeID], before: [NodeID: HeartbeatState]) {
        let now = clock.now()
        for node in changed where node != id {
            guard let after = gossip.endpoints[node]?.heartbeat else { continue }
            if before[node].map({ after > $0 }) ?? true {
                detector.heartbeat(from: node, at: now)
            }
        }
    }
}
