// Append-log commands against a running cluster: `ringtail topic
// create|list|describe|delete`, `ringtail produce` (lines from standard
// input, or generated records) and `ringtail consume`. They talk to any node
// for metadata and to each partition's leader for data (LogClient).
import ArgumentParser
import Foundation
import RingtailCore
import RingtailLog
import RingtailServer
import RingtailSimulation
import Ringtail

extension ConnectionOptions {
    /// A log client bootstrapped from the node `--host` picks; closed after `body`.
    func withLog<T: Sendable>(_ body: @escaping @Sendable (LogClient) async throws -> T) throws -> T {
        let endpoint = try endpoint()
        return try blocking {
            let client = LogClient(bootstrap: [endpoint])
            do {
                let result = try await body(client)
                await client.close()
                return result
            } catch {
                await client.close()
                throw RequestFailure("\(error)")
            }
        }
    }
}

func parseDurationOption(_ text: String, _ name: String) throws -> Duration {
    if let d = SimulationScenario.parseDuration(text) { return d }
    if text.hasSuffix("d"), let days = Double(text.dropLast()), days > 0 { return .seconds(days * 86_400) }
    throw ValidationError("\(name) must be a duration such as 500ms, 30s, 15m, 12h or 7d; got '\(text)'")
}

struct TopicCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "topic", abstract: "Create, list, describe or delete topics.",
                                                    subcommands: [Create.self, List.self, Describe.self, Delete.self])

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a topic with P partitions replicated RF times.")
        @Argument(help: "The topic's name: letters, digits, '.', '_' and '-'.") var name: String
        @Option(name: .long, help: "Partitions.") var partitions = 3
        @Option(name: [.customLong("replication-factor"), .customLong("rf")], help: "Replicas of each partition.") var replicationFactor = 3
        @Option(name: .customLong("min-insync"), help: "In-sync replicas an acks=all produce needs (default: 2, or 1 with RF 1).")
        var minInsync: Int?
        @Option(help: "Delete closed segments older than this (e.g. 7d, 12h); 'forever' keeps them.") var retention = "7d"
        @Option(name: .customLong("retention-bytes"), help: "Keep at most about this many bytes per partition.") var retentionBytes: Int?
        @Option(name: .customLong("segment-bytes"), help: "Roll segments at this size.") var segmentBytes = 1 << 30
        @Flag(name: .customLong("flush-every-batch"), help: "fsync every batch before acknowledging it.") var flushEveryBatch = false
        @Flag(name: .customLong("if-not-exists"), help: "Succeed if the topic exists.") var ifNotExists = false
        @OptionGroup var connection: ConnectionOptions

        func run() throws {
            let retentionAge = retention == "forever" ? nil : try parseDurationOption(retention, "--retention")
            let config = TopicConfig(partitions: partitions, replicationFactor: replicationFactor, minInsyncReplicas: minInsync,
                                     retentionAge: retentionAge, retentionBytes: retentionBytes, segmentBytes: segmentBytes,
                                     flushEveryBatch: flushEveryBatch)
            if let problem = config.problem { throw ValidationError(problem) }
            let (name, ifNotExists) = (self.name, self.ifNotExists)
            let created = try connection.withLog { client in
                do {
                    try await client.createTopic(name, config: config)
                    return true
                } catch let error as LogClientError where ifNotExists && error.message.contains("exists") {
                    return false
                }
            }
            print(created ? "created topic \(name): \(partitions) partitions, replication factor \(replicationFactor)" : "topic \(name) exists")
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List topics.")
        @OptionGroup var connection: ConnectionOptions

        func run() throws {
            let json = connection.json
            let d = try connection.withLog { try await $0.refreshMetadata() }
            for t in d.topics {
                if json {
                    print(Values.jsonLine(["topic": t.name, "partitions": t.partitions.count, "replication_factor": t.config.replicationFactor]))
                } else {
                    print("\(t.name)\tpartitions \(t.partitions.count)\treplication factor \(t.config.replicationFactor)")
                }
            }
            if d.topics.isEmpty && !json { print("no topics (ringtail topic create NAME)") }
        }
    }

    struct Describe: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a topic's partitions: leader, epoch, replicas, in-sync replicas, offsets.")
        @Argument var name: String
        @OptionGroup var connection: ConnectionOptions

        func run() throws {
            let (name, json) = (self.name, connection.json)
            let (topic, controller, offsets) = try connection.withLog { client -> (TopicDescription, String?, [(Int64, Int64)]) in
                let d = try await client.refreshMetadata()
                guard let t = d.topics.first(where: { $0.name == name }) else {
                    throw LogClientError("no topic \(name); topics: \(d.topics.map(\.name).joined(separator: ", "))")
                }
                var offsets: [(Int64, Int64)] = []
                for p in t.partitions {
                    // One try each: a partition without a leader shows -1 at once.
                    let start = (try? await client.offset(topic: name, partition: p.partition, .earliest, attempts: 1)) ?? -1
                    let end = (try? await client.offset(topic: name, partition: p.partition, .latest, attempts: 1)) ?? -1
                    offsets.append((start, end))
                }
                return (t, d.controller, offsets)
            }
            let c = topic.config
            if !json {
                print("topic \(topic.name): \(topic.partitions.count) partitions, replication factor \(c.replicationFactor), min in-sync \(c.minInsyncReplicas), retention \(c.retentionAge.map { "\($0)" } ?? "forever")\(c.flushEveryBatch ? ", fsync every batch" : ""); controller \(controller ?? "none")")
                print("partition\tleader\tepoch\treplicas\tin-sync\tstart\thigh watermark")
            }
            for (p, (start, end)) in zip(topic.partitions, offsets) {
                if json {
                    print(Values.jsonLine(["partition": p.partition, "leader": p.leader ?? NSNull(), "leader_epoch": p.leaderEpoch,
                                           "replicas": p.replicas, "isr": p.isr, "log_start": start, "high_watermark": end]))
                } else {
                    print("\(p.partition)\t\(p.leader ?? "none")\t\(p.leaderEpoch)\t\(p.replicas.joined(separator: ","))\t\(p.isr.joined(separator: ","))\t\(start)\t\(end)")
                }
            }
        }
    }

    struct Delete: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a topic and its data on every replica.")
        @Argument var name: String
        @OptionGroup var connection: ConnectionOptions

        func run() throws {
            let name = self.name
            try connection.withLog { try await $0.deleteTopic(name) }
            print("deleted topic \(name)")
        }
    }
}

