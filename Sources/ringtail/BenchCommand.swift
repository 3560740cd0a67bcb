// `ringtail bench`: the consistency-latency study. `bench run` measures one
// point (a workload at chosen RF, levels and nodes down), `bench sweep` the
// default grid; both write a report folder (JSON, CSV, Markdown, SVG charts,
// one HTML page). The simulator is the target so far; see
// docs/consistency-study.md.
import ArgumentParser
import Foundation
import RingtailCluster
import RingtailSimulation
import RingtailBench

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Measure latency, throughput, availability and staleness by RF and consistency level.",
        subcommands: [Run.self, Sweep.self])

    struct Common: ParsableArguments {
        @Option(help: "Where to run: simulator (a seeded simulated cluster).") var target = "simulator"
        @Option(help: "YCSB workload A-F, or a mix such as read=0.7,update=0.3 (read, update, insert, scan, rmw).") var workload = "A"
        @Option(help: "Request distribution: uniform, zipfian or latest (default: the workload's).") var distribution: String?
        @Option(help: "Records loaded before the run.") var records = 1000
        @Option(name: .customLong("value-bytes"), help: "Bytes per record value.") var valueBytes = 100
        @Option(help: "Requests per point.") var requests = 200_000
        @Option(help: "Open loop: requests per second (Poisson arrivals).") var rate = 20_000
        @Option(help: "Closed loop with this many clients instead of a rate.") var clients: Int?
        @Option(help: "One-way delay inside a datacenter (e.g. lognormal:200us:0.5, exponential:500us).") var latency = "lognormal:200us:0.5"
        @Option(name: .customLong("wan-latency"), help: "One-way delay between datacenters.") var wanLatency = "lognormal:40ms:0.2"
        @Option(help: "Seed: the same seed gives the same numbers.") var seed: UInt64 = 1
        @Option(help: "Report folder (default: bench-reports/<time>).") var out: String?

        func base() throws -> BenchPoint {
            guard target == "simulator" || target == "sim" else {
                throw ValidationError("--target: only 'simulator' is available so far (local clusters and addresses are not built yet)")
            }
            var p = BenchPoint()
            let dist: RequestDistribution?
            if let distribution {
                guard let d = RequestDistribution(rawValue: distribution) else { throw ValidationError("--distribution: uniform, zipfian or latest") }
                dist = d
            } else {
                dist = nil
            }
            guard var spec = WorkloadSpec.named(workload, distribution: dist) else {
                throw ValidationError("--workload: A-F, or a mix like read=0.5,update=0.5 whose shares sum to 1")
            }
            spec.recordCount = records
            spec.valueBytes = valueBytes
            p.workload = spec
            p.requests = requests
            p.mode = clients.map { .closedLoop(clients: $0) } ?? .openLoop(rate: rate)
            p.latency = try parseLatencyModel(latency, option: "--latency")
            p.wanLatency = try parseLatencyModel(wanLatency, option: "--wan-latency")
            p.seed = seed
            return p
        }

        func folder() -> String {
            if let out { return out }
            let f = DateFormatter()
            f.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
            f.timeZone = TimeZone(identifier: "UTC")
            return "bench-reports/" + f.string(from: Date())
        }
    }

    struct Run: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Measure one point and write its report.")
        @OptionGroup var common: Common
        @Option(help: "Nodes.") var nodes = 5
        @Option(help: "Datacenters (nodes dealt to them in turn).") var datacenters = 1
        @Option(help: "Replicas (per datacenter).") var rf = 3
        @Option(help: "Write level.") var write = "QUORUM"
        @Option(help: "Read level.") var read = "QUORUM"
        @Option(help: "Nodes down during the run (n1, n2, …).") var down = 0

        func run() throws {
            var p = try common.base()
            p.nodes = nodes
            p.datacenters = datacenters
            p.replicationFactor = rf
            p.writeLevel = try parseLevel(write, option: "--write")
            p.readLevel = try parseLevel(read, option: "--read")
            p.nodesDown = down
            do { try p.validate() } catch { throw ValidationError(error.description) }
            let started = Date()
            BenchCommand.say("bench: \(p.label), YCSB \(p.workload.name), \(p.requests) requests, \(p.mode), seed \(p.seed) (simulator)")
            let result = try SimulatedBench(p).run { progress in
                let left = progress.wallSeconds / Double(max(1, progress.done)) * Double(progress.total - progress.done)
                BenchCommand.say(String(format: "  %d/%d requests, %.0f ops/s (virtual), %d errors, p99 %.3f ms, about %.0f s left",
                             progress.done, progress.total, Double(progress.done) / max(progress.virtualSeconds, 1e-9),
                             progress.errors, progress.runningP99Millis, left))
            }
            try BenchCommand.finish([result], command: CommandLine.arguments, seed: p.seed, started: started, folder: common.folder())
        }
    }

    struct Sweep: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The default study: RF 1/3/5 x write x read level (ONE, QUORUM, ALL) x nodes down, plus LOCAL_QUORUM and EACH_QUORUM over two datacenters.")
        @OptionGroup var common: Common
        @Option(name: .customLong("down-max"), help: "Nodes down: 0 to this.") var downMax = 2
        @Flag(name: .customLong("one-datacenter"), help: "Leave out the two-datacenter points.") var oneDatacenter = false
        @Option(help: "Points run at once (default: the cores).") var parallel = ProcessInfo.processInfo.activeProcessorCount

        func run() throws {
            let base = try common.base()
            let points = RingtailBench.Sweep.defaultGrid(base: base, downMax: downMax, twoDatacenters: !oneDatacenter)
            let started = Date()
            BenchCommand.say("bench sweep: \(points.count) points of \(base.requests) requests (\(base.mode)), YCSB \(base.workload.name), "
                  + "seed \(base.seed), \(parallel) at a time, in the simulator")
            let clock = ContinuousClock.now
            let results = try RingtailBench.Sweep.runSimulated(points, parallelism: parallel) { done, total, last in
                let elapsed = (ContinuousClock.now - clock).secondsDouble
                BenchCommand.say("  [\(done)/\(total)] \(last.point.label): " + String(
                    format: "availability %.4f, read p99 %.3f ms, stale %.3f%% (%.1f s elapsed, about %.0f s left)",
                    last.summary.availability, last.summary.readLatency.p99, last.summary.staleReadShare * 100,
                    elapsed, elapsed / Double(done) * Double(total - done)))
            }
            try BenchCommand.finish(results, command: CommandLine.arguments, seed: base.seed, started: started, folder: common.folder())
        }
    }

    /// A progress line, out at once even when standard output is a file or a pipe.
    static func say(_ line: String) {
        print(line)
        flushStandardOutput()
    }

    static func finish(_ results: [BenchRunResult], command: [String], seed: UInt64, started: Date, folder: String) throws {
        let f = ISO8601DateFormatter()
        let metadata = ReportMetadata(command: (["ringtail"] + command.dropFirst()).joined(separator: " "), target: "simulator", seed: seed,
                                      commit: gitCommit(), machine: machineDescription(), started: f.string(from: started),
                                      wallSeconds: Date().timeIntervalSince(started))
        let files = try ReportWriter.write(results, metadata: metadata, to: folder)
        print("report: \(folder)/ (\(files.joined(separator: ", ")))")
        print("open \(folder)/index.html; the numbers: \(folder)/summary.md")
    }

    /// The commit of the checkout the binary was built in (it lives in the
    /// checkout's .build folder), or of the working directory; "unknown" if neither is one.
    static func gitCommit() -> String {
        let binary = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent().path
        for directory in [binary, FileManager.default.currentDirectoryPath] {
            let commit = gitCommit(in: directory)
            if commit != "unknown" { return commit }
        }
        return "unknown"
    }

    static func gitCommit(in directory: String) -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["git", "-C", directory, "rev-parse", "--short", "HEAD"]
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = FileHandle.nullDevice
        do { try p.run() } catch { return "unknown" }
        p.waitUntilExit()
        let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard p.terminationStatus == 0, !text.isEmpty else { return "unknown" }
        let dirty = Process()
        dirty.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        dirty.arguments = ["git", "-C", directory, "diff", "--quiet", "HEAD"]
        dirty.standardError = FileHandle.nullDevice
        if (try? dirty.run()) != nil {
            dirty.waitUntilExit()
            if dirty.terminationStatus != 0 { return text + " (with uncommitted changes)" }
        }
        return text
    }

    /// "2 cores, Intel(R) Xeon(R) …, 24 GiB, Linux 6.1.0".
    static func machineDescription() -> String {
        let info = ProcessInfo.processInfo
        let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        let model = cpuinfo.split(separator: "\n").first { $0.hasPrefix("model name") }
            .map { String($0.split(separator: ":", maxSplits: 1).last ?? "").trimmingCharacters(in: .whitespaces) } ?? "unknown CPU"
        let gib = Double(info.physicalMemory) / Double(1 << 30)
        return "\(info.activeProcessorCount) cores, \(model), \(String(format: "%.0f", gib)) GiB, \(info.operatingSystemVersionString)"
    }
}
