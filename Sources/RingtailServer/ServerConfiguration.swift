// A node's configuration file (TOML), as `ringtail node --config FILE`
// reads it: every key, its default, and the checks that turn a bad file
// into one clear error. docs/configuration.md documents each key; keep the
// two in step.
import Foundation
import TOMLKit
import RingtailCore
import RingtailStorage
import RingtailCluster
import RingtailNode

/// Why a configuration file was refused.
public struct ConfigurationError: Error, CustomStringConvertible, Sendable {
    public var path: String
    public var message: String
    public var description: String { "\(path): \(message)" }
}

/// Everything a `ringtail node` process needs, checked.
public struct ServerConfiguration: Sendable {
    public var clusterName = "ringtail"
    public var nodeName: String
    /// Where the node listens for peers (gossip, replica traffic).
    public var listenAddress: Endpoint
    /// Where the node listens for clients.
    public var clientAddress: Endpoint
    /// Peers to contact at start (`host:port`, their listen addresses).
    public var seeds: [Endpoint] = []
    public var datacenter = "dc1"
    public var rack = "r1"
    public var numTokens = TokenAllocator.defaultTokenCount
    /// Tokens to take instead of allocating (empty: allocate).
    public var initialTokens: [Int64] = []
    /// The replication factor the token allocator balances for.
    public var allocateTokensForReplicationFactor = 3
    /// How long a new node waits to learn the ring from its seeds before it
    /// allocates tokens (a seed that finds nobody allocates alone).
    public var joinWait: Duration = .seconds(5)
    public var dataDirectory: String
    public var engine = EngineOptions()
    public var coordinator = Coordinator.Options()
    public var hints = HintStore.Options()
    public var gossipInterval: Duration = .seconds(1)
    public var phiConvictThreshold: Double = 8
    public var frameBytesMax = 16 << 20
    /// Replica writes applied at once off the event loop (they share commit log syncs).
    public var replicaWriteThreads = 32
    /// How long SIGTERM waits for requests in flight before flushing.
    public var drainTimeout: Duration = .seconds(10)
    public var logLevel = "info"
    /// Whether clients may inject faults (`isolate`): for test clusters only.
    public var allowFaultInjection = false
    /// The append log's metadata voters (node names); nil runs no append log.
    public var metadataVoters: [String]?
    public var brokerSessionTimeout: Duration = .seconds(3)
    public var replicaLagMax: Duration = .seconds(10)
    public var replicaFetchWait: Duration = .milliseconds(500)

    public init(nodeName: String, listenAddress: Endpoint, clientAddress: Endpoint, dataDirectory: String) {
        self.nodeName = nodeName
        self.listenAddress = listenAddress
        self.clientAddress = clientAddress
        self.dataDirectory = dataDirectory
        engine.syncMode = .group(.milliseconds(2))
    }

    /// The file's keys, snake_case as written. Every one is optional but
    /// node_name, listen_address, client_address and data_directory.
    struct File: Decodable {
        var cluster_name: String?
        var node_name: String?
        var listen_address: String?
        var client_address: String?
        var seeds: [String]?
        var datacenter: String?
        var rack: String?
        var num_tokens: Int?
        var initial_tokens: [String]?
        var allocate_tokens_for_replication_factor: Int?
        var join_wait_ms: Int?
        var data_directory: String?
        var commit_log_sync: String?
        var commit_log_sync_group_window_ms: Int?
        var commit_log_sync_period_ms: Int?
        var commit_log_segment_mb: Int?
        var memtable_budget_mb: Int?
        var block_cache_mb: Int?
        var compaction_throughput_mb_per_sec: Int?
        var hinted_handoff_window_ms: Int?
        var max_hints_per_target_mb: Int?
        var write_journal: Bool?
        var write_request_timeout_ms: Int?
        var read_request_timeout_ms: Int?
        var gossip_interval_ms: Int?
        var phi_convict_threshold: Number?
        var max_frame_mb: Int?
        var replica_write_threads: Int?
        var drain_timeout_ms: Int?
        var log_level: String?
        var allow_fault_injection: Bool?
        var metadata_voters: [String]?
        var broker_session_timeout_ms: Int?
        var replica_lag_max_ms: Int?
        var replica_fetch_wait_ms: Int?
    }

    /// A TOML number written either way (`8` or `8.0`).
    struct Number: Decodable {
        var value: Double
        init(from decoder: Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let d = try? c.decode(Double.self) { value = d } else { value = Double(try c.decode(Int.self)) }
        }
    }

