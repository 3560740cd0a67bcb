// The study's instruments: request distributions, workload mixes, the
// simulator driver's determinism and its measurements, and the model check
// (issue 6): for partial quorums the staleness the simulator measures agrees
// with a Monte Carlo of the WARS model under the same latency distribution.
import RingtailCore
import RingtailCluster
import RingtailSimulation
@testable import RingtailBench
import Testing
import Foundation

@Suite struct KeyChooserTests {
    @Test func uniformCoversTheKeySpaceEvenly() {
        var chooser = KeyChooser(.uniform, count: 10)
        var entropy = SeededEntropy(seed: 1)
        var counts = [Int](repeating: 0, count: 10)
        for _ in 0..<20_000 { counts[chooser.next(&entropy)] += 1 }
        #expect(counts.allSatisfy { (1700...2300).contains($0) })
    }

    /// Zipfian 0.99 over 1,000 records: the hottest record takes about
    /// 1/zeta(1000) ≈ 13% of requests, and the popular records are scattered
    /// (scrambled), not the lowest ids.
    @Test func zipfianIsSkewedAndScrambled() {
        var chooser = KeyChooser(.zipfian, count: 1000)
        var entropy = SeededEntropy(seed: 2)
        var counts = [Int: Int]()
        let draws = 100_000
        for _ in 0..<draws { counts[chooser.next(&entropy), default: 0] += 1 }
        let sorted = counts.sorted { $0.value > $1.value }
        let top = Double(sorted[0].value) / Double(draws)
        #expect(top > 0.10 && top < 0.16, "hottest share \(top)")
        let top10 = sorted.prefix(10).reduce(0) { $0 + $1.value }
        #expect(Double(top10) / Double(draws) > 0.3)
        // Scrambled: the ten hottest are not simply ids 0-9.
        #expect(Set(sorted.prefix(10).map(\.key)) != Set(0..<10))
        #expect(counts.keys.allSatisfy { (0..<1000).contains($0) })
    }

    @Test func latestFavoursTheNewestAndFollowsInserts() {
        var chooser = KeyChooser(.latest, count: 100)
        var entropy = SeededEntropy(seed: 3)
        var newest = 0
        for _ in 0..<10_000 where chooser.next(&entropy) == 99 { newest += 1 }
        #expect(newest > 1500)
        chooser.grow(to: 200)
        var seen200 = 0
        for _ in 0..<10_000 {
            let id = chooser.next(&entropy)
            #expect((0..<200).contains(id))
            if id == 199 { seen200 += 1 }
        }
        #expect(seen200 > 1000)
    }

    @Test func ycsbWorkloadsAndCustomMixes() throws {
        #expect(WorkloadSpec.ycsb("a")?.mix == OperationMix(read: 0.5, update: 0.5))
        #expect(WorkloadSpec.ycsb("D")?.distribution == .latest)
        #expect(WorkloadSpec.ycsb("e")?.mix.scan == 0.95)
        #expect(WorkloadSpec.ycsb("g") == nil)
        let custom = try #require(WorkloadSpec.named("read=0.7, update=0.2,insert=0.1", distribution: .uniform))
        #expect(custom.mix == OperationMix(read: 0.7, update: 0.2, insert: 0.1))
        #expect(custom.distribution == .uniform)
        #expect(WorkloadSpec.named("read=0.7,update=0.2") == nil) // does not sum to 1
        #expect(WorkloadSpec.named("read=0.5,delete=0.5") == nil) // no such kind
        // The stream follows the mix and gives inserts fresh ids.
        var stream = WorkloadStream(WorkloadSpec.ycsb("d")!, seed: 9)
        var kinds = [OperationKind: Int]()
        for _ in 0..<10_000 {
            let op = stream.next()
            kinds[op.kind, default: 0] += 1
            #expect(op.record < stream.records)
        }
        #expect((400...600).contains(kinds[.insert] ?? 0))
        #expect(stream.records == 1000 + (kinds[.insert] ?? 0))
    }
}

@Suite struct SimulatedBenchTests {
    func point(_ rf: Int, _ w: ConsistencyLevel, _ r: ConsistencyLevel, down: Int = 0, requests: Int = 4000, seed: UInt64 = 1) -> BenchPoint {
        var p = BenchPoint()
        p.replicationFactor = rf
        p.writeLevel = w
        p.readLevel = r
        p.nodesDown = down
        p.requests = requests
        p.seed = seed
        p.mode = .openLoop(rate: 2000)
        return p
    }

