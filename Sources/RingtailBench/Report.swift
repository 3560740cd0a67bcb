// A study's report folder: report.json (everything), runs.csv, staleness
// and latency CSVs, summary.md, SVG charts (latency CDFs per level,
// t-visibility against the WARS model, availability against nodes down,
// throughput against RF) and index.html, one self-contained page with all
// of them. Every report records the seed, the commit, the machine and the
// exact command; see docs/consistency-study.md.
import Foundation
import RingtailCluster
import RingtailSimulation

/// What a report says about how it was made.
public struct ReportMetadata: Sendable, Codable {
    public var command: String
    public var target: String
    public var seed: UInt64
    public var commit: String
    public var machine: String
    public var started: String
    public var wallSeconds: Double

    public init(command: String, target: String, seed: UInt64, commit: String, machine: String, started: String, wallSeconds: Double) {
        self.command = command
        self.target = target
        self.seed = seed
        self.commit = commit
        self.machine = machine
        self.started = started
        self.wallSeconds = wallSeconds
    }
}

/// One run in report.json.
struct RunRecord: Codable {
    var label: String
    var nodes: Int
    var datacenters: Int
    var replicationFactor: Int
    var writeLevel: String
    var readLevel: String
    /// W + R > RF wherever writer and reader are (strict quorums).
    var quorumsIntersect: Bool
    var nodesDown: Int
    var workload: WorkloadSpec
    var requests: Int
    var load: String
    var latencyModel: String
    var wanLatencyModel: String
    var seed: UInt64
    var traceHash: String
    var wallSeconds: Double
    var messages: Int
    var summary: RunSummary
    /// The WARS model's P(consistent) at each probe delay (partial quorums in the simulator only).
    var model: [TVisibilityPoint]?
}

public enum ReportWriter {
    /// Writes the folder and returns the files written (relative names).
    @discardableResult
    public static func write(_ results: [BenchRunResult], metadata: ReportMetadata, to folder: String,
                             modelTrials: Int = 100_000) throws -> [String] {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let simulated = metadata.target == "simulator"
        let records = results.map { r -> RunRecord in
            let p = r.point
            var model: [TVisibilityPoint]? = nil
            if simulated, p.nodesDown == 0, let (w, rd) = p.quorumSizes, w + rd <= p.replicationFactor {
                let m = StalenessModel(nodes: p.nodes, replicationFactor: p.replicationFactor, writeQuorum: w, readQuorum: rd,
                                       latency: p.latency)
                model = p.probeDelaysMicros.map { d in
                    TVisibilityPoint(delayMillis: Double(d) / 1000, reads: modelTrials,
                                     probability: m.probabilityConsistent(after: .microseconds(d), trials: modelTrials, seed: p.seed))
                }
            }
            return RunRecord(label: p.label, nodes: p.nodes, datacenters: p.datacenters, replicationFactor: p.replicationFactor,
                             writeLevel: p.writeLevel.description, readLevel: p.readLevel.description,
                             quorumsIntersect: p.quorumsIntersect, nodesDown: p.nodesDown,
                             workload: p.workload, requests: p.requests, load: p.mode.description,
                             latencyModel: p.latency.description, wanLatencyModel: p.wanLatency.description, seed: p.seed,
                             traceHash: String(r.traceHash, radix: 16), wallSeconds: (r.wallSeconds * 100).rounded() / 100,
                             messages: r.messages, summary: r.summary, model: model)
        }
        var files: [String] = []
        func put(_ name: String, _ text: String) throws {
            try text.write(toFile: folder + "/" + name, atomically: true, encoding: .utf8)
            files.append(name)
        }
        struct Document: Codable { var metadata: ReportMetadata; var runs: [RunRecord] }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try put("report.json", String(decoding: try encoder.encode(Document(metadata: metadata, runs: records)), as: UTF8.self) + "\n")
        try put("runs.csv", runsCSV(records))
        try put("t-visibility.csv", tVisibilityCSV(records))
        try put("k-staleness.csv", "label,versions_behind,reads\n" + records.flatMap { r in
            r.summary.kStaleness.map { "\(csv(r.label)),\($0.versionsBehind),\($0.reads)" }
        }.joined(separator: "\n") + "\n")
        try put("latency-cdf.csv", "label,kind,percentile,ms\n" + records.flatMap { r in
            zip(r.summary.readCDF.percentiles, r.summary.readCDF.millis).map { "\(csv(r.label)),read,\($0),\($1)" }
                + zip(r.summary.writeCDF.percentiles, r.summary.writeCDF.millis).map { "\(csv(r.label)),write,\($0),\($1)" }
        }.joined(separator: "\n") + "\n")
        let charts = makeCharts(records)
        for (name, chart) in charts { try put(name, chart.svg()) }
        try put("summary.md", markdown(records, metadata: metadata, charts: charts.map(\.0)))
        try put("index.html", html(records, metadata: metadata, charts: charts))
        return files
    }

