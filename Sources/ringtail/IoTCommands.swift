// The IoT pipeline from the command line: `ringtail iot produce` generates a
// fleet's readings into a topic, `ringtail sink` writes a topic into the
// readings table through a consumer group, and `ringtail iot query` and
// `ringtail iot daily` read a sensor's readings and daily aggregates back.
import ArgumentParser
import Foundation
import RingtailCore
import RingtailStorage
import RingtailCluster
import RingtailLog
import RingtailServer
import Ringtail

struct IoTCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "iot", abstract: "Generate IoT readings, and query them back.",
                                                    subcommands: [Produce.self, Query.self, Daily.self])

    struct Produce: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Produce generated readings (environmental sensors, wearables, smart meters; some late) keyed by sensor id.")
        @Option(help: "The topic (created with 6 partitions if missing).") var topic = "readings"
        @Option(help: "Sensors in the fleet.") var sensors = 1000
        @Option(help: "Target readings per second (0: as fast as possible).") var rate = 10_000
        @Option(help: "Readings to produce.") var count: Int?
        @Option(help: "Stop after this long (e.g. 30s), if --count is not given.") var duration = "10s"
        @Option(name: .customLong("days-back"), help: "The first reading is this many days before now.") var daysBack = 2
        @Option(name: .customLong("late"), help: "Share of readings that arrive 2 or 10 days late.") var lateFraction = 0.01
        @Option(help: "acks: all, 1 or 0.") var acks = "1"
        @Option(help: "Compression: none, lz4 or zstd.") var compression = "lz4"
        @Option(help: "Seed of the generator.") var seed: UInt64 = 1
        @OptionGroup var connection: ConnectionOptions

        func run() throws {
            let options = try producerOptions(acks: acks, compression: compression)
            let limit = try duration.isEmpty ? nil : parseDurationOption(duration, "--duration")
            let nowMillis = Int64(Date().timeIntervalSince1970 * 1000)
            var generatorOptions = IoTGenerator.Options(startMillis: IoTTable.startOfDay(nowMillis) - Int64(daysBack) * 86_400_000)
            generatorOptions.sensors = sensors
            generatorOptions.lateFraction = lateFraction
            generatorOptions.seed = seed
            let (topic, rate, count, producerOptions, fleet) = (self.topic, self.rate, self.count, options, generatorOptions)
            let started = ContinuousClock.now
            let (sent, late) = try connection.withLog { client -> (Int, Int) in
                if (try? await client.topic(topic)) == nil {
                    try await client.createTopic(topic, config: TopicConfig(partitions: 6, replicationFactor: min(3, max(1, (try await client.refreshMetadata()).brokers.count))))
                }
                let producer = LogProducer(client: client, options: producerOptions)
                var generator = IoTGenerator(options: fleet)
                let begin = ContinuousClock.now
                var sent = 0
                while count.map({ sent < $0 }) ?? true {
                    if count == nil, let limit, ContinuousClock.now - begin >= limit { break }
                    if rate > 0, sent % 100 == 0 {
                        let due = Double(sent) / Double(rate)
                        let elapsed = (ContinuousClock.now - begin).secondsDouble
                        if due > elapsed { try await Task.sleep(for: .milliseconds(Int64((due - elapsed) * 1000))) }
                    }
                    let reading = generator.next()
                    try await producer.send(topic: topic, key: Array(reading.sensor.utf8), value: reading.encodedValue(),
                                            timestampMillis: reading.timestampMillis)
                    sent += 1
                }
                try await producer.close()
                return (sent, generator.late)
            }
            let seconds = (ContinuousClock.now - started).secondsDouble
            print("produced \(sent) readings (\(late) late) from \(sensors) sensors to \(topic) in \(String(format: "%.1f", seconds)) s (\(Int(Double(sent) / max(seconds, 0.001))) readings/s)")
        }
    }

    struct Query: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "A sensor's readings in a time range, oldest first.")
        @Option(help: "KEYSPACE.TABLE") var table = "iot.readings"
        @Option var sensor: String
        @Option(help: "From (ISO 8601, µs, or 'now'); default: 3 days ago.") var from: String?
        @Option(help: "To; default: now.") var to = "now"
        @Option var limit = 1000
        @Option(help: "Consistency level.") var consistency = "ONE"
        @OptionGroup var connection: ConnectionOptions

        func run() throws {
            let now = Int64(Date().timeIntervalSince1970 * 1_000_000)
            guard case .timestamp(let toMicros) = try Values.parse(to, as: .timestamp, nowMicros: now) else { return }
            let fromMicros: Int64
            if let from, case .timestamp(let f) = try Values.parse(from, as: .timestamp, nowMicros: now) { fromMicros = f } else { fromMicros = now - 3 * 86_400_000_000 }
            let rows = try readRange(table: table, sensor: sensor, from: fromMicros, to: toMicros, limit: limit,
                                     level: try parseLevel(consistency), connection: connection)
            let keyColumns: Set<String> = ["sensor", "day", "ts"]
            for row in rows {
                let values = row.values.filter { $0.key != "kind" && !keyColumns.contains($0.key) }.sorted { $0.key < $1.key }
                    .map { "\($0.key)=\($0.value)" }.joined(separator: " ")
                if connection.json {
                    var object: [String: Any] = ["ts": Values.render(row.clusteringKey[0])]
                    for (column, value) in row.values where !keyColumns.contains(column) { object[column] = Values.json(value) }
                    print(Values.jsonLine(object))
                } else {
                    print("\(Values.render(row.clusteringKey[0]))\t\(values)")
                }
            }
            if !connection.json { print("(\(rows.count) readings)") }
        }
    }

    struct Daily: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Daily aggregates of one metric: count, average, sum, max, and the change from the day before.")
        @Option(help: "KEYSPACE.TABLE") var table = "iot.readings"
        @Option var sensor: String
        @Option(help: "temperature, humidity, voltage, heart_rate, steps, stress or energy_kwh.") var metric: String
        @Option(help: "Days back from today.") var days = 3
        @Option(help: "Consistency level.") var consistency = "ONE"
        @OptionGroup var connection: ConnectionOptions

        func run() throws {
            guard IoTTable.metricColumns.contains(metric), metric != "interval" else {
                throw ValidationError("--metric must be one of \(IoTTable.metricColumns.dropLast().joined(separator: ", "))")
            }
            let nowMillis = Int64(Date().timeIntervalSince1970 * 1000)
            let firstDay = IoTTable.startOfDay(nowMillis) - Int64(days) * 86_400_000
            let level = try parseLevel(consistency)
            let rows = try readRange(table: table, sensor: sensor, from: firstDay * 1000, to: nowMillis * 1000, limit: 10_000_000,
                                     level: level, connection: connection)
            var byDay: [String: [Double]] = [:]
            for row in rows {
                // Meters' daily totals are a different series from their 15-minute readings.
                if case .double(let interval)? = row.values["interval"], interval == 86_400 { continue }
                guard case .double(let v)? = row.values[metric], case .timestamp(let ts) = row.clusteringKey[0] else { continue }
                byDay[IoTTable.day(ofMillis: ts / 1000), default: []].append(v)
            }
            print("day\tcount\tavg\tsum\tmax\tΔavg\tΔsum")
            var previous: (avg: Double, sum: Double)?
            for day in byDay.keys.sorted() {
                let values = byDay[day]!
                let sum = values.reduce(0, +), avg = sum / Double(values.count), max = values.max()!
                let delta = previous.map { (String(format: "%+.3f", avg - $0.avg), String(format: "%+.3f", sum - $0.sum)) } ?? ("-", "-")
                print("\(day)\t\(values.count)\t\(String(format: "%.3f", avg))\t\(String(format: "%.3f", sum))\t\(String(format: "%.3f", max))\t\(delta.0)\t\(delta.1)")
                previous = (avg, sum)
            }
        }
    }
}

