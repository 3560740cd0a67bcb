import RingtailCore
import RingtailStorage
import RingtailCluster
import RingtailNode
import Testing
@testable import RingtailServer

@Suite struct ServerConfigurationTests {
    static let minimal = """
    node_name = "n1"
    listen_address = "127.0.0.1:7001"
    client_address = "127.0.0.1:9001"
    data_directory = "data"
    """

    @Test func defaultsFillEveryOtherKey() throws {
        let c = try ServerConfiguration.parse(Self.minimal, path: "/etc/ringtail/n1.toml")
        #expect(c.nodeName == "n1" && c.clusterName == "ringtail")
        #expect(c.listenAddress == Endpoint(host: "127.0.0.1", port: 7001))
        #expect(c.dataDirectory == "/etc/ringtail/data", "relative to the file's folder")
        #expect(c.engine.syncMode == .group(.milliseconds(2)))
        #expect(c.numTokens == 16 && c.seeds.isEmpty && c.datacenter == "dc1" && c.rack == "r1")
        #expect(c.coordinator.writeTimeout == .seconds(2) && c.hints.window == .seconds(3 * 3600))
        #expect(c.coordinator.journal && c.nodeConfiguration.coordinator.journal, "the write journal is on by default")
        // A node with no seeds runs the append log as its only metadata voter.
        #expect(c.metadataVoters == ["n1"] && c.nodeConfiguration.log?.voters == [NodeID("n1")])
        #expect(c.nodeConfiguration.log?.sessionTimeout == .seconds(3))
        // With seeds and no voters named, it runs none (log requests get an error saying so).
        let seeded = try ServerConfiguration.parse(Self.minimal + "\nseeds = [\"127.0.0.1:7009\"]", path: "/x/n.toml")
        #expect(seeded.metadataVoters == nil && seeded.nodeConfiguration.log == nil)
        // Its only seed being itself is a cluster of one too.
        let selfSeeded = try ServerConfiguration.parse(Self.minimal + "\nseeds = [\"127.0.0.1:7001\"]", path: "/x/n.toml")
        #expect(selfSeeded.metadataVoters == ["n1"])
    }

    @Test func everyKeyIsRead() throws {
        let text = Self.minimal + """

        cluster_name = "lab"
        seeds = ["127.0.0.1:7001", "[::1]:7002"]
        datacenter = "east"
        rack = "r9"
        num_tokens = 8
        initial_tokens = ["-5", "5"]
        allocate_tokens_for_replication_factor = 2
        join_wait_ms = 10
        commit_log_sync = "periodic"
        commit_log_sync_period_ms = 500
        commit_log_segment_mb = 8
        memtable_budget_mb = 32
        block_cache_mb = 4
        compaction_throughput_mb_per_sec = 0
        hinted_handoff_window_ms = 60000
        max_hints_per_target_mb = 16
        write_request_timeout_ms = 300
        read_request_timeout_ms = 400
        gossip_interval_ms = 250
        phi_convict_threshold = 5
        max_frame_mb = 4
        replica_write_threads = 4
        drain_timeout_ms = 100
        log_level = "debug"
        write_journal = false
        metadata_voters = ["n1", "n2", "n3"]
        broker_session_timeout_ms = 1500
        replica_lag_max_ms = 2500
        replica_fetch_wait_ms = 50
        """
        let c = try ServerConfiguration.parse(text, path: "/x/n.toml")
        #expect(c.clusterName == "lab" && c.seeds == [Endpoint(host: "127.0.0.1", port: 7001), Endpoint(host: "::1", port: 7002)])
        #expect(c.datacenter == "east" && c.rack == "r9" && c.numTokens == 8 && c.initialTokens == [-5, 5])
        #expect(c.allocateTokensForReplicationFactor == 2 && c.joinWait == .milliseconds(10))
        #expect(c.engine.syncMode == .periodic(.milliseconds(500)) && c.engine.commitLogSegmentBytes == .mebibytes(8))
        #expect(c.engine.memtableBudget == .mebibytes(32) && c.engine.blockCacheBytes == .mebibytes(4))
        #expect(c.engine.compactionBytesPerSecond == nil)
        #expect(c.hints.window == .seconds(60) && c.hints.targetBytesMax == .mebibytes(16))
        #expect(c.coordinator.writeTimeout == .milliseconds(300) && c.coordinator.readTimeout == .milliseconds(400))
        #expect(c.gossipInterval == .milliseconds(250) && c.phiConvictThreshold == 5 && c.frameBytesMax == 4 << 20)
        #expect(c.replicaWriteThreads == 4 && c.drainTimeout == .milliseconds(100) && c.logLevel == "debug")
        let node = c.nodeConfiguration
        #expect(node.advertised["addr"] == "127.0.0.1:7001" && node.advertised["client"] == "127.0.0.1:9001")
        #expect(node.engine.background == .threads)
        #expect(!c.coordinator.journal && !node.coordinator.journal)
        let log = try #require(node.log)
        #expect(log.voters == [NodeID("n1"), NodeID("n2"), NodeID("n3")] && log.sessionTimeout == .milliseconds(1500))
        #expect(log.replication.replicaLagMax == .milliseconds(2500) && log.replication.fetchWait == .milliseconds(50))
    }

