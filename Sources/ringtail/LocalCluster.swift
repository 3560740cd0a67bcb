// A local cluster: N `ringtail node` processes on 127.0.0.1 under one
// folder, each with its own ports, data directory, configuration and log:
//
//   DIR/cluster.json        layout (names, ports, datacenters, racks)
//   DIR/nK/ringtail.toml    node K's configuration
//   DIR/nK/data/            its storage
//   DIR/nK/node.log         its log (appended across restarts)
//   DIR/nK/node.pid         its process id while it runs
//
// Processes are started in their own session, so they outlive the command
// that started them; they are signalled by the pid in node.pid, checked
// against /proc/PID/cmdline so a reused pid is never signalled.
import ArgumentParser
import Foundation
import Glibc
import RingtailServer
import RingtailSimulation

struct LocalCluster: Codable {
    static let defaultDirectory = "ringtail-cluster"
    static let layoutFile = "cluster.json"

    struct Member: Codable {
        var name: String
        var datacenter: String
        var rack: String
        var peerPort: Int
        var clientPort: Int
    }

    var clusterName: String
    var members: [Member]
    /// The folder (absolute); not stored.
    var directory: String = ""

    enum CodingKeys: String, CodingKey { case clusterName, members }

    /// The cluster in `directory` if there is one (of `nodes` nodes, when
    /// given), else a new one written there: layout and configs.
    static func prepare(directory: String, nodes: Int?, datacenters: Int, racks: Int, name: String,
                        peerPort: Int, clientPort: Int) throws -> LocalCluster {
        let dir = URL(fileURLWithPath: directory).standardizedFileURL.path
        if FileManager.default.fileExists(atPath: dir + "/" + layoutFile) {
            let c = try load(dir)
            if let nodes, c.members.count != nodes {
                throw ValidationError("\(dir) holds a cluster of \(c.members.count) nodes; `ringtail cluster clean --dir \(directory)` first to make another")
            }
            return c
        }
        let nodes = nodes ?? 3
        guard (1...100).contains(nodes), (1...nodes).contains(datacenters), (1...100).contains(racks) else {
            throw ValidationError("need 1 <= datacenters <= nodes <= 100 and 1 <= racks <= 100")
        }
        guard peerPort + nodes < 65536, clientPort + nodes < 65536, abs(peerPort - clientPort) > nodes else {
            throw ValidationError("--peer-port and --client-port ranges must fit below 65536 and not overlap")
        }
        let dealt = SimulatedCluster.Options.dealt(nodes: nodes, datacenters: datacenters, racksPerDatacenter: racks)
        var c = LocalCluster(clusterName: name, members: dealt.enumerated().map { i, n in
            Member(name: n.id.name, datacenter: n.location.datacenter, rack: n.location.rack,
                   peerPort: peerPort + i + 1, clientPort: clientPort + i + 1)
        })
        c.directory = dir
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try c.save()
        for m in c.members { try c.writeConfig(m) }
        return c
    }

    static func load(_ directory: String) throws -> LocalCluster {
        let dir = URL(fileURLWithPath: directory).standardizedFileURL.path
        let data = try Data(contentsOf: URL(fileURLWithPath: dir + "/" + layoutFile))
        var c = try JSONDecoder().decode(LocalCluster.self, from: data)
        c.directory = dir
        return c
    }