/// A sensor's rows between two times (µs), reading each UTC day's partition.
func readRange(table: String, sensor: String, from: Int64, to: Int64, limit: Int, level: ConsistencyLevel,
               connection: ConnectionOptions) throws -> [ResultRow] {
    let endpoint = try connection.endpoint()
    return try blocking {
        let client = try await NetworkClient.connect(to: [endpoint], consistency: level)
        defer { client.close() }
        var out: [ResultRow] = []
        var day = IoTTable.startOfDay(from / 1000)
        while day <= to / 1000 && out.count < limit {
            let rows = try await client.select(from: table, partitionKey: [.text(sensor), .text(IoTTable.day(ofMillis: day))],
                                               range: .from(.timestamp(from), through: .timestamp(to)), limit: limit - out.count)
            out += rows
            day += 86_400_000
        }
        return out
    }
}

/// Rows written by all of a sink's workers.
actor SinkProgress {
    var rows = 0
    func add(_ n: Int) -> Int {
        rows += n
        return rows
    }
}

struct SinkCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sink",
        abstract: "Write a topic of readings into a time-series table through a consumer group (at least once, idempotent).")
    @Option var topic = "readings"
    @Option(help: "KEYSPACE.TABLE") var table = "iot.readings"
    @Option var group = "sink"
    @Option(help: "Consistency level of the writes.") var consistency = "QUORUM"
    @Option(help: "Group members in this process.") var workers = 2
    @Option(help: "Create the keyspace (with --rf) and table if missing.") var rf = 3
    @Option(name: .customLong("timeout"), help: "Stop after this long without a reading (e.g. 10s); default: never.") var idleTimeout: String?
    @Option(name: .customLong("max-rows"), help: "Stop once the workers together have written this many rows.") var maxRows: Int?
    @OptionGroup var connection: ConnectionOptions

    func run() throws {
        let level = try parseLevel(consistency)
        let idle = try idleTimeout.map { try parseDurationOption($0, "--timeout") }
        let parts = table.split(separator: ".").map(String.init)
        guard parts.count == 2 else { throw ValidationError("--table must be KEYSPACE.TABLE") }
        // The keyspace and table, if missing.
        let keyspace = KeyspaceDefinition(name: parts[0], replication: .simple(replicationFactor: rf))
        _ = try create(.createKeyspace(keyspace.encoded()), ifNotExists: true, with: connection)
        var w = ByteWriter()
        IoTTable.definition(keyspace: parts[0], name: parts[1]).encode(into: &w)
        _ = try create(.createTable(w.bytes), ifNotExists: true, with: connection)

        let endpoint = try connection.endpoint()
        let (topic, table, group, workers, maxRows) = (self.topic, self.table, self.group, self.workers, self.maxRows)
        let started = ContinuousClock.now
        let (rows, bad) = try blocking { () -> (Int, Int) in
            let log = LogClient(bootstrap: [endpoint])
            let store = try await NetworkClient.connect(to: [endpoint], consistency: level)
            defer { store.close() }
            var options = GroupConsumerOptions()
            options.reset = .earliest
            options.sessionTimeout = .seconds(30) // a loaded cluster may answer heartbeats late
            // Polls bounded like Kafka's max.poll.records: a member writing a huge poll misses rebalances.
            options.fetchBytes = 256 << 10 // small polls: a busy member rejoins a rebalance in time
            let sinks = (0..<workers).map { _ in
                IoTSink(consumer: LogGroupConsumer(client: log, group: group, topics: [topic], options: options), store: store,
                        table: table, consistency: level)
            }
            let progress = SinkProgress()
            let totals = try await withThrowingTaskGroup(of: (Int, Int).self) { tasks in
                for sink in sinks {
                    tasks.addTask {
                        var last = ContinuousClock.now
                        var written = 0
                        while true {
                            let n = try await sink.step()
                            written += n
                            if n > 0 { last = .now }
                            let total = await progress.add(n)
                            if let idle, ContinuousClock.now - last >= idle { break }
                            if let maxRows, total >= maxRows { break }
                        }
                        await sink.close()
                        return (written, await sink.statistics.badRecords)
                    }
                }
                var sum = (0, 0)
                for try await r in tasks { sum = (sum.0 + r.0, sum.1 + r.1) }
                return sum
            }
            await log.close()
            return totals
        }
        let seconds = (ContinuousClock.now - started).secondsDouble
        print("sank \(rows) readings into \(table) in \(String(format: "%.1f", seconds)) s (\(Int(Double(rows) / max(seconds, 0.001))) rows/s); \(bad) records were not readings")
    }
}
