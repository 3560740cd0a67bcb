// `ringtail simulate` as a user runs it: the replay command a failing run
// prints must reproduce that run exactly, in another process, and bad
// options must get a clear error.
import Foundation
import RingtailSimulation
import Testing

@Suite struct SimulateCommandTests {
    func run(_ arguments: [String]) throws -> (status: Int32, output: String) { try RingtailProcess.run(arguments) }

    /// Every option a scenario can carry (latency models, loss, skew, levels,
    /// datacenters, hint window) survives the trip through its replay
    /// command: the CLI run has the library run's trace hash.
    @Test(arguments: [3, 11, 26, 40] as [UInt64])
    func replayCommandReproducesTheRun(seed: UInt64) throws {
        var scenario = SimulationScenario.randomized(seed: seed)
        scenario.clockSkewMax = .milliseconds(7)
        scenario.wanLatency = .uniform(lower: .milliseconds(10), upper: .milliseconds(30))
        let report = try Simulation(scenario).run()
        let arguments = scenario.replayCommand.split(separator: " ").dropFirst().map(String.init)
        let replay = try run(arguments)
        #expect(replay.output.contains("trace hash: \(String(report.traceHash, radix: 16))"),
                "\(scenario.replayCommand)\n\(replay.output)")
        #expect(replay.status == (report.passed ? 0 : 1))
    }

    @Test func badOptionsAreRefusedClearly() throws {
        let latency = try run(["simulate", "--latency", "gaussian:1ms"])
        #expect(latency.status != 0 && latency.output.contains("bad latency model"))
        let rf = try run(["simulate", "--nodes", "3", "--rf", "5"])
        #expect(rf.status != 0 && rf.output.contains("--rf must be"))
        let level = try run(["simulate", "--read", "ANY"])
        #expect(level.status != 0 && level.output.contains("not a read level"))
    }
}
