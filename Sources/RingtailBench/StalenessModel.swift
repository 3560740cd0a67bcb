// The probabilistic model of a partial quorum's staleness (Bailis et al.,
// "Probabilistically Bounded Staleness for Practical Partial Quorums", VLDB
// 2012: the WARS model), evaluated by Monte Carlo under the same message
// latency distribution the simulator draws from. The model check compares it
// with what the simulator measures (docs/consistency-study.md).
//
// The model mirrors how a Ringtail coordinator behaves when no node is down
// and speculative retry is off:
// - a write's coordinator is a node chosen uniformly; it sends the write to
//   all N replicas (to itself with no delay) and answers once W replicas
//   acknowledged (each acknowledgement: one delay there, one back) and its
//   write journal entry is durable (`journalDelay` after the write; the
//   simulator's group commit), or once every replica acknowledged, whichever
//   is first (docs/internals/hinted-handoff.md: the journal);
// - a read t after that answer goes to a coordinator chosen independently,
//   which asks R replicas, itself first if it is one (closest first), the
//   others in an order independent of this write's delays;
// - the read sees the write iff some asked replica had received the write
//   by the time the read request reached it (a digest mismatch is repaired
//   and the newest value returned).
// Every message delay is an independent draw from the latency model.
import RingtailCore
import RingtailSimulation

public struct StalenessModel: Sendable {
    public var nodes: Int
    public var replicationFactor: Int
    public var writeQuorum: Int
    public var readQuorum: Int
    public var latency: LatencyModel
    /// How long the coordinator's journal entry takes to become durable; nil: journal off.
    public var journalDelay: Duration?

    public init(nodes: Int, replicationFactor: Int, writeQuorum: Int, readQuorum: Int, latency: LatencyModel,
                journalDelay: Duration? = SimulatedCluster.journalDelay) {
        precondition(nodes >= replicationFactor && replicationFactor >= 1)
        precondition((1...replicationFactor).contains(writeQuorum) && (1...replicationFactor).contains(readQuorum))
        self.nodes = nodes
        self.replicationFactor = replicationFactor
        self.writeQuorum = writeQuorum
        self.readQuorum = readQuorum
        self.latency = latency
        self.journalDelay = journalDelay
    }

    /// P(a read `delay` after the write's acknowledgement sees it), from `trials` draws.
    public func probabilityConsistent(after delay: Duration, trials: Int, seed: UInt64) -> Double {
        precondition(trials > 0)
        var entropy = SeededEntropy(seed: seed)
        let n = replicationFactor
        var arrive = [Int64](repeating: 0, count: n)
        var ackAt = [Int64](repeating: 0, count: n)
        var order = [Int](repeating: 0, count: n)
        var fresh = 0
        let t = delay.nanosecondsClamped
        for _ in 0..<trials {
            // Replicas are nodes 0..<n; a coordinator index >= n is not a replica.
            let writer = entropy.next(below: nodes)
            for j in 0..<n {
                let there = j == writer ? 0 : latency.sample(&entropy).nanosecondsClamped
                let back = j == writer ? 0 : latency.sample(&entropy).nanosecondsClamped
                arrive[j] = there
                ackAt[j] = there + back
            }
            ackAt.sort()
            var committed = ackAt[writeQuorum - 1]
            if let journal = journalDelay?.nanosecondsClamped {
                committed = min(max(committed, journal), ackAt[n - 1])
            }
            let reader = entropy.next(below: nodes)
            // Closest first: the reader itself if it is a replica, then the rest shuffled.
            var count = 0
            if reader < n {
                order[0] = reader
                count = 1
            }
            for j in 0..<n where j != reader {
                order[count] = j
                count += 1
            }
            let start = reader < n ? 1 : 0
            for i in stride(from: n - 1, to: start, by: -1) {
                order.swapAt(i, start + entropy.next(below: i - start + 1))
            }
            var seen = false
            for i in 0..<readQuorum {
                let j = order[i]
                let requestArrives = committed + t + (j == reader ? 0 : latency.sample(&entropy).nanosecondsClamped)
                if arrive[j] <= requestArrives { seen = true }
            }
            if seen { fresh += 1 }
        }
        return Double(fresh) / Double(trials)
    }
}