    static func csv(_ s: String) -> String { s.contains(",") || s.contains("\"") ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s }

    static func runsCSV(_ records: [RunRecord]) -> String {
        var out = "label,nodes,datacenters,rf,write,read,nodes_down,workload,requests,attempted,succeeded,availability,throughput_per_s,"
            + "p50_ms,p95_ms,p99_ms,p999_ms,max_ms,read_p50_ms,read_p99_ms,read_p999_ms,write_p50_ms,write_p99_ms,write_p999_ms,"
            + "stale_read_share,hints_stored,hint_drain_s,errors,trace_hash,wall_s\n"
        for r in records {
            let s = r.summary
            let errors = s.errors.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ";")
            let fields: [String] = [
                csv(r.label), "\(r.nodes)", "\(r.datacenters)", "\(r.replicationFactor)", r.writeLevel, r.readLevel, "\(r.nodesDown)",
                r.workload.name, "\(r.requests)", "\(s.attempted)", "\(s.succeeded)", fmt(s.availability, 5), fmt(s.throughputPerSecond, 1),
                fmt(s.latency.p50), fmt(s.latency.p95), fmt(s.latency.p99), fmt(s.latency.p999), fmt(s.latency.max),
                fmt(s.readLatency.p50), fmt(s.readLatency.p99), fmt(s.readLatency.p999),
                fmt(s.writeLatency.p50), fmt(s.writeLatency.p99), fmt(s.writeLatency.p999),
                fmt(s.staleReadShare, 5), "\(s.hintsStored)", s.hintDrainSeconds.map { fmt($0, 2) } ?? "",
                csv(errors), r.traceHash, fmt(r.wallSeconds, 2),
            ]
            out += fields.joined(separator: ",") + "\n"
        }
        return out
    }

    static func tVisibilityCSV(_ records: [RunRecord]) -> String {
        var out = "label,delay_ms,reads,p_consistent,model_p_consistent\n"
        for r in records {
            let model = Dictionary((r.model ?? []).map { ($0.delayMillis, $0.probability) }, uniquingKeysWith: { a, _ in a })
            for t in r.summary.tVisibility {
                out += "\(csv(r.label)),\(t.delayMillis),\(t.reads),\(fmt(t.probability, 5)),\(model[t.delayMillis].map { fmt($0, 5) } ?? "")\n"
            }
        }
        return out
    }

    static func fmt(_ v: Double, _ digits: Int = 3) -> String { String(format: "%.\(digits)f", v) }

    // MARK: Charts

    static func makeCharts(_ records: [RunRecord]) -> [(String, LineChart)] {
        var charts: [(String, LineChart)] = []
        let single = records.filter { $0.datacenters == 1 }
        let healthyRF3 = single.filter { $0.replicationFactor == 3 && $0.nodesDown == 0 }
        func cdf(_ pick: (RunRecord) -> LatencyCDF, _ level: (RunRecord) -> String, _ fixed: (RunRecord) -> Bool) -> [ChartSeries] {
            var seen = Set<String>()
            return healthyRF3.filter(fixed).compactMap { r in
                let c = pick(r)
                guard !c.millis.isEmpty, seen.insert(level(r)).inserted else { return nil }
                return ChartSeries(name: level(r), points: zip(c.millis, c.percentiles).map { (max($0, 0.001), $1) })
            }
        }
        charts.append(("read-latency-cdf.svg", LineChart(
            title: "Read latency by read level (RF 3, no node down)", xLabel: "latency (ms, log scale)", yLabel: "percentile",
            series: cdf({ $0.summary.readCDF }, { "R \($0.readLevel)" }, { $0.writeLevel == "QUORUM" }), logX: true, yRange: 0...100)))
        charts.append(("write-latency-cdf.svg", LineChart(
            title: "Write latency by write level (RF 3, no node down)", xLabel: "latency (ms, log scale)", yLabel: "percentile",
            series: cdf({ $0.summary.writeCDF }, { "W \($0.writeLevel)" }, { $0.readLevel == "QUORUM" }), logX: true, yRange: 0...100)))
        // Staleness: partial quorums, measured (solid) and modelled (dashed).
        var stale: [ChartSeries] = []
        for r in single where r.nodesDown == 0 && r.model != nil && r.replicationFactor > 1 {
            let name = "RF \(r.replicationFactor) W \(r.writeLevel) R \(r.readLevel)"
            stale.append(ChartSeries(name: name, points: r.summary.tVisibility.map { (max($0.delayMillis, 0.01), $0.probability) }))
            stale.append(ChartSeries(name: name + " model", points: r.model!.map { (max($0.delayMillis, 0.01), $0.probability) }, dashed: true))
        }
        if !stale.isEmpty {
            charts.append(("staleness.svg", LineChart(
                title: "t-visibility: P(read sees a write t after its acknowledgement)", xLabel: "t (ms, log scale; 0 drawn at 0.01)",
                yLabel: "P(consistent)", series: stale, logX: true, yRange: 0...1)))
        }
        // Availability against nodes down, RF 3.
        var availability: [ChartSeries] = []
        let rf3 = single.filter { $0.replicationFactor == 3 }
        for pair in orderedPairs(rf3) {
            let runs = rf3.filter { "W \($0.writeLevel) R \($0.readLevel)" == pair }.sorted { $0.nodesDown < $1.nodesDown }
            availability.append(ChartSeries(name: pair, points: runs.map { (Double($0.nodesDown), $0.summary.availability) }))
        }
        if !availability.isEmpty {
            charts.append(("availability.svg", LineChart(
                title: "Availability against nodes down (RF 3, 5 nodes)", xLabel: "nodes down", yLabel: "share of requests that succeeded",
                series: availability, yRange: 0...1)))
        }
        // Throughput against RF, nobody down.
        var throughput: [ChartSeries] = []
        let healthy = single.filter { $0.nodesDown == 0 }
        for pair in orderedPairs(healthy) {
            let runs = healthy.filter { "W \($0.writeLevel) R \($0.readLevel)" == pair }.sorted { $0.replicationFactor < $1.replicationFactor }
            throughput.append(ChartSeries(name: pair, points: runs.map { (Double($0.replicationFactor), $0.summary.throughputPerSecond) }))
        }
        if Set(healthy.map(\.replicationFactor)).count > 1 {
            charts.append(("throughput.svg", LineChart(
                title: "Throughput against replication factor (no node down)", xLabel: "replication factor", yLabel: "successful requests/s",
                series: throughput)))
        }
        return charts
    }

    static func orderedPairs(_ records: [RunRecord]) -> [String] {
        var seen: [String] = []
        for r in records {
            let pair = "W \(r.writeLevel) R \(r.readLevel)"
            if !seen.contains(pair) { seen.append(pair) }
        }
        return seen
    }

    // MARK: Markdown and HTML

    static func tableRows(_ records: [RunRecord]) -> (header: [String], rows: [[String]]) {
        let header = ["point", "W+R>RF", "availability", "ops/s", "read p50 ms", "read p99 ms", "read p99.9 ms", "write p50 ms",
                      "write p99 ms", "stale reads", "hint drain s", "errors"]
        let rows = records.map { r -> [String] in
            let s = r.summary
            let strict = r.quorumsIntersect ? "yes" : "no"
            let errors = s.errors.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
            return [r.label, strict, fmt(s.availability * 100, 2) + "%", fmt(s.throughputPerSecond, 0),
                    fmt(s.readLatency.p50), fmt(s.readLatency.p99), fmt(s.readLatency.p999),
                    fmt(s.writeLatency.p50), fmt(s.writeLatency.p99),
                    fmt(s.staleReadShare * 100, 3) + "%", s.hintDrainSeconds.map { fmt($0, 1) } ?? "-", errors.isEmpty ? "-" : errors]
        }
        return (header, rows)
    }

    static func markdown(_ records: [RunRecord], metadata: ReportMetadata, charts: [String]) -> String {
        var out = "# Ringtail consistency-latency study\n\n"
        out += "- command: `\(metadata.command)`\n- target: \(metadata.target)\n- seed: \(metadata.seed)\n"
        out += "- commit: \(metadata.commit)\n- machine: \(metadata.machine)\n- started: \(metadata.started); took \(fmt(metadata.wallSeconds, 1)) s\n"
        if let first = records.first {
            out += "- workload: YCSB \(first.workload.name) (\(first.workload.mix), \(first.workload.distribution.rawValue)), "
                + "\(first.workload.recordCount) records of \(first.workload.valueBytes) bytes; \(first.requests) requests per point, \(first.load)\n"
            out += "- network: one-way delay \(first.latencyModel) in a datacenter, \(first.wanLatencyModel) between datacenters\n"
        }
        out += "\n"
        for chart in charts { out += "![\(chart)](\(chart))\n\n" }
        let (header, rows) = tableRows(records)
        out += "| " + header.joined(separator: " | ") + " |\n|" + header.map { _ in "---" }.joined(separator: "|") + "|\n"
        for row in rows { out += "| " + row.joined(separator: " | ") + " |\n" }
        let modelled = records.filter { $0.model != nil }
        if !modelled.isEmpty {
            out += "\n## Model check: t-visibility, simulator against the WARS model\n\n| point | t ms | simulator | model | difference |\n|---|---|---|---|---|\n"
            for r in modelled {
                let model = Dictionary(r.model!.map { ($0.delayMillis, $0.probability) }, uniquingKeysWith: { a, _ in a })
                for t in r.summary.tVisibility {
                    guard let m = model[t.delayMillis] else { continue }
                    out += "| \(r.label) | \(t.delayMillis) | \(fmt(t.probability, 4)) | \(fmt(m, 4)) | \(fmt(t.probability - m, 4)) |\n"
                }
            }
        }
        return out
    }

    static func html(_ records: [RunRecord], metadata: ReportMetadata, charts: [(String, LineChart)]) -> String {
        func e(_ s: String) -> String { LineChart.escape(s) }
        var out = "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Ringtail study \(e(metadata.started))</title>\n"
        out += "<style>body{font-family:sans-serif;margin:24px;max-width:1200px}table{border-collapse:collapse;font-size:13px}"
            + "td,th{border:1px solid #ccc;padding:3px 6px;text-align:right}td:first-child{text-align:left}code{background:#f4f4f4}</style>\n"
        out += "</head><body>\n<h1>Ringtail consistency-latency study</h1>\n<ul>\n"
        out += "<li>command: <code>\(e(metadata.command))</code></li><li>target: \(e(metadata.target))</li><li>seed: \(metadata.seed)</li>"
        out += "<li>commit: \(e(metadata.commit))</li><li>machine: \(e(metadata.machine))</li>"
        out += "<li>started: \(e(metadata.started)); took \(fmt(metadata.wallSeconds, 1)) s</li></ul>\n"
        for (_, chart) in charts { out += "<div>\(chart.svg())</div>\n" }
        let (header, rows) = tableRows(records)
        out += "<table>\n<tr>" + header.map { "<th>\(e($0))</th>" }.joined() + "</tr>\n"
        for row in rows { out += "<tr>" + row.map { "<td>\(e($0))</td>" }.joined() + "</tr>\n" }
        out += "</table>\n</body></html>\n"
        return out
    }
}
