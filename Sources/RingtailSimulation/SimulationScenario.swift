// A simulation scenario: the cluster's shape, the workload, the network and
// the faults, and the seed that fixes every random choice. It prints as the
// `ringtail simulate` command that replays it, and parses back from its
// options, so a failing run can always be replayed.
import RingtailCore
import RingtailCluster

public struct SimulationScenario: Hashable, Sendable {
    public var nodes = 5
    public var datacenters = 1
    public var racksPerDatacenter = 3
    /// Replicas per datacenter (SimpleStrategy with one datacenter,
    /// NetworkTopologyStrategy with this factor in each when there are more).
    public var replicationFactor = 3
    public var writeLevel = ConsistencyLevel.quorum
    public var readLevel = ConsistencyLevel.quorum
    /// One-way delay between nodes of one datacenter, and between datacenters.
    public var latency = LatencyModel.logNormal(median: .microseconds(200), sigma: 0.3)
    public var wanLatency = LatencyModel.logNormal(median: .milliseconds(40), sigma: 0.2)
    /// Chance that any one message is lost.
    public var lossRate = 0.0
    /// Fault events (crash then restart, symmetric or one-way network partition then heal).
    public var faults = 3
    /// Virtual time during which clients send requests.
    public var duration: Duration = .seconds(20)
    /// Client requests per virtual second, open loop (arrivals do not wait for answers).
    public var rate = 100
    /// Distinct partitions the workload touches.
    public var keys = 50
    public var readFraction = 0.5
    /// Share of writes that are deletes.
    public var deleteFraction = 0.1
    /// Each node's wall clock is off by up to this, either way.
    public var clockSkewMax: Duration = .zero
    public var hintWindow: Duration = .seconds(3 * 3600)
    public var seed: UInt64 = 1

    public init() {}

    public var strategy: ReplicationStrategy { .uniform(replicationFactor: replicationFactor, datacenters: datacenters) }

    /// The command line that replays this scenario exactly.
    public var replayCommand: String {
        var parts = ["ringtail simulate"]
        let d = SimulationScenario()
        func add(_ flag: String, _ value: String, _ isDefault: Bool) { if !isDefault { parts.append("--\(flag) \(value)") } }
        add("nodes", "\(nodes)", nodes == d.nodes)
        add("datacenters", "\(datacenters)", datacenters == d.datacenters)
        add("racks", "\(racksPerDatacenter)", racksPerDatacenter == d.racksPerDatacenter)
        add("rf", "\(replicationFactor)", replicationFactor == d.replicationFactor)
        add("write", writeLevel.description, writeLevel == d.writeLevel)
        add("read", readLevel.description, readLevel == d.readLevel)
        add("latency", latency.description, latency == d.latency)
        add("wan-latency", wanLatency.description, wanLatency == d.wanLatency)
        add("loss", "\(lossRate)", lossRate == d.lossRate)
        add("faults", "\(faults)", faults == d.faults)
        add("duration", Self.format(duration), duration == d.duration)
        add("rate", "\(rate)", rate == d.rate)
        add("keys", "\(keys)", keys == d.keys)
        add("read-fraction", "\(readFraction)", readFraction == d.readFraction)
        add("delete-fraction", "\(deleteFraction)", deleteFraction == d.deleteFraction)
        add("skew", Self.format(clockSkewMax), clockSkewMax == d.clockSkewMax)
        add("hint-window", Self.format(hintWindow), hintWindow == d.hintWindow)
        parts.append("--seed \(seed)")
        return parts.joined(separator: " ")
    }

    // MARK: Text forms of durations and latency models

    /// "250us", "3ms", "2s", "1.5s"…
    public static func format(_ d: Duration) -> String {
        let ns = d.nanosecondsClamped
        if ns > 0 && ns % 3_600_000_000_000 == 0 { return "\(ns / 3_600_000_000_000)h" }
        if ns > 0 && ns % 60_000_000_000 == 0 { return "\(ns / 60_000_000_000)m" }
        if ns % 1_000_000_000 == 0 { return "\(ns / 1_000_000_000)s" }
        if ns % 1_000_000 == 0 { return "\(ns / 1_000_000)ms" }
        if ns % 1000 == 0 { return "\(ns / 1000)us" }
        return "\(ns)ns"
    }

