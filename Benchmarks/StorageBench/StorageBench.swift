// ringtail-storage-bench: Ringtail's side of the storage benchmark. Same CLI,
// workloads, timing rules, correctness checks and one-line JSON as the
// LevelDB/RocksDB harness in Benchmarks/peers/peer_bench.c (its top comment
// is the specification); Benchmarks/run-storage.sh runs both side by side.
//
//   ringtail-storage-bench --engine ringtail --workload fillrandom|readrandom|iot|scan
//                          --db DIR [--n N] [--threads T] [--sync 0|1] [--scans S] [--seed X]
//   ringtail-storage-bench --selftest
//
// Data model: fillrandom/readrandom use table bench.kv (partition key = the
// 16-byte key, no clustering key, one cell "v" = the 100-byte value); iot/scan
// use bench.iot (partition key = "sensor-%08d", clustering key = the 8-byte
// big-endian timestamp, one cell "v" = the 24-byte reading), so a peer's
// prefix scan is a Ringtail partition read with limit 100.
//
// Exit status: 0 on success, 1 on an engine error or failed check, 2 on bad usage.
import Glibc
import RingtailCore
import RingtailPosix
import RingtailStorage

/// Settings shared with the peers (peer_bench.c echoes the same values).
enum Settings {
    static let memtableFlushMiB = 64     // the peers' write buffer
    static let memtableBudgetMiB = 128   // active + flushing memtables (the peers: 2 write buffers)
    static let blockCacheMiB = 32
    static let blockKiB = 16
    static let bloomFalsePositiveChance = 0.01 // ~9.6 bits per key; the peers use 10
    static let syncedMode: CommitLogSyncMode = .batch
    static let unsyncedMode: CommitLogSyncMode = .periodic(.seconds(10))
}

/// Write timestamps: a fixed base plus the operation's index (unique per write).
let timestampBase: Int64 = 1_767_225_600_000_000

struct Config: Sendable {
    var workload: Workload
    var directory: String
    var n: UInt64
    var threads: Int
    var sync: Int
    var scans: UInt64
    var seed: UInt64

    var tableName: String { workload == .fillrandom || workload == .readrandom ? "kv" : "iot" }
    var syncMode: CommitLogSyncMode { sync == 1 ? Settings.syncedMode : Settings.unsyncedMode }
    var syncModeName: String { sync == 1 ? "batch" : "periodic_10s" }
}

/// One worker's results; written only by that worker, read after join.
final class WorkerResult: @unchecked Sendable {
    var histogram = LatencyHistogram()
    var start: UInt64 = 0
    var end: UInt64 = 0
    var ops: UInt64 = 0
    var found: UInt64 = 0
    var rows: UInt64 = 0
}

@main
enum StorageBench {
    static func main() {
        let config = parseArguments(Array(CommandLine.arguments.dropFirst()))
        run(config)
    }

    // MARK: Command line

    static func usage() -> Never {
        writeAll(2, """
            usage: ringtail-storage-bench --engine ringtail --workload fillrandom|readrandom|iot|scan --db DIR
                                          [--n N] [--threads T] [--sync 0|1] [--scans S] [--seed X]
                   ringtail-storage-bench --selftest   (prints reference keys/values)

            """)
        exit(2)
    }

    static func parseUInt64(_ s: String, _ flag: String) -> UInt64 {
        guard let v = UInt64(s) else {
            note("bad value for \(flag): \(s)")
            exit(2)
        }
        return v
    }