    func save() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(self).write(to: URL(fileURLWithPath: directory + "/" + Self.layoutFile))
    }

    func folder(_ m: Member) -> String { directory + "/" + m.name }
    func configPath(_ m: Member) -> String { folder(m) + "/ringtail.toml" }
    func pidPath(_ m: Member) -> String { folder(m) + "/node.pid" }
    func logPath(_ m: Member) -> String { folder(m) + "/node.log" }
    func clientEndpoint(_ m: Member) -> Endpoint { Endpoint(host: "127.0.0.1", port: m.clientPort) }

    func member(_ name: String) throws -> Member {
        guard let m = members.first(where: { $0.name == name }) else {
            throw ValidationError("no node \(name) in \(directory); nodes: \(members.map(\.name).joined(separator: ", "))")
        }
        return m
    }

    /// The seeds: the first node of each datacenter.
    var seeds: [Member] {
        var seen = Set<String>()
        return members.filter { seen.insert($0.datacenter).inserted }
    }

    func writeConfig(_ m: Member) throws {
        let seedList = seeds.map { "\"127.0.0.1:\($0.peerPort)\"" }.joined(separator: ", ")
        // The append log's metadata group: the first three nodes.
        let voters = members.prefix(3).map { "\"\($0.name)\"" }.joined(separator: ", ")
        let text = """
        # Written by `ringtail cluster up`; every key: docs/configuration.md
        cluster_name = "\(clusterName)"
        node_name = "\(m.name)"
        listen_address = "127.0.0.1:\(m.peerPort)"
        client_address = "127.0.0.1:\(m.clientPort)"
        seeds = [\(seedList)]
        datacenter = "\(m.datacenter)"
        rack = "\(m.rack)"
        data_directory = "data"
        commit_log_sync = "group"
        join_wait_ms = 1000
        # Small memtables and fast failure detection suit a laptop demo.
        memtable_budget_mb = 64
        gossip_interval_ms = 500
        # A local cluster is a test rig: clients may cut a node off (ringtail faults).
        allow_fault_injection = true
        # The append log: these nodes vote on topic metadata; every node holds partitions.
        metadata_voters = [\(voters)]

        """
        try FileManager.default.createDirectory(atPath: folder(m), withIntermediateDirectories: true)
        try text.write(toFile: configPath(m), atomically: true, encoding: .utf8)
    }

    // MARK: Processes

    /// The node's pid if its process runs (and is this node's `ringtail
    /// node`: its `--config` argument is this node's file; a zombie is not running).
    func runningPID(_ m: Member) -> pid_t? {
        guard let text = try? String(contentsOfFile: pidPath(m), encoding: .utf8),
              let pid = pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines)), pid > 0,
              let cmdline = try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/cmdline")) else { return nil }
        let args = cmdline.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
        guard let flag = args.firstIndex(of: "--config"), flag + 1 < args.count, args[flag + 1] == configPath(m),
              Self.processState(pid) != "Z" else { return nil }
        return pid
    }

    /// The state letter of /proc/PID/stat (R, S, D, T stopped, Z zombie…).
    static func processState(_ pid: pid_t) -> Character? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")"), stat.distance(from: close, to: stat.endIndex) > 2 else { return nil }
        return stat[stat.index(close, offsetBy: 2)]
    }

    /// Whether the node's process is stopped (SIGSTOP).
    func isPaused(_ m: Member) -> Bool { runningPID(m).flatMap(Self.processState) == "T" }

    /// Starts the node's process in its own session, output appended to its log.
    func spawn(_ m: Member) throws -> pid_t {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        let args = [exe, "node", "--config", configPath(m)]
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, logPath(m), O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        // Nothing else this process holds open goes to the node (a caller's
        // pipe, kept open by a long-lived node, would never see its end).
        for name in (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? [] {
            if let fd = Int32(name), fd > 2 { posix_spawn_file_actions_addclose(&actions, fd) }
        }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // POSIX_SPAWN_SETSID (glibc 2.26+; hidden behind _GNU_SOURCE in the headers).
        posix_spawnattr_setflags(&attributes, 0x80)
        var pid: pid_t = 0
        let cArgs = args.map { strdup($0) } + [nil]
        defer { for a in cArgs { free(a) } }
        let rc = posix_spawn(&pid, exe, &actions, &attributes, cArgs, environ)
        guard rc == 0 else { throw ValidationError("could not start \(m.name): \(String(cString: strerror(rc)))") }
        try "\(pid)\n".write(toFile: pidPath(m), atomically: true, encoding: .utf8)
        return pid
    }

    /// Sends `signal` to the node; false if it was not running.
    @discardableResult
    func signal(_ m: Member, _ sig: Int32) -> Bool {
        guard let pid = runningPID(m) else { return false }
        return kill(pid, sig) == 0
    }

    /// Waits until the node's process is gone; false on timeout.
    func awaitExit(_ m: Member, timeout: Double) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if runningPID(m) == nil { return true }
            usleep(50_000)
        }
        return false
    }

    func anyRunningClientEndpoint() -> Endpoint? {
        members.first { runningPID($0) != nil && !isPaused($0) }.map(clientEndpoint)
    }
}