struct ProduceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "produce",
        abstract: "Produce records to a topic: one per line of standard input, or --count generated ones.")
    @Argument(help: "The topic.") var topic: String
    @Option(name: .customLong("key-separator"), help: "Split each line at the first SEP into key and value (otherwise no key).")
    var keySeparator: String?
    @Option(help: "acks: all, 1 or 0.") var acks = "all"
    @Option(help: "Compression: none, lz4 or zstd.") var compression = "none"
    @Option(help: "Send to this partition only.") var partition: Int?
    @Option(name: .customLong("linger"), help: "Wait this long to fill a batch.") var linger = "5ms"
    @Option(name: .customLong("batch-bytes"), help: "Send a batch once it holds this many bytes.") var batchBytes = 65536
    @Option(help: "Generate this many records ('key-N' → 'value-N', padded to --size) instead of reading standard input.") var count: Int?
    @Option(help: "Generated value size in bytes.") var size = 100
    @OptionGroup var connection: ConnectionOptions

    func run() throws {
        var options = try producerOptions(acks: acks, compression: compression)
        options.linger = try parseDurationOption(linger, "--linger")
        guard batchBytes >= 1024 && batchBytes <= 1 << 20 else { throw ValidationError("--batch-bytes must be 1024...1048576") }
        options.batchBytes = batchBytes
        let (topic, separator, partition, count, size) = (self.topic, keySeparator, self.partition, self.count, self.size)
        let producerOptions = options
        let started = ContinuousClock.now
        let sent = try connection.withLog { client -> Int in
            let producer = LogProducer(client: client, options: producerOptions)
            var sent = 0
            func now() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }
            if let count {
                for i in 0..<count {
                    var value = Array("value-\(i)".utf8)
                    if value.count < size { value += [UInt8](repeating: UInt8(ascii: "."), count: size - value.count) }
                    try await producer.send(topic: topic, key: Array("key-\(i)".utf8), value: value, timestampMillis: now(), partition: partition)
                    sent += 1
                }
            } else {
                while let line = readLine() {
                    var key: [UInt8]? = nil
                    var value = Array(line.utf8)
                    if let separator, let range = line.range(of: separator) {
                        key = Array(line[..<range.lowerBound].utf8)
                        value = Array(line[range.upperBound...].utf8)
                    }
                    try await producer.send(topic: topic, key: key, value: value, timestampMillis: now(), partition: partition)
                    sent += 1
                }
            }
            try await producer.close()
            return sent
        }
        let seconds = (ContinuousClock.now - started).secondsDouble
        FileHandle.standardError.write(Data("produced \(sent) records to \(topic) in \(String(format: "%.2f", seconds)) s (\(Int(Double(sent) / max(seconds, 0.001))) records/s)\n".utf8))
    }
}