    @Test func sameSeedSameNumbers() throws {
        let a = try SimulatedBench(point(3, .one, .one, requests: 2000)).run()
        let b = try SimulatedBench(point(3, .one, .one, requests: 2000)).run()
        #expect(a.summary == b.summary)
        #expect(a.traceHash == b.traceHash)
        let c = try SimulatedBench(point(3, .one, .one, requests: 2000, seed: 2)).run()
        #expect(c.traceHash != a.traceHash)
    }

    /// W + R > RF: every read sees the latest acknowledged write, and every
    /// probe at every delay is fresh. QUORUM with one of five nodes down stays available.
    @Test func strictQuorumsAreNeverStale() throws {
        let result = try SimulatedBench(point(3, .quorum, .quorum, down: 1)).run()
        let s = result.summary
        #expect(s.availability == 1)
        #expect(s.staleReadShare == 0)
        #expect(s.kStaleness.allSatisfy { $0.versionsBehind == 0 })
        #expect(!s.tVisibility.isEmpty && s.tVisibility.allSatisfy { $0.probability == 1 })
        #expect(s.readLatency.count > 0 && s.writeLatency.count > 0)
        #expect(s.readLatency.p50 <= s.readLatency.p99 && s.readLatency.p99 <= s.readLatency.max)
    }

    /// ALL with a replica down fails with Unavailable at once (availability
    /// drops by the share of keys with a replica on the down node), and the
    /// hints for the down node drain after it returns.
    @Test func allWithANodeDownIsUnavailableForItsKeysAndHintsDrain() throws {
        let result = try SimulatedBench(point(3, .one, .all, down: 1)).run()
        let s = result.summary
        #expect(s.availability < 1 && s.availability > 0.3)
        #expect(s.errors["unavailable", default: 0] > 0)
        #expect(s.errors.keys.allSatisfy { $0 == "unavailable" })
        #expect(s.hintsStored > 0)
        let drain = try #require(s.hintDrainSeconds)
        #expect(drain > 0 && drain < 60)
    }
}

/// The model check of issue 6: R + W <= N, the simulator against the WARS Monte Carlo.
@Suite struct ModelCheckTests {
    @Test(arguments: [(3, 1, 1), (5, 1, 2), (3, 2, 1)])
    func simulatorStalenessAgreesWithTheModel(rf: Int, w: Int, r: Int) throws {
        func level(_ n: Int) -> ConsistencyLevel { [.one, .two, .three][n - 1] }
        var p = BenchPoint()
        p.nodes = 5
        p.replicationFactor = rf
        p.writeLevel = level(w)
        p.readLevel = level(r)
        p.latency = .exponential(mean: .microseconds(500))
        p.speculativeRetry = false
        p.workload = WorkloadSpec.ycsb("c")! // reads only: probes are the only writes
        p.workload.recordCount = 100
        p.probeEvery = 1
        p.probeDelaysMicros = [0, 250, 500, 1000, 2000]
        p.requests = 15_000
        p.mode = .openLoop(rate: 5000)
        p.seed = 11
        let measured = try SimulatedBench(p).run().summary.tVisibility
        let model = StalenessModel(nodes: p.nodes, replicationFactor: rf, writeQuorum: w, readQuorum: r, latency: p.latency)
        #expect(measured.count == p.probeDelaysMicros.count)
        for point in measured {
            let predicted = model.probabilityConsistent(after: .microseconds(Int64(point.delayMillis * 1000)), trials: 200_000, seed: 5)
            // 3,000 probes per delay: a binomial standard error of at most 0.009; allow 4.5 of them.
            #expect(abs(point.probability - predicted) < 0.04,
                    "RF \(rf) W \(w) R \(r) at \(point.delayMillis) ms: simulator \(point.probability), model \(predicted)")
        }
        // Staleness is real here and fades with time.
        #expect(measured.first!.probability < 0.99)
        #expect(measured.last!.probability > measured.first!.probability)
    }

    @Test func theModelKnowsStrictQuorumsAndTheObviousLimits() {
        let strict = StalenessModel(nodes: 3, replicationFactor: 3, writeQuorum: 2, readQuorum: 2, latency: .exponential(mean: .milliseconds(1)))
        #expect(strict.probabilityConsistent(after: .zero, trials: 20_000, seed: 1) == 1)
        let weak = StalenessModel(nodes: 3, replicationFactor: 3, writeQuorum: 1, readQuorum: 1, latency: .exponential(mean: .milliseconds(1)))
        let now = weak.probabilityConsistent(after: .zero, trials: 50_000, seed: 1)
        let later = weak.probabilityConsistent(after: .milliseconds(20), trials: 50_000, seed: 1)
        #expect(now < 0.9 && now > 0.3)
        #expect(later > 0.999)
    }
}

