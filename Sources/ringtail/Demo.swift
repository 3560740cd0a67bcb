// `ringtail local demo`: a narrated tour of the storage engine: an IoT table
// with time-window compaction, ingest, time-range queries, a range delete,
// TTL, flush and compaction, and a writer killed with SIGKILL whose every
// acknowledged write is found after restart.
import ArgumentParser
import Foundation
import RingtailCore
import RingtailPosix
import RingtailStorage

struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "A narrated tour of the storage engine (the quick start's main job).")
    @ParentCommand var local: LocalCommand
    /// Everything the demo writes lives under DATA/demo, which it deletes first.
    var data: String { local.engine.data + "/demo" }
    @Option var sensors: Int = 200
    @Option var readings: Int = 288

    func say(_ s: String) { print("\n== " + s) }

    func run() throws {
        let fs = PosixFileSystem()
        try? FileManager.default.removeItem(atPath: data)
        let clock = SystemClock()
        say("Opening a storage engine in \(data) (commit log sync: periodic, fsync every 10 s; the crash test below uses batch)")
        var options = EngineOptions()
        options.syncMode = .periodic(.seconds(10))
        let engine = try StorageEngine(directory: data + "/node", fileSystem: fs, clock: clock, options: options)
        var tableOptions = TableOptions()
        tableOptions.clusteringOrder = .descending
        tableOptions.compaction = .timeWindow(TimeWindowOptions(unit: .hours, size: 6))
        let def = TableDefinition(keyspace: "iot", name: "readings", partitionKey: [ColumnDefinition("sensor", .text)],
                                  clusteringKey: [ColumnDefinition("ts", .timestamp)],
                                  columns: [ColumnDefinition("temperature", .double), ColumnDefinition("humidity", .double)],
                                  options: tableOptions)
        let table = try engine.createTable(def)
        print("created iot.readings: partition key sensor, clustering ts (newest first), time-window compaction by 6 hours")

        let now = clock.wallMicros()
        let start = now - Int64(readings) * 300_000_000
        say("Ingesting \(sensors) sensors x \(readings) readings (every 5 minutes over the last day), in time order")
        let t0 = clock.now()
        for r in 0..<readings {
            let ts = start + Int64(r) * 300_000_000
            for s in 0..<sensors {
                let temp = 18.0 + Double(s % 10) + 3 * sin(Double(r) / 288 * 2 * .pi)
                let cells = [Cell(column: [], timestamp: ts, value: []),
                             Cell(column: Array("temperature".utf8), timestamp: ts, value: KeyCodec.encodeValue(.double(temp))),
                             Cell(column: Array("humidity".utf8), timestamp: ts, value: KeyCodec.encodeValue(.double(40 + Double(s % 7))))]
                try engine.apply(Mutation(table: table, update: PartitionUpdate(
                    key: KeyCodec.encodeKey([.text("sensor-\(s)")]),
                    rows: [Row(clustering: KeyCodec.encodeKey([.timestamp(ts)]), cells: cells)])))
            }
        }
        let seconds = (clock.now() - t0).secondsDouble
        print("\(sensors * readings) rows in \(String(format: "%.2f", seconds)) s (\(Int(Double(sensors * readings) / seconds)) rows/s, single writer; each write is in the OS when acknowledged, so it survives kill -9)")

        let key = KeyCodec.encodeKey([.text("sensor-7")])
        let lastHour = ClusteringRange(lower: .inclusive(KeyCodec.encodeKey([.timestamp(now - 3_600_000_000)])), upper: .unbounded)
        say("Query: sensor-7, last hour, newest first (limit 4)")
        printRows(try engine.read(table, key: key, slice: lastHour, limit: 4, descending: true).rows, def, json: false)

        say("Delete sensor-7's readings between 40 and 20 minutes ago (one range tombstone), then query the last hour again")
        let cut = ClusteringRange(lower: .inclusive(KeyCodec.encodeKey([.timestamp(now - 2_400_000_000)])),
                                  upper: .exclusive(KeyCodec.encodeKey([.timestamp(now - 1_200_000_000)])))
        try engine.apply(Mutation(table: table, update: PartitionUpdate(key: key, rangeTombstones: [
            RangeTombstone(range: cut, deletion: DeletionTime(markedAt: clock.wallMicros(), localDeletionTime: 0))])))
        let after = try engine.read(table, key: key, slice: lastHour, descending: true).rows
        print("\(after.count) rows in the last hour now (was 12)")

        say("A reading with a 2-second TTL")
        let ttlTs = now + 1
        try engine.apply(Mutation(table: table, update: PartitionUpdate(key: key, rows: [Row(clustering: KeyCodec.encodeKey([.timestamp(ttlTs)]), cells: [
            Cell(column: Array("temperature".utf8), timestamp: ttlTs, kind: .expiring(ttlSeconds: 2, expiresAt: 0), value: KeyCodec.encodeValue(.double(99))),
        ])])))
        let single = ClusteringRange.single(KeyCodec.encodeKey([.timestamp(ttlTs)]))
        print("visible now: \(try engine.read(table, key: key, slice: single).rows.count) row")
        Thread.sleep(forTimeInterval: 2.2)
        print("after 2.2 s: \(try engine.read(table, key: key, slice: single).rows.count) rows")

        say("Flush memtables to SSTables, then compact")
        try engine.flush()
        try engine.compact()
        try engine.close() // waits for background work: the live set is now stable
        let stats = engine.statistics
        print("live SSTables: \(stats.liveSSTables) (\(ByteCount(bytes: stats.liveSSTableBytes))); flushes \(stats.flushes), compactions \(stats.compactions)")
        for f in engine.sstables(of: table) {
            print("  \(f.path): \(f.statistics.partitionCount) partitions, \(f.statistics.rowCount) rows, level \(f.statistics.compactionLevel)")
        }
        if let first = engine.sstables(of: table).first {
            let report = try Inspector.sstable(first.path, fileSystem: fs, keep: 0)
            print("inspect \(Path.name(of: first.path)): digest and \(report.blockCount) block checksums verified")
        }

        try crashDemo()
        say("Done. Try: ringtail local --data \(data)/node scan iot.readings --key sensor-3 --limit 5 --desc")
    }

    /// Starts a writer process, kills it with SIGKILL, and checks every write it acknowledged.
    func crashDemo() throws {
        let directory = data + "/crash"
        say("Crash test: a writer process with 4 threads (batch sync) is killed with SIGKILL after 1.5 s")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL
        if !FileManager.default.isExecutableFile(atPath: process.executableURL!.path) {
            process.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        }
        process.arguments = ["local", "--data", directory, "--sync", "batch", "crash-writer", "--threads", "4"]
        // Acknowledgements go to a file: a pipe nobody reads would fill and
        // block the writer, and the kill would hit an idle process.
        let ackPath = data + "/crash-acks.txt"
        try? FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: ackPath, contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: ackPath))
        try process.run()
        Thread.sleep(forTimeInterval: 1.5)
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        let output = String(decoding: FileManager.default.contents(atPath: ackPath) ?? Data(), as: UTF8.self)
        let acked = output.split(separator: "\n").compactMap { $0.hasPrefix("ack ") ? Int($0.dropFirst(4)) : nil }
        print("writer killed (pid \(process.processIdentifier)); it had acknowledged \(acked.count) writes")
        let engine = try StorageEngine(directory: directory, fileSystem: PosixFileSystem(), clock: SystemClock())
        defer { try? engine.close() }
        guard let (table, _) = engine.table(named: "crash.rows") else { throw ValidationError("crash table missing") }
        var missing = 0
        for n in acked {
            let rows = try engine.read(table, key: Array("k\(n)".utf8)).rows
            if rows.first?.cells.count != 3 { missing += 1 }
        }
        let s = engine.statistics
        print("after restart: replayed \(s.replayedMutations) mutations from the commit log, torn tails truncated: \(s.tornTailsTruncated)")
        print(missing == 0 ? "all \(acked.count) acknowledged writes are present, each with all 3 cells"
                           : "LOST \(missing) acknowledged writes")
        if missing > 0 { throw ExitCode(1) }
    }
}