/// How a consumer prints one record.
func printRecord(_ r: ConsumedRecord, json: Bool, printOffsets: Bool) {
    let value = String(decoding: r.value ?? [], as: UTF8.self)
    let key = r.key.map { String(decoding: $0, as: UTF8.self) }
    if json {
        print(Values.jsonLine(["partition": r.partition, "offset": r.offset, "timestamp": r.timestampMillis,
                               "key": key ?? NSNull(), "value": value]))
    } else {
        let prefix = printOffsets ? "\(r.partition):\(r.offset)\t" : ""
        print(prefix + (key.map { $0 + "\t" } ?? "") + value)
    }
}

struct ConsumeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "consume",
        abstract: "Print a topic's records as they arrive (key, then a tab, when there is a key).")
    @Argument var topic: String
    @Flag(name: .customLong("from-beginning"), help: "Start at the earliest offset (default: only new records).") var fromBeginning = false
    @Option(help: "Read this partition only.") var partition: Int?
    @Option(name: .customLong("max-messages"), help: "Stop after this many records.") var maxMessages: Int?
    @Option(name: .customLong("timeout"), help: "Stop after this long without a record (e.g. 5s); default: never.") var idleTimeout: String?
    @Flag(name: .customLong("print-offsets"), help: "Print partition and offset before each record.") var printOffsets = false
    @Option(help: "Consume as a member of this group: partitions are shared with the group's other members and offsets committed.")
    var group: String?
    @Option(help: "The group's assignor: range, roundrobin or cooperative-sticky.") var assignor = "cooperative-sticky"
    @Option(name: .customLong("session-timeout"), help: "A group member silent this long is removed and its partitions move.")
    var sessionTimeout = "10s"
    @OptionGroup var connection: ConnectionOptions

    func run() throws {
        let idle = try idleTimeout.map { try parseDurationOption($0, "--timeout") }
        if let group {
            guard let chosen = Assignor(rawValue: assignor) else { throw ValidationError("--assignor must be range, roundrobin or cooperative-sticky") }
            return try consumeInGroup(group, assignor: chosen, idle: idle, session: try parseDurationOption(sessionTimeout, "--session-timeout"))
        }
        let (topic, partition, maxMessages, fromBeginning, printOffsets, json) = (self.topic, self.partition, self.maxMessages, self.fromBeginning, self.printOffsets, connection.json)
        try connection.withLog { client in
            let consumer = try await LogConsumer(client: client, topic: topic, partitions: partition.map { [$0] },
                                                 start: fromBeginning ? .earliest : .latest)
            var printed = 0
            var lastRecord = ContinuousClock.now
            while maxMessages.map({ printed < $0 }) ?? true {
                let records = try await consumer.poll(maxWait: .milliseconds(500))
                if records.isEmpty, let idle, ContinuousClock.now - lastRecord >= idle { break }
                for r in records {
                    if let maxMessages, printed >= maxMessages { break }
                    printRecord(r, json: json, printOffsets: printOffsets)
                    printed += 1
                    lastRecord = ContinuousClock.now
                }
                flushStandardOutput()
            }
        }
    }

    /// Consumes as a group member until --max-messages or --timeout; commits and leaves at the end.
    func consumeInGroup(_ group: String, assignor: Assignor, idle: Duration?, session: Duration) throws {
        let (topic, maxMessages, fromBeginning, printOffsets, json) = (self.topic, self.maxMessages, self.fromBeginning, self.printOffsets, connection.json)
        try connection.withLog { client in
            var options = GroupConsumerOptions()
            options.assignor = assignor
            options.reset = fromBeginning ? .earliest : .latest
            options.sessionTimeout = session
            options.heartbeatInterval = min(.seconds(1), session / 3)
            let consumer = LogGroupConsumer(client: client, group: group, topics: [topic], options: options)
            var printed = 0
            var lastRecord = ContinuousClock.now
            while maxMessages.map({ printed < $0 }) ?? true {
                // Never more than --max-messages: what a poll hands out is committed at close.
                let records = try await consumer.poll(maxWait: .milliseconds(500), maxRecords: maxMessages.map { $0 - printed })
                if records.isEmpty, let idle, ContinuousClock.now - lastRecord >= idle { break }
                for r in records {
                    printRecord(r, json: json, printOffsets: printOffsets)
                    printed += 1
                    lastRecord = ContinuousClock.now
                }
                flushStandardOutput()
            }
            await consumer.close()
        }
    }
}