    static func parseArguments(_ args: [String]) -> Config {
        var engine: String?, workload: String?, directory: String?
        var n: UInt64?, scans: UInt64 = 50_000, seed: UInt64 = 42
        var threads: UInt64 = 1, sync: UInt64 = 0
        var a = 0
        while a < args.count {
            let flag = args[a]
            if flag == "--selftest" {
                selftest()
                exit(0)
            }
            guard a + 1 < args.count else { usage() }
            let value = args[a + 1]
            a += 2
            switch flag {
            case "--engine": engine = value
            case "--workload": workload = value
            case "--db": directory = value
            case "--n": n = parseUInt64(value, flag)
            case "--threads": threads = parseUInt64(value, flag)
            case "--sync": sync = parseUInt64(value, flag)
            case "--scans": scans = parseUInt64(value, flag)
            case "--seed": seed = parseUInt64(value, flag)
            default: usage()
            }
        }
        guard let engine, let workload, let directory, !directory.isEmpty else { usage() }
        guard engine == "ringtail", let wl = Workload(rawValue: workload) else { usage() }
        guard (1...4096).contains(threads), sync == 0 || sync == 1 else { usage() }
        let count = n ?? (wl == .iot || wl == .scan ? 10_000 : 1_000_000)
        if count == 0 { usage() }
        if wl == .iot && threads != 1 {
            note("iot is a single-writer workload (--threads 1)")
            exit(2)
        }
        if wl == .iot && count > 99_999_999 { usage() }
        if wl == .scan && scans == 0 { usage() }
        return Config(workload: wl, directory: directory, n: count, threads: Int(threads), sync: Int(sync),
                      scans: scans, seed: seed)
    }

    // MARK: Engine

    static func engineOptions(_ config: Config) -> EngineOptions {
        var options = EngineOptions()
        options.syncMode = config.syncMode
        options.memtableBudget = .mebibytes(Settings.memtableBudgetMiB)
        options.memtableFlushBytes = .mebibytes(Settings.memtableFlushMiB)
        options.blockCacheBytes = .mebibytes(Settings.blockCacheMiB)
        return options
    }

    static func tableDefinition(_ config: Config) -> TableDefinition {
        var options = TableOptions()
        options.compression = .lz4
        options.blockBytes = .kibibytes(Settings.blockKiB)
        options.bloomFalsePositiveChance = Settings.bloomFalsePositiveChance
        if config.tableName == "kv" {
            return TableDefinition(keyspace: "bench", name: "kv", partitionKey: [ColumnDefinition("key", .blob)],
                                   columns: [ColumnDefinition("v", .blob)], options: options)
        }
        return TableDefinition(keyspace: "bench", name: "iot", partitionKey: [ColumnDefinition("sensor", .text)],
                               clusteringKey: [ColumnDefinition("ts", .timestamp)],
                               columns: [ColumnDefinition("v", .blob)], options: options)
    }

    // MARK: Run