    /// Reads and checks a TOML file. Relative data directories are taken
    /// from the file's folder. Unknown keys are an error (a typo must not
    /// silently fall back to a default).
    public static func load(path: String) throws(ConfigurationError) -> ServerConfiguration {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ConfigurationError(path: path, message: "cannot read the file: \(error.localizedDescription)")
        }
        return try parse(text, path: path)
    }

    public static func parse(_ text: String, path: String) throws(ConfigurationError) -> ServerConfiguration {
        func fail(_ m: String) -> ConfigurationError { ConfigurationError(path: path, message: m) }
        let file: File
        do {
            var decoder = TOMLDecoder()
            decoder.strictDecoding = true
            file = try decoder.decode(File.self, from: text)
        } catch let e as TOMLParseError {
            throw fail("not valid TOML at \(e.source.begin): \(e.description)")
        } catch let e as UnexpectedKeysError {
            throw fail("unknown key(s): \(e.keys.keys.sorted().joined(separator: ", ")) (see docs/configuration.md)")
        } catch {
            throw fail("a key has the wrong type: \(error)")
        }
        guard let name = file.node_name, !name.isEmpty, name.utf8.count <= 64,
              name.utf8.allSatisfy({ $0 > 32 && $0 < 127 && $0 != UInt8(ascii: ",") }) else {
            throw fail("node_name is required: 1-64 printable characters, no spaces or commas")
        }
        guard let listenText = file.listen_address, let listen = Endpoint(listenText) else {
            throw fail("listen_address is required, as host:port")
        }
        guard let clientText = file.client_address, let client = Endpoint(clientText) else {
            throw fail("client_address is required, as host:port")
        }
        guard client != listen else { throw fail("client_address must differ from listen_address (\(listen))") }
        guard var directory = file.data_directory, !directory.isEmpty else { throw fail("data_directory is required") }
        if !directory.hasPrefix("/") {
            directory = Path.join(Path.directory(of: URL(fileURLWithPath: path).path), directory)
        }
        var c = ServerConfiguration(nodeName: name, listenAddress: listen, clientAddress: client, dataDirectory: directory)
        if let v = file.cluster_name {
            guard !v.isEmpty, v.utf8.count <= 255 else { throw fail("cluster_name must be 1-255 bytes") }
            c.clusterName = v
        }
        for seed in file.seeds ?? [] {
            guard let e = Endpoint(seed) else { throw fail("seed '\(seed)' is not host:port") }
            c.seeds.append(e)
        }
        for (key, value) in [("datacenter", file.datacenter), ("rack", file.rack)] {
            guard let value else { continue }
            guard TableDefinition.isValidName(value) else { throw fail("\(key) must be 1-48 letters, digits or underscores") }
            if key == "datacenter" { c.datacenter = value } else { c.rack = value }
        }
        if let v = file.num_tokens {
            guard (1...1024).contains(v) else { throw fail("num_tokens must be 1...1024") }
            c.numTokens = v
        }
        for t in file.initial_tokens ?? [] {
            guard let token = Int64(t), token != Int64.min else { throw fail("initial token '\(t)' is not a 64-bit token above Int64.min") }
            c.initialTokens.append(token)
        }
        guard Set(c.initialTokens).count == c.initialTokens.count else { throw fail("initial_tokens repeats a token") }
        if let v = file.allocate_tokens_for_replication_factor {
            guard (1...64).contains(v) else { throw fail("allocate_tokens_for_replication_factor must be 1...64") }
            c.allocateTokensForReplicationFactor = v
        }
        func ms(_ v: Int?, _ key: String, _ range: ClosedRange<Int>) throws(ConfigurationError) -> Duration? {
            guard let v else { return nil }
            guard range.contains(v) else { throw fail("\(key) must be \(range.lowerBound)...\(range.upperBound)") }
            return .milliseconds(v)
        }
        func mb(_ v: Int?, _ key: String, _ range: ClosedRange<Int>) throws(ConfigurationError) -> ByteCount? {
            guard let v else { return nil }
            guard range.contains(v) else { throw fail("\(key) must be \(range.lowerBound)...\(range.upperBound) MiB") }
            return .mebibytes(v)
        }
        if let v = try ms(file.join_wait_ms, "join_wait_ms", 0...600_000) { c.joinWait = v }
        let window = try ms(file.commit_log_sync_group_window_ms, "commit_log_sync_group_window_ms", 0...1000) ?? .milliseconds(2)
        let period = try ms(file.commit_log_sync_period_ms, "commit_log_sync_period_ms", 1...600_000) ?? .seconds(10)
        switch file.commit_log_sync ?? "group" {
        case "group": c.engine.syncMode = .group(window)
        case "batch": c.engine.syncMode = .batch
        case "periodic": c.engine.syncMode = .periodic(period)
        case let other: throw fail("commit_log_sync '\(other)' is not one of batch, group, periodic")
        }
        if let v = try mb(file.commit_log_segment_mb, "commit_log_segment_mb", 1...1024) { c.engine.commitLogSegmentBytes = v }
        if let v = try mb(file.memtable_budget_mb, "memtable_budget_mb", 4...65536) { c.engine.memtableBudget = v }
        if let v = try mb(file.block_cache_mb, "block_cache_mb", 0...65536) { c.engine.blockCacheBytes = v }
        if let v = file.compaction_throughput_mb_per_sec {
            guard (0...10_000).contains(v) else { throw fail("compaction_throughput_mb_per_sec must be 0 (unthrottled)...10000") }
            c.engine.compactionBytesPerSecond = v == 0 ? nil : .mebibytes(v)
        }
        if let v = try ms(file.hinted_handoff_window_ms, "hinted_handoff_window_ms", 0...(30 * 86_400_000)) { c.hints.window = v }
        if let v = try mb(file.max_hints_per_target_mb, "max_hints_per_target_mb", 1...1_048_576) { c.hints.targetBytesMax = v }
        if let v = try ms(file.write_request_timeout_ms, "write_request_timeout_ms", 10...600_000) { c.coordinator.writeTimeout = v }
        if let v = try ms(file.read_request_timeout_ms, "read_request_timeout_ms", 10...600_000) { c.coordinator.readTimeout = v }
        if let v = try ms(file.gossip_interval_ms, "gossip_interval_ms", 10...60_000) { c.gossipInterval = v }
        if let v = file.phi_convict_threshold?.value {
            guard v >= 1 && v <= 100 else { throw fail("phi_convict_threshold must be 1...100") }
            c.phiConvictThreshold = v
        }
        if let v = file.max_frame_mb {
            guard (1...256).contains(v) else { throw fail("max_frame_mb must be 1...256") }
            c.frameBytesMax = v << 20
        }
        if let v = file.replica_write_threads {
            guard (1...1024).contains(v) else { throw fail("replica_write_threads must be 1...1024") }
            c.replicaWriteThreads = v
        }
        if let v = try ms(file.drain_timeout_ms, "drain_timeout_ms", 0...600_000) { c.drainTimeout = v }
        if let v = file.log_level {
            guard ["trace", "debug", "info", "notice", "warning", "error", "critical"].contains(v) else {
                throw fail("log_level must be trace, debug, info, notice, warning, error or critical")
            }
            c.logLevel = v
        }
        c.coordinator.journal = file.write_journal ?? true
        c.allowFaultInjection = file.allow_fault_injection ?? false
        if let voters = file.metadata_voters {
            guard (1...7).contains(voters.count), Set(voters).count == voters.count, voters.allSatisfy({ !$0.isEmpty && $0.utf8.count <= 64 }) else {
                throw fail("metadata_voters must name 1 to 7 distinct nodes")
            }
            c.metadataVoters = voters
        } else if c.seeds.isEmpty || c.seeds == [listen] {
            // A node on its own runs the append log with itself as the only voter.
            c.metadataVoters = [name]
        }
        if let v = try ms(file.broker_session_timeout_ms, "broker_session_timeout_ms", 500...600_000) { c.brokerSessionTimeout = v }
        if let v = try ms(file.replica_lag_max_ms, "replica_lag_max_ms", 100...600_000) { c.replicaLagMax = v }
        if let v = try ms(file.replica_fetch_wait_ms, "replica_fetch_wait_ms", 0...60_000) { c.replicaFetchWait = v }
        return c
    }

    /// The node's configuration for the cluster core.
    public var nodeConfiguration: NodeConfiguration {
        var n = NodeConfiguration(id: NodeID(nodeName), location: NodeLocation(datacenter: datacenter, rack: rack),
                                  directory: dataDirectory)
        n.clusterName = clusterName
        n.engine = engine
        n.engine.background = .threads
        n.coordinator = coordinator
        n.hints = hints
        n.gossipInterval = gossipInterval
        n.phiConvictThreshold = phiConvictThreshold
        n.wireLimits.frameBytesMax = frameBytesMax
        n.advertised = ["addr": listenAddress.description, "client": clientAddress.description]
        if let voters = metadataVoters {
            var log = LogServiceConfiguration(voters: voters.map(NodeID.init))
            log.sessionTimeout = brokerSessionTimeout
            log.replication.replicaLagMax = replicaLagMax
            log.replication.fetchWait = replicaFetchWait
            n.log = log
        }
        return n
    }
}