@Suite struct ReportTests {
    /// A two-point sweep writes every file of the report folder; the JSON
    /// holds both runs and the model beside the partial quorum, the charts
    /// are SVG, and the HTML page carries them inline.
    @Test func aSweepWritesTheWholeReportFolder() throws {
        var base = BenchPoint()
        base.requests = 1500
        base.mode = .openLoop(rate: 2000)
        var weak = base
        weak.writeLevel = .one
        weak.readLevel = .one
        var down = base
        down.nodesDown = 1
        let results = try Sweep.runSimulated([weak, down], parallelism: 2) { _, _, _ in }
        #expect(results.map(\.point) == [weak, down])
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("rt-report-\(UInt32.random(in: 0...UInt32.max))").path
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let metadata = ReportMetadata(command: "ringtail bench sweep --requests 1500", target: "simulator", seed: 1, commit: "abc1234",
                                      machine: "test", started: "2026-11-22T00:00:00Z", wallSeconds: 1)
        let files = try ReportWriter.write(results, metadata: metadata, to: folder, modelTrials: 5000)
        for name in ["report.json", "runs.csv", "t-visibility.csv", "k-staleness.csv", "latency-cdf.csv", "summary.md", "index.html",
                     "read-latency-cdf.svg", "write-latency-cdf.svg", "staleness.svg", "availability.svg"] {
            #expect(files.contains(name), "missing \(name)")
        }
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: folder + "/report.json"))) as? [String: Any]
        let runs = try #require(json?["runs"] as? [[String: Any]])
        #expect(runs.count == 2)
        #expect(runs[0]["model"] is [Any])      // W ONE + R ONE <= RF 3: modelled
        #expect(runs[1]["model"] == nil)        // QUORUM: strict, no model
        #expect((json?["metadata"] as? [String: Any])?["commit"] as? String == "abc1234")
        let csv = try String(contentsOfFile: folder + "/runs.csv", encoding: .utf8).split(separator: "\n")
        #expect(csv.count == 3)
        let svg = try String(contentsOfFile: folder + "/staleness.svg", encoding: .utf8)
        #expect(svg.hasPrefix("<svg") && svg.hasSuffix("</svg>\n") && svg.contains("polyline"))
        let html = try String(contentsOfFile: folder + "/index.html", encoding: .utf8)
        #expect(html.components(separatedBy: "<svg").count - 1 == files.filter { $0.hasSuffix(".svg") }.count)
        #expect(html.contains("abc1234") && html.contains("ringtail bench sweep --requests 1500"))
        // Written again from the same results: the same bytes.
        let again = folder + "-again"
        defer { try? FileManager.default.removeItem(atPath: again) }
        try ReportWriter.write(results, metadata: metadata, to: again, modelTrials: 5000)
        for name in files {
            #expect(try String(contentsOfFile: folder + "/" + name, encoding: .utf8) == String(contentsOfFile: again + "/" + name, encoding: .utf8))
        }
    }
}

@Suite struct QuorumOverlapTests {
    /// The report's "W+R>RF" column, from the coordinator's own level rules.
    @Test func strictAndPartialQuorumsAreToldApart() {
        func point(_ rf: Int, _ w: ConsistencyLevel, _ r: ConsistencyLevel, dcs: Int = 1) -> BenchPoint {
            var p = BenchPoint()
            p.nodes = dcs == 1 ? 5 : 6
            p.datacenters = dcs
            p.replicationFactor = rf
            p.writeLevel = w
            p.readLevel = r
            return p
        }
        #expect(point(3, .quorum, .quorum).quorumsIntersect)
        #expect(point(3, .one, .all).quorumsIntersect)
        #expect(!point(3, .one, .quorum).quorumsIntersect)    // 1 + 2 = 3: partial
        #expect(!point(5, .one, .quorum).quorumsIntersect)
        #expect(point(1, .one, .one).quorumsIntersect)
        #expect(point(3, .one, .one).quorumSizes! == (1, 1))
        // Two datacenters: LOCAL_QUORUM on both sides overlaps only when writer and reader share one.
        #expect(!point(3, .localQuorum, .localQuorum, dcs: 2).quorumsIntersect)
        #expect(point(3, .eachQuorum, .localQuorum, dcs: 2).quorumsIntersect)
        #expect(point(3, .localQuorum, .eachQuorum, dcs: 2).quorumsIntersect)
        #expect(point(3, .localQuorum, .localQuorum, dcs: 2).quorumSizes == nil)
    }
}