    public static func parseDuration(_ text: String) -> Duration? {
        let units: [(String, Double)] = [("ns", 1), ("us", 1e3), ("ms", 1e6), ("s", 1e9), ("m", 60e9), ("h", 3600e9)]
        for (suffix, scale) in units where text.hasSuffix(suffix) {
            // "ms" also ends in "s": take the longest matching unit.
            if suffix == "s" && (text.hasSuffix("ms") || text.hasSuffix("us") || text.hasSuffix("ns")) { continue }
            if suffix == "m" && text.hasSuffix("ms") { continue }
            guard let v = Double(text.dropLast(suffix.count)), v >= 0, v * scale < 9e18 else { return nil }
            return .nanoseconds(Int64(v * scale))
        }
        return nil
    }

    /// Checks the scenario makes sense; the message says what to change.
    public func validate() throws(RequestError) {
        func fail(_ m: String) -> RequestError { .invalidRequest(m) }
        guard (1...1000).contains(nodes) else { throw fail("--nodes must be 1...1000") }
        guard (1...nodes).contains(datacenters) else { throw fail("--datacenters must be 1...nodes") }
        guard (1...100).contains(racksPerDatacenter) else { throw fail("--racks must be 1...100") }
        guard (1...nodes / datacenters).contains(replicationFactor) else {
            throw fail("--rf must be 1...\(nodes / datacenters) (nodes per datacenter)")
        }
        guard readLevel != .any else { throw fail("--read ANY is not a read level") }
        guard datacenters > 1 || (writeLevel != .eachQuorum && readLevel != .eachQuorum) else {
            throw fail("EACH_QUORUM needs more than one datacenter")
        }
        guard (0...1).contains(lossRate), (0...1).contains(readFraction), (0...1).contains(deleteFraction) else {
            throw fail("--loss, --read-fraction and --delete-fraction are between 0 and 1")
        }
        guard (0...10_000).contains(faults) else { throw fail("--faults must be 0...10000") }
        guard duration > .zero, duration <= .seconds(86_400) else { throw fail("--duration must be within 1 day") }
        guard (1...10_000_000).contains(rate) else { throw fail("--rate must be 1...10000000") }
        guard (1...10_000_000).contains(keys) else { throw fail("--keys must be 1...10000000") }
        guard hintWindow >= .seconds(1) else { throw fail("--hint-window must be at least 1s") }
    }
}

extension SimulationScenario {
    /// A random small scenario for seed sweeps: 3–6 nodes in one or two
    /// datacenters, a level pair, a latency model, loss, skew and 0–8 faults,
    /// all drawn from `seed` (its replay command spells every choice out).
    public static func randomized(seed: UInt64, duration: Duration = .seconds(5), rate: Int = 40) -> SimulationScenario {
        var e = SeededEntropy(seed: seed ^ 0x5343_454E_4152_494F)
        var s = SimulationScenario()
        s.seed = seed
        s.duration = duration
        s.rate = rate
        s.datacenters = e.chance(0.25) ? 2 : 1
        s.nodes = s.datacenters == 2 ? 4 + 2 * e.next(below: 2) : 3 + e.next(below: 4)
        s.replicationFactor = s.datacenters == 2 ? (s.nodes == 6 && e.chance(0.5) ? 3 : 2) : min(s.nodes, 3)
        s.keys = 5 + e.next(below: 30)
        let levels: [(ConsistencyLevel, ConsistencyLevel)] = s.datacenters == 2
            ? [(.localQuorum, .localQuorum), (.eachQuorum, .localOne), (.quorum, .quorum), (.one, .all), (.any, .one)]
            : [(.quorum, .quorum), (.one, .all), (.all, .one), (.one, .one), (.any, .one), (.two, .two)]
        (s.writeLevel, s.readLevel) = levels[e.next(below: levels.count)]
        let latencies: [LatencyModel] = [.constant(.microseconds(300)), .uniform(lower: .microseconds(100), upper: .milliseconds(3)),
                                         .exponential(mean: .milliseconds(1)), .logNormal(median: .microseconds(200), sigma: 0.5),
                                         .pareto(scale: .microseconds(200), shape: 1.3)]
        s.latency = latencies[e.next(below: latencies.count)]
        s.lossRate = [0, 0, 0.01, 0.05][e.next(below: 4)]
        s.clockSkewMax = [.zero, .zero, .milliseconds(5), .milliseconds(100)][e.next(below: 4)]
        s.faults = e.next(below: 9)
        s.hintWindow = e.chance(0.1) ? .seconds(3) : .seconds(3 * 3600)
        s.readFraction = 0.3 + Double(e.next(below: 5)) / 10
        return s
    }
}