    @Test func mistakesAreClearErrors() {
        let cases: [(String, String)] = [
            (Self.minimal + "\nnum_tokenz = 3", "unknown key"),
            (Self.minimal + "\nnum_tokens = 0", "num_tokens"),
            (Self.minimal + "\nnum_tokens = \"many\"", "wrong type"),
            (Self.minimal + "\ncommit_log_sync = \"sometimes\"", "commit_log_sync"),
            (Self.minimal + "\nseeds = [\"nowhere\"]", "seed"),
            (Self.minimal + "\ninitial_tokens = [\"1\", \"1\"]", "repeats"),
            (Self.minimal + "\ndatacenter = \"east coast\"", "datacenter"),
            (Self.minimal.replacingOccurrences(of: "node_name = \"n1\"", with: ""), "node_name"),
            (Self.minimal.replacingOccurrences(of: "127.0.0.1:7001", with: "127.0.0.1"), "listen_address"),
            ("node_name = [", "not valid TOML"),
            (Self.minimal.replacingOccurrences(of: "127.0.0.1:9001", with: "127.0.0.1:7001"), "must differ"),
            (Self.minimal + "\nmetadata_voters = [\"n1\", \"n1\"]", "metadata_voters"),
            (Self.minimal + "\nmetadata_voters = []", "metadata_voters"),
            (Self.minimal + "\nbroker_session_timeout_ms = 10", "broker_session_timeout_ms"),
            (Self.minimal + "\nreplica_lag_max_ms = 99", "replica_lag_max_ms"),
            (Self.minimal + "\nreplica_lag_max_ms = 600001", "replica_lag_max_ms"),
            (Self.minimal + "\nreplica_fetch_wait_ms = -1", "replica_fetch_wait_ms"),
            (Self.minimal + "\nreplica_fetch_wait_ms = 60001", "replica_fetch_wait_ms"),
            (Self.minimal + "\nmetadata_voters = [\"a\", \"b\", \"c\", \"d\", \"e\", \"f\", \"g\", \"h\"]", "metadata_voters"),
        ]
        for (text, expected) in cases {
            do {
                _ = try ServerConfiguration.parse(text, path: "f.toml")
                Issue.record("accepted: \(text)")
            } catch {
                #expect(error.description.contains(expected), "\(error.description) should mention \(expected)")
                #expect(error.description.hasPrefix("f.toml: "))
            }
        }
    }

    @Test func endpointsParse() {
        #expect(Endpoint("localhost:1") == Endpoint(host: "localhost", port: 1))
        #expect(Endpoint("[::1]:9042")?.description == "[::1]:9042")
        for bad in ["", ":1", "host", "host:0", "host:70000", "host:x"] { #expect(Endpoint(bad) == nil) }
    }

    @Test func nodeStateRoundTripsAndDetectsCorruption() throws {
        let ring = TokenRing.empty
            .adding(NodeID("a"), location: NodeLocation(datacenter: "dc1", rack: "r1"), tokens: [-3, 7])
            .adding(NodeID("b"), location: NodeLocation(datacenter: "dc2", rack: "r2"), tokens: [1])
        let state = NodeStateFile(generation: 1_795_000_000, ring: ring)
        let bytes = state.encoded()
        let decoded = try NodeStateFile(decoding: bytes)
        #expect(decoded == state && decoded.ring.tokens == ring.tokens && decoded.ring.nodes == ring.nodes)
        for i in bytes.indices {
            var bad = bytes
            bad[i] ^= 0x04
            #expect(throws: DecodeError.self) { try NodeStateFile(decoding: bad) }
        }
        #expect(throws: DecodeError.self) { try NodeStateFile(decoding: Array(bytes.dropLast())) }
    }

    /// The worked example of docs/formats/node-state.md, byte for byte.
    @Test func nodeStateMatchesTheDocumentedExample() throws {
        let doc = try String(contentsOfFile: #filePath.replacingOccurrences(of: "Tests/RingtailServerTests/ServerConfigurationTests.swift",
                                                                           with: "docs/formats/node-state.md"), encoding: .utf8)
        let block = try #require(doc.components(separatedBy: "```hex\n").dropFirst().first?.components(separatedBy: "```").first)
        let documented = try #require(Hex.decode(block.filter { !$0.isWhitespace }))
        let ring = TokenRing.empty.adding(NodeID("a"), location: NodeLocation(datacenter: "dc1", rack: "r1"), tokens: [-3, 7])
        #expect(NodeStateFile(generation: 1_795_000_000, ring: ring).encoded() == documented)
    }
}