    static func run(_ config: Config) {
        let dir = config.directory
        if config.workload.isWrite {
            if mkdir(dir, 0o755) != 0 && errno != EEXIST { die("mkdir \(dir): \(String(cString: strerror(errno)))") }
        } else if access(dir + "/MANIFEST", F_OK) != 0 {
            // The peers open with create_if_missing=false.
            die("\(dir) holds no Ringtail database (no MANIFEST)")
        }

        let engine: StorageEngine
        do {
            engine = try StorageEngine(directory: dir, fileSystem: PosixFileSystem(), clock: SystemClock(),
                                       options: engineOptions(config))
        } catch { die("open \(dir): \(error)") }
        let qualified = "bench." + config.tableName
        let table: TableID
        if let existing = engine.table(named: qualified) {
            table = existing.0
        } else if config.workload.isWrite {
            do { table = try engine.createTable(tableDefinition(config)) } catch { die("create table \(qualified): \(error)") }
        } else {
            die("\(dir) has no table \(qualified)")
        }

        let barrier = Barrier(count: config.threads)
        let results = (0..<config.threads).map { _ in WorkerResult() }
        var threads: [WorkerThread] = []
        threads.reserveCapacity(config.threads)
        for t in 0..<config.threads {
            let out = results[t]
            threads.append(WorkerThread(name: "bench-\(t)") {
                worker(config, engine: engine, table: table, tid: t, barrier: barrier, out: out)
            })
        }
        for thread in threads { thread.join() }

        var all = LatencyHistogram()
        var start = UInt64.max, end: UInt64 = 0, ops: UInt64 = 0, found: UInt64 = 0, rows: UInt64 = 0
        for r in results {
            all.merge(r.histogram)
            start = min(start, r.start)
            end = max(end, r.end)
            ops += r.ops
            found += r.found
            rows += r.rows
        }
        let seconds = Double(end - start) / 1e9

        let stats = engine.statistics
        do { try engine.close() } catch { die("close: \(error)") }
        let disk = directoryBytes(dir)
        let rss = peakRSSMebibytes()
        note("engine statistics after \(config.workload.rawValue):\n" + stats.description)

        if config.workload == .readrandom && found != config.n { die("readrandom: found \(found) of \(config.n)") }
        if config.workload == .scan && rows != config.scans * Layout.iotReadings { die("scan: row total mismatch") }

        var line = "{\"engine\":\"ringtail\",\"workload\":\"\(config.workload.rawValue)\""
        line += cFormat(",\"n\":%llu,\"ops\":%llu,\"threads\":%d,\"sync\":%d,\"seed\":%llu",
                        config.n, ops, Int32(config.threads), Int32(config.sync), config.seed)
        line += cFormat(",\"seconds\":%.4f,\"ops_per_sec\":%.1f", seconds, seconds > 0 ? Double(ops) / seconds : 0.0)
        line += cFormat(",\"p50_us\":%.3f,\"p99_us\":%.3f,\"p999_us\":%.3f,\"max_us\":%.3f",
                        all.quantile(0.50) / 1e3, all.quantile(0.99) / 1e3, all.quantile(0.999) / 1e3,
                        Double(all.count > 0 ? all.max : 0) / 1e3)
        line += cFormat(",\"peak_rss_mb\":%.1f,\"disk_bytes\":%llu", rss, disk)
        if config.workload == .readrandom { line += cFormat(",\"found\":%llu", found) }
        if config.workload == .scan { line += cFormat(",\"rows\":%llu,\"scans\":%llu", rows, config.scans) }
        let bloomBits = -log(Settings.bloomFalsePositiveChance) / (M_LN2 * M_LN2)
        line += cFormat(",\"write_buffer_mb\":%d,\"block_cache_mb\":%d,\"bloom_bits_per_key\":%.1f,\"block_size_kb\":%d",
                        Int32(Settings.memtableFlushMiB), Int32(Settings.blockCacheMiB), bloomBits, Int32(Settings.blockKiB))
        // Ringtail keeps every live SSTable open: no open-file limit.
        line += ",\"max_open_files\":null,\"compression\":\"lz4\""
        line += ",\"sync_mode\":\"\(config.syncModeName)\""
        line += cFormat(",\"memtable_budget_mb\":%d,\"bloom_fp_chance\":%.2f}", Int32(Settings.memtableBudgetMiB),
                        Settings.bloomFalsePositiveChance)
        writeAll(1, line + "\n")
    }

    // MARK: Workers

