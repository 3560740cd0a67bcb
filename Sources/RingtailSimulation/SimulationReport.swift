// The summary of a simulation run: operations, errors by kind, latency
// percentiles (virtual time), stale reads, hints, messages, the checkers'
// verdicts, and the trace hash and command that replay it.
import RingtailCore
import RingtailCluster
import RingtailNode

public struct SimulationReport: Sendable, CustomStringConvertible {
    public var scenario: SimulationScenario
    public var operations = 0
    public var writesAcknowledged = 0
    public var readsAnswered = 0
    public var errors: [String: Int] = [:]
    /// Percentiles (50, 95, 99, max) of successful request latency, virtual time.
    public var writeLatency: [Duration] = []
    public var readLatency: [Duration] = []
    /// Reads that returned something older than the newest write acknowledged
    /// before they started (allowed at weak levels; a violation at strong ones).
    public var staleReads = 0
    public var hintsStored = 0
    public var hintsDelivered = 0
    public var hintsDropped = 0
    public var writesExemptFromConvergence = 0
    public var replicaCopiesChecked = 0
    public var messages = 0
    public var messagesLost = 0
    public var virtualTime: Duration = .zero
    /// Tokens in the ring, and the largest over the smallest effective
    /// ownership of a node within one datacenter (1 is perfectly even).
    public var ringTokens = 0
    public var effectiveOwnershipSpread = 1.0
    public var traceHash: UInt64 = 0
    public var violations: [String] = []

    public var passed: Bool { violations.isEmpty }

    public var description: String {
        func ms(_ d: Duration) -> String { String(format3(d.secondsDouble * 1000)) + " ms" }
        func line(_ name: String, _ l: [Duration]) -> String {
            l.count == 4 ? "\(name) latency p50 \(ms(l[0])), p95 \(ms(l[1])), p99 \(ms(l[2])), max \(ms(l[3]))" : "\(name) latency: none"
        }
        var out = [
            "scenario: \(scenario.nodes) nodes, \(scenario.datacenters) dc, RF \(scenario.replicationFactor), "
                + "write \(scenario.writeLevel), read \(scenario.readLevel), \(scenario.faults) faults, seed \(scenario.seed)",
            "operations: \(operations) (\(writesAcknowledged) writes acknowledged, \(readsAnswered) reads answered)",
            "errors: " + (errors.isEmpty ? "none" : errors.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")),
            line("write", writeLatency),
            line("read", readLatency),
            "stale reads: \(staleReads)",
            "hints: \(hintsStored) stored, \(hintsDelivered) delivered, \(hintsDropped) dropped",
            "convergence: \(replicaCopiesChecked) replica copies checked, \(writesExemptFromConvergence) writes exempt (coordinator crashed mid-write, journal off)",
            "ring: \(ringTokens) tokens, effective ownership max/min \(format3(effectiveOwnershipSpread)) (within a datacenter)",
            "messages: \(messages) sent, \(messagesLost) lost; virtual time \(SimulationScenario.format(virtualTime))",
            "trace hash: \(String(traceHash, radix: 16))",
        ]
        if passed {
            out.append("checkers: all passed")
        } else {
            out.append("checkers: \(violations.count) violation(s)")
            out += violations.prefix(20).map { "  " + $0 }
            out.append("replay: \(scenario.replayCommand)")
        }
        return out.joined(separator: "\n")
    }
}

func format3(_ v: Double) -> String {
    let scaled = (v * 1000).rounded() / 1000
    return String(scaled)
}

extension Simulation {
    func report() -> SimulationReport {
        var r = SimulationReport(scenario: scenario)
        r.operations = operations.count
        var writes: [Duration] = [], reads: [Duration] = []
        for op in operations {
            switch op.outcome {
            case .written?:
                r.writesAcknowledged += 1
                if let end = op.end { writes.append(end - op.start) }
            case .read?:
                r.readsAnswered += 1
                if let end = op.end { reads.append(end - op.start) }
            case .failed(let e)?:
                r.errors[Self.errorKind(e), default: 0] += 1
            case nil:
                r.errors["unanswered", default: 0] += 1
            }
        }
        r.writeLatency = Self.percentiles(writes)
        r.readLatency = Self.percentiles(reads)
        r.staleReads = readCheck.stale
        let stats = cluster.retired.map(\.hints)
        // Live nodes were shut down at the end of the run and retired there too.
        r.hintsStored = stats.reduce(0) { $0 + $1.stored }
        r.hintsDelivered = stats.reduce(0) { $0 + $1.delivered }
        r.hintsDropped = convergence.hintsDropped
        r.writesExemptFromConvergence = convergence.exempt
        r.replicaCopiesChecked = convergence.checked
        r.messages = cluster.statistics.messagesSent
        r.messagesLost = cluster.statistics.messagesLost + cluster.statistics.messagesBlocked
        r.virtualTime = cluster.now - .zero
        r.ringTokens = cluster.ring.tokens.count
        let ownership = cluster.ring.ownership(strategy: scenario.strategy)
        var byDatacenter: [String: [Double]] = [:]
        for (node, o) in ownership { byDatacenter[datacenter(of: node), default: []].append(o.effective) }
        r.effectiveOwnershipSpread = byDatacenter.values.map { ($0.max() ?? 1) / max($0.min() ?? 1, 1e-12) }.max() ?? 1
        r.traceHash = cluster.traceHash
        r.violations = violations
        return r
    }

    static func errorKind(_ e: RequestError) -> String {
        switch e {
        case .unavailable: return "unavailable"
        case .timeout: return "timeout"
        case .failure: return "failure"
        case .invalidRequest: return "invalid"
        case .coordinatorLost: return "coordinator lost"
        }
    }

    static func percentiles(_ values: [Duration]) -> [Duration] {
        guard !values.isEmpty else { return [] }
        let s = values.sorted()
        func p(_ q: Double) -> Duration { s[min(s.count - 1, Int((q * Double(s.count)).rounded(.up)) - 1)] }
        return [p(0.5), p(0.95), p(0.99), s[s.count - 1]]
    }
}
