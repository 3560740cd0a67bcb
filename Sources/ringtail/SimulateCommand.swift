// `ringtail simulate`: one seeded whole-cluster run in the simulator (or a
// sweep of seeds), printing a summary; a failing run prints the command
// that replays it and exits 1.
import ArgumentParser
import Foundation
import RingtailCluster
import RingtailSimulation

/// Every default comes from `SimulationScenario()`: a replay command leaves
/// out the options equal to those, so the two must never differ.
private let defaults = SimulationScenario()

struct SimulateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Run a seeded whole-cluster simulation with faults and check its guarantees.",
        discussion: """
            Latency models: constant:1ms, uniform:1ms:3ms, exponential:2ms, lognormal:200us:0.3, pareto:1ms:1.5.
            Durations: 500us, 20ms, 30s, 5m, 3h. Levels: ANY, ONE, TWO, THREE, QUORUM, LOCAL_ONE,
            LOCAL_QUORUM, EACH_QUORUM, ALL. See docs/internals/simulator.md.
            """)

    @Option(help: "Nodes in the cluster.") var nodes = defaults.nodes
    @Option(help: "Datacenters (nodes are dealt to them in turn).") var datacenters = defaults.datacenters
    @Option(help: "Racks per datacenter.") var racks = defaults.racksPerDatacenter
    @Option(help: "Replicas per datacenter.") var rf = defaults.replicationFactor
    @Option(help: "Write consistency level.") var write = defaults.writeLevel.description
    @Option(help: "Read consistency level.") var read = defaults.readLevel.description
    @Option(help: "One-way latency inside a datacenter.") var latency = defaults.latency.description
    @Option(name: .customLong("wan-latency"), help: "One-way latency between datacenters.") var wanLatency = defaults.wanLatency.description
    @Option(help: "Chance that a message is lost (0-1).") var loss = defaults.lossRate
    @Option(help: "Fault events: crash/restart, network partitions.") var faults = defaults.faults
    @Option(help: "Virtual time of client load.") var duration = SimulationScenario.format(defaults.duration)
    @Option(help: "Client requests per virtual second (open loop).") var rate = defaults.rate
    @Option(help: "Distinct partitions.") var keys = defaults.keys
    @Option(name: .customLong("read-fraction"), help: "Share of requests that are reads.") var readFraction = defaults.readFraction
    @Option(name: .customLong("delete-fraction"), help: "Share of writes that are deletes.") var deleteFraction = defaults.deleteFraction
    @Option(help: "Largest wall-clock skew of a node, either way.") var skew = SimulationScenario.format(defaults.clockSkewMax)
    @Option(name: .customLong("hint-window"), help: "Hint window.") var hintWindow = SimulationScenario.format(defaults.hintWindow)
    @Option(help: "Seed of the run (the first seed with --runs).") var seed: UInt64 = defaults.seed
    @Option(help: "Run this many consecutive seeds and print one line each.") var runs = 1

    func scenario(seed: UInt64) throws -> SimulationScenario {
        var s = SimulationScenario()
        s.nodes = nodes
        s.datacenters = datacenters
        s.racksPerDatacenter = racks
        s.replicationFactor = rf
        s.writeLevel = try parseLevel(write, option: "--write")
        s.readLevel = try parseLevel(read, option: "--read")
        s.latency = try parseLatencyModel(latency, option: "--latency")
        s.wanLatency = try parseLatencyModel(wanLatency, option: "--wan-latency")
        s.lossRate = loss
        s.faults = faults
        guard let d = SimulationScenario.parseDuration(duration), let k = SimulationScenario.parseDuration(skew),
              let h = SimulationScenario.parseDuration(hintWindow) else {
            throw ValidationError("bad duration: use e.g. 500us, 20ms, 30s, 5m, 3h")
        }
        s.duration = d
        s.clockSkewMax = k
        s.hintWindow = h
        s.rate = rate
        s.keys = keys
        s.readFraction = readFraction
        s.deleteFraction = deleteFraction
        s.seed = seed
        do { try s.validate() } catch { throw ValidationError(error.description) }
        return s
    }

    func run() throws {
        guard runs >= 1 else { throw ValidationError("--runs must be at least 1") }
        var failed = 0
        var requests = 0
        let started = Date()
        for i in 0..<runs {
            let s = try scenario(seed: seed &+ UInt64(i))
            let report = try Simulation(s).run()
            requests += report.operations
            if runs == 1 {
                print(report)
            } else {
                print("seed \(s.seed): \(report.operations) ops, \(report.violations.count) violation(s), trace \(String(report.traceHash, radix: 16))")
                if !report.passed {
                    for v in report.violations.prefix(5) { print("  " + v) }
                    print("  replay: \(s.replayCommand)")
                }
            }
            if !report.passed { failed += 1 }
        }
        let seconds = Date().timeIntervalSince(started)
        print(String(format: "wall time %.2f s, %.0f simulated client requests per second", seconds, Double(requests) / max(seconds, 1e-9)))
        if failed > 0 {
            print("\(failed) of \(runs) run(s) failed")
            throw ExitCode(1)
        }
    }
}

/// A latency model as `ringtail simulate` and `ringtail bench` spell it.
func parseLatencyModel(_ text: String, option: String) throws -> LatencyModel {
    guard let model = LatencyModel(specification: text) else {
        throw ValidationError("\(option): bad latency model '\(text)'; use e.g. lognormal:200us:0.3, exponential:500us, constant:1ms")
    }
    return model
}
