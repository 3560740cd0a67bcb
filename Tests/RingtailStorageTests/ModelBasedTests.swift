// Random sequences of writes, deletes, TTLs, flushes, compactions, clock
// jumps and restarts, compared after every few steps with ReferenceModel.
// A failure names the seed; rerun one seed with RINGTAIL_MODEL_SEED=N.
import RingtailCore
import RingtailSimulation
import Testing
@testable import RingtailStorage

@Suite struct ModelBasedTests {
    static let seedCount = Int(environment("RINGTAIL_MODEL_SEEDS") ?? "") ?? 24

    static var seeds: [UInt64] {
        if let one = environment("RINGTAIL_MODEL_SEED").flatMap(UInt64.init) { return [one] }
        return (1...UInt64(seedCount)).map { $0 }
    }

    @Test(arguments: seeds)
    func engineMatchesModel(seed: UInt64) throws {
        let clock = ManualClock()
        let fs = CrashableFileSystem()
        var h = EngineHarness(fs: fs, clock: clock)
        h.options.memtableBudget = .kibibytes(64) // frequent automatic flushes
        h.options.commitLogSegmentBytes = .kibibytes(16)
        var generator = MutationGenerator(seed: seed, clock: clock)
        var options = TableOptions()
        options.clusteringOrder = seed % 2 == 0 ? .ascending : .descending
        options.blockBytes = .kibibytes(1)
        options.gcGraceSeconds = 10
        options.compression = [Compression.lz4, .zstd(level: 3), .none][Int(seed % 3)]
        if seed % 4 >= 2 {
            var tw = TimeWindowOptions(unit: .minutes, size: 1)
            tw.sizeTiered.minThreshold = 2
            options.compaction = .timeWindow(tw)
        } else {
            var st = SizeTieredOptions()
            st.minThreshold = 2
            options.compaction = .sizeTiered(st)
        }
        var engine = try h.open()
        let table = try engine.ensureTable("m", options: options)
        var model = ReferenceModel()
        let replay = "seed \(seed): RINGTAIL_MODEL_SEED=\(seed) swift test --filter ModelBasedTests"

        for step in 0..<400 {
            switch generator.entropy.next(below: 100) {
            case 0..<80:
                let m = generator.next(table: table)
                try engine.apply(m)
                model.apply(m.update)
            case 80..<86: try engine.flush()
            case 86..<90: try engine.runBackgroundWork()
            case 90..<92: try engine.compact(major: true)
            case 92..<94:
                try engine.close()
                engine = try h.open()
            default:
                clock.advance(by: .milliseconds(Int64(generator.entropy.next(below: 3000))))
            }
            clock.advance(by: .milliseconds(Int64(generator.entropy.next(below: 400))))
            if step % 10 == 9 {
                let now = clock.wallMicros()
                for key in generator.keys {
                    #expect(try engine.rendered(table, key) == model.expected(key, now: now), "\(replay) step \(step) key \(key)")
                    let limit = 1 + generator.entropy.next(below: 4)
                    #expect(try engine.rendered(table, key, limit: limit, descending: true)
                        == model.expected(key, limit: limit, descending: true, now: now), "\(replay) step \(step)")
                    let a = UInt8(generator.entropy.next(below: 8)), b = UInt8(generator.entropy.next(below: 8))
                    let slice = ClusteringRange(lower: .inclusive([min(a, b)]), upper: .exclusive([max(a, b)]))
                    #expect(try engine.rendered(table, key, slice: slice) == model.expected(key, slice: slice, now: now), "\(replay) step \(step)")
                }
            }
        }
        // Token range scans see exactly the partitions with live rows.
        let now = clock.wallMicros()
        let liveKeys = Set(generator.keys.filter { !model.expected($0, now: now).isEmpty })
        let scanned = try engine.scan(table, range: .full, limit: 100).partitions.map(\.key)
        #expect(Set(scanned) == liveKeys, "\(replay) scan")
        #expect(scanned == scanned.sorted { PartitionPosition(key: $0) < PartitionPosition(key: $1) }, "\(replay) scan order")
        try engine.close()
    }
}

func environment(_ name: String) -> String? {
    guard let value = getenv(name) else { return nil }
    return String(cString: value)
}

#if canImport(Glibc)
import Glibc
#endif