    static func worker(_ c: Config, engine: StorageEngine, table: TableID, tid: Int, barrier: Barrier, out: WorkerResult) {
        var h = LatencyHistogram()
        let step = UInt64(c.threads), first = UInt64(tid)
        let column = Array("v".utf8)
        var ops: UInt64 = 0, found: UInt64 = 0, rows: UInt64 = 0

        barrier.wait()
        out.start = nowNanoseconds()
        switch c.workload {
        case .fillrandom:
            var i = first
            while i < c.n {
                let cell = Cell(column: column, timestamp: timestampBase &+ Int64(bitPattern: i), value: makeValue(i))
                let mutation = Mutation(table: table, update: PartitionUpdate(key: makeKey(i), rows: [Row(clustering: [], cells: [cell])]))
                let a = nowNanoseconds()
                do { try engine.apply(mutation) } catch { die("put key(\(i)): \(error)") }
                h.record(nowNanoseconds() &- a)
                ops += 1
                i += step
            }

        case .readrandom:
            var k = first
            while k < c.n {
                let j = splitmix64(c.seed &+ k) % c.n
                let key = makeKey(j)
                let a = nowNanoseconds()
                let result: PartitionResult
                do { result = try engine.read(table, key: key) } catch { die("get key(\(j)): \(error)") }
                h.record(nowNanoseconds() &- a)
                ops += 1
                guard let row = result.rows.first, let cell = row.cells.first else {
                    die("readrandom: key(\(j)) = \(String(decoding: key, as: UTF8.self)) not found")
                }
                if result.rows.count != 1 || row.cells.count != 1 || cell.column != column || cell.value != makeValue(j) {
                    die("readrandom: key(\(j)) has a wrong value (len \(cell.value.count), \(result.rows.count) rows, \(row.cells.count) cells)")
                }
                found += 1
                k += step
            }

        case .iot: // single writer, enforced by parseArguments
            for t in 0..<Layout.iotReadings {
                for s in 0..<c.n {
                    let cell = Cell(column: column, timestamp: timestampBase &+ Int64(bitPattern: t &* c.n &+ s),
                                    value: makeIoTValue(s, t))
                    let row = Row(clustering: makeIoTClustering(t), cells: [cell])
                    let mutation = Mutation(table: table, update: PartitionUpdate(key: makeIoTPrefix(s), rows: [row]))
                    let a = nowNanoseconds()
                    do { try engine.apply(mutation) } catch { die("put sensor \(s) reading \(t): \(error)") }
                    h.record(nowNanoseconds() &- a)
                    ops += 1
                }
            }

        case .scan:
            var k = first
            while k < c.scans {
                let s = splitmix64(c.seed &+ k) % c.n
                let key = makeIoTPrefix(s)
                let a = nowNanoseconds()
                let result: PartitionResult
                do { result = try engine.read(table, key: key, slice: .all, limit: Int(Layout.iotReadings)) } catch {
                    die("scan sensor \(s): \(error)")
                }
                h.record(nowNanoseconds() &- a)
                ops += 1
                if result.rows.count != Int(Layout.iotReadings) {
                    die("scan: sensor \(s) returned \(result.rows.count) rows, expected \(Layout.iotReadings)")
                }
                for row in result.rows where row.clustering.count != Layout.iotClusteringBytes
                    || row.cells.count != 1 || row.cells[0].value.count != Layout.iotValueBytes {
                    die("scan: sensor \(s) returned a malformed row")
                }
                rows += UInt64(result.rows.count)
                k += step
            }
        }
        out.end = nowNanoseconds()
        out.histogram = h
        out.ops = ops
        out.found = found
        out.rows = rows
    }

    // MARK: Self test

    /// Prints the reference keys and values in peer_bench.c's `--selftest` format.
    static func selftest() {
        for i: UInt64 in 0..<3 {
            let key = makeKey(i)
            let ref = String(splitmix64(i), radix: 16)
            guard String(repeating: "0", count: 16 - ref.count) + ref == String(decoding: key, as: UTF8.self) else {
                die("selftest: hex mismatch")
            }
            print("key(\(i))=\(String(decoding: key, as: UTF8.self)) value(\(i))=\(String(decoding: makeValue(i), as: UTF8.self))")
        }
        func hex(_ bytes: [UInt8]) -> String {
            bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
        }
        print("iot key(s=7,t=3)=\(hex(makeIoTPrefix(7) + makeIoTClustering(3))) value=\(hex(makeIoTValue(7, 3)))")
        guard let check = LatencyHistogram.selfCheck() else { die("selftest: histogram layout differs from peer_bench.c") }
        print(cFormat("histogram buckets=%u worst_relative_error=%.5f", UInt32(check.buckets), check.worst))
    }
}