struct GroupsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "groups", abstract: "Show consumer groups.",
                                                    subcommands: [Describe.self])

    struct Describe: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "A group's members, their partitions, committed offsets and lag.")
        @Argument var group: String
        @OptionGroup var connection: ConnectionOptions

        func run() throws {
            let (group, json) = (self.group, connection.json)
            let (description, ends) = try connection.withLog { client -> (GroupDescription, [TopicPartitionID: Int64]) in
                let consumer = LogGroupConsumer(client: client, group: group, topics: [])
                let d = try await consumer.describe()
                var ends: [TopicPartitionID: Int64] = [:]
                let partitions = Set(d.committed.keys).union(d.members.flatMap(\.assignment))
                for tp in partitions {
                    ends[tp] = try? await client.offset(topic: tp.topic, partition: tp.partition, .latest, attempts: 1)
                }
                return (d, ends)
            }
            let owners = Dictionary(description.members.flatMap { m in m.assignment.map { ($0, m.memberID) } }, uniquingKeysWith: { a, _ in a })
            let partitions = Set(description.committed.keys).union(owners.keys).sorted()
            if json {
                for tp in partitions {
                    let lag: Any = zip2(description.committed[tp], ends[tp]).map { max(0, $1 - $0) } ?? NSNull()
                    print(Values.jsonLine(["topic": tp.topic, "partition": tp.partition, "member": owners[tp] ?? NSNull(),
                                           "committed": description.committed[tp] ?? NSNull(), "end": ends[tp] ?? NSNull(), "lag": lag]))
                }
                return
            }
            print("group \(description.group): \(description.state), generation \(description.generation), assignor \(description.assignor.isEmpty ? "none" : description.assignor), \(description.members.count) member(s)")
            print("topic\tpartition\tmember\tcommitted\tend\tlag")
            for tp in partitions {
                let lag = zip2(description.committed[tp], ends[tp]).map { String(max(0, $1 - $0)) } ?? "-"
                print("\(tp.topic)\t\(tp.partition)\t\(owners[tp] ?? "-")\t\(description.committed[tp].map(String.init) ?? "-")\t\(ends[tp].map(String.init) ?? "-")\t\(lag)")
            }
        }
    }
}

/// Producer options from `--acks` (all or -1, 1, 0) and `--compression`
/// (none, lz4, zstd); acks=all producers are idempotent.
func producerOptions(acks: String, compression: String) throws -> ProducerOptions {
    var options = ProducerOptions()
    switch acks {
    case "all", "-1": options.acks = .all
    case "1": options.acks = .leader
    case "0": options.acks = .none
    default: throw ValidationError("--acks must be all, 1 or 0")
    }
    guard let codec = BatchCompression(name: compression) else { throw ValidationError("--compression must be none, lz4 or zstd") }
    options.compression = codec
    options.idempotent = options.acks == .all
    return options
}

func zip2<A, B>(_ a: A?, _ b: B?) -> (A, B)? {
    guard let a, let b else { return nil }
    return (a, b)
}

/// Pushes printed lines out now (a consumer piped into another program).
func flushStandardOutput() {
    fflush(nil) // every output stream: no reference to the global `stdout`
}
