// `ringtail cluster …`: a local cluster of node processes on 127.0.0.1
// (see LocalCluster): up, status, stop, kill, pause, resume, start, down, clean.
import ArgumentParser
import Foundation
import Glibc
import NIOPosix
import RingtailCore
import RingtailServer
import RingtailSimulation

struct ClusterCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cluster",
        abstract: "Run a local cluster of node processes on 127.0.0.1.",
        subcommands: [Up.self, Status.self, Stop.self, Kill.self, Pause.self, Resume.self, Start.self, Down.self, Clean.self])

    struct Where: ParsableArguments {
        @Option(name: .customLong("dir"), help: "The cluster's folder.") var directory = LocalCluster.defaultDirectory
        func load() throws -> LocalCluster {
            do { return try LocalCluster.load(directory) } catch {
                throw ValidationError("no local cluster in \(directory) (start one with: ringtail cluster up --nodes 3)")
            }
        }
    }

    struct Up: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create (or restart) a local cluster and return once every node is up.")
        @OptionGroup var location: Where
        @Option(help: "Nodes (new cluster only; default 3).") var nodes: Int?
        @Option(help: "Datacenters dc1…dcD.") var datacenters: Int = 1
        @Option(help: "Racks per datacenter.") var racks: Int = 3
        @Option(help: "Cluster name.") var name = "ringtail"
        @Option(name: .customLong("peer-port"), help: "Node K listens for peers on this port + K.") var peerPort = 7400
        @Option(name: .customLong("client-port"), help: "Node K listens for clients on this port + K.") var clientPort = 9400
        @Option(help: "Seconds to wait for each node.") var timeout: Double = 60

        func run() throws {
            let cluster = try prepare()
            for m in cluster.members {
                if cluster.runningPID(m) != nil { continue }
                let pid = try cluster.spawn(m)
                print("started \(m.name) (pid \(pid), \(m.datacenter)/\(m.rack), peers 127.0.0.1:\(m.peerPort), clients 127.0.0.1:\(m.clientPort))")
                try awaitNormal(cluster, m, timeout: timeout)
            }
            try awaitAllUp(cluster, timeout: timeout)
            let first = cluster.clientEndpoint(cluster.members[0])
            printStatus(try blocking { try await ask(first, "status", as: StatusReport.self) })
            print("cluster \(cluster.clusterName) is up in \(cluster.directory): \(cluster.members.count) nodes")
        }

        func prepare() throws -> LocalCluster {
            try LocalCluster.prepare(directory: location.directory, nodes: nodes, datacenters: datacenters, racks: racks,
                                     name: name, peerPort: peerPort, clientPort: clientPort)
        }
    }

    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Processes of the local cluster, and the cluster as a running node sees it.")
        @OptionGroup var location: Where
        @Flag var json = false
        func run() throws {
            let cluster = try location.load()
            var processes: [[String: Any]] = []
            var answering: Endpoint?
            for m in cluster.members {
                let (pid, paused) = (cluster.runningPID(m), cluster.isPaused(m))
                let state = pid == nil ? "stopped" : paused ? "paused" : "running"
                if state == "running" && answering == nil { answering = cluster.clientEndpoint(m) }
                processes.append(["node": m.name, "pid": pid.map { Int($0) } ?? 0, "process": state])
                if !json { print("\(m.name)  \(state)\(pid.map { " (pid \($0))" } ?? "")  log \(cluster.logPath(m))") }
            }
            if json { print(Values.jsonLine(["processes": processes])) }
            guard let answering else {
                if !json { print("no node is running") }
                return
            }
            guard let report = try? blocking({ try await ask(answering, "status", as: StatusReport.self) }) else { return }
            if json {
                try printJSON(report)
            } else {
                print("")
                printStatus(report)
            }
        }
    }

    struct NodeArgument: ParsableArguments {
        @OptionGroup var location: Where
        @Argument(help: "The node (n1, n2, …).") var node: String

        func resolve() throws -> (LocalCluster, LocalCluster.Member) {
            let c = try location.load()
            return (c, try c.member(node))
        }

        /// Sends `sig`; `wait`: then waits (up to that many seconds) for the
        /// process to end, and a node already stopped is no error.
        func signal(_ sig: Int32, _ done: String, wait: Double? = nil) throws {
            let (c, m) = try resolve()
            guard c.signal(m, sig) else {
                if wait != nil { print("\(m.name) is not running"); return }
                throw RequestFailure("\(m.name) is not running")
            }
            if let wait, !c.awaitExit(m, timeout: wait) {
                throw RequestFailure("\(m.name) did not exit within \(Int(wait)) s")
            }
            print("\(done) \(m.name)")
        }
    }

    struct Stop: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "SIGTERM a node: it drains, flushes and exits; waits for it.")
        @OptionGroup var target: NodeArgument
        func run() throws { try target.signal(SIGTERM, "stopped", wait: 60) }
    }

    struct Kill: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "SIGKILL a node (no drain, no flush: the commit log replays at start).")
        @OptionGroup var target: NodeArgument
        func run() throws { try target.signal(SIGKILL, "killed", wait: 10) }
    }

    struct Pause: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "SIGSTOP a node: it stops answering but keeps its connections.")
        @OptionGroup var target: NodeArgument
        func run() throws { try target.signal(SIGSTOP, "paused") }
    }

    struct Resume: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "SIGCONT a paused node.")
        @OptionGroup var target: NodeArgument
        func run() throws { try target.signal(SIGCONT, "resumed") }
    }

    struct Start: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Start a stopped or killed node and wait until it is up.")
        @OptionGroup var target: NodeArgument
        @Option(help: "Seconds to wait.") var timeout: Double = 60
        func run() throws {
            let (c, m) = try target.resolve()
            if c.runningPID(m) != nil { print("\(m.name) is already running"); return }
            let pid = try c.spawn(m)
            try awaitNormal(c, m, timeout: timeout)
            print("started \(m.name) (pid \(pid))")
        }
    }

    struct Down: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop every node (SIGTERM; SIGKILL after 60 s).")
        @OptionGroup var location: Where
        func run() throws {
            let c = try location.load()
            try stopAll(c)
        }
    }

    struct Clean: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop every node and delete the cluster's folder.")
        @OptionGroup var location: Where
        func run() throws {
            guard let c = try? LocalCluster.load(location.directory) else {
                print("no local cluster in \(location.directory)")
                return
            }
            try stopAll(c)
            try FileManager.default.removeItem(atPath: c.directory)
            print("removed \(c.directory)")
        }
    }
}

func stopAll(_ c: LocalCluster) throws {
    for m in c.members {
        if c.signal(m, SIGCONT), c.signal(m, SIGTERM) { print("stopping \(m.name)") }
    }
    for m in c.members where !c.awaitExit(m, timeout: 60) {
        c.signal(m, SIGKILL)
        _ = c.awaitExit(m, timeout: 10)
        print("\(m.name) did not stop within 60 s; killed it")
    }
    print("every node of \(c.clusterName) is stopped")
}

/// Waits until the node answers on its client port and owns tokens. The
/// answer must come from a process started now (its gossip generation is
/// at least the wall clock's seconds at the call), not from a stale
/// process of another cluster on the same port.
func awaitNormal(_ c: LocalCluster, _ m: LocalCluster.Member, timeout: Double) throws {
    let startedAt = Int64(Date().timeIntervalSince1970) - 1
    let up = try blocking {
        await poll(timeout) {
            if c.runningPID(m) == nil { return true }
            return await c.isNormal(m, since: startedAt)
        }
    }
    guard c.runningPID(m) != nil else {
        let tail = (try? String(contentsOfFile: c.logPath(m), encoding: .utf8))?.split(separator: "\n").suffix(10).joined(separator: "\n") ?? ""
        throw ValidationError("\(m.name) exited while starting; the end of \(c.logPath(m)):\n\(tail)")
    }
    guard up else { throw ValidationError("\(m.name) was not up within \(Int(timeout)) s; see \(c.logPath(m))") }
}

/// Waits until every running node sees every running node up.
func awaitAllUp(_ c: LocalCluster, timeout: Double) throws {
    let running = c.members.filter { c.runningPID($0) != nil }
    guard try blocking({ await poll(timeout) { await c.everySeesEveryUp(running) } }) else {
        throw ValidationError("not every node saw every other up within \(Int(timeout)) s")
    }
}

extension LocalCluster {
    /// Whether `m` answers and owns tokens, in a generation at least `since` (wall seconds).
    func isNormal(_ m: Member, since: Int64 = 0) async -> Bool {
        guard let s = try? await ask(clientEndpoint(m), "status", as: StatusReport.self) else { return false }
        return s.nodes.contains { $0.name == m.name && $0.status == "NORMAL" && $0.generation >= since }
    }

    /// Whether each of `members` sees all of them up and owning tokens.
    func everySeesEveryUp(_ members: [Member]) async -> Bool {
        let names = Set(members.map(\.name))
        for m in members {
            guard let s = try? await ask(clientEndpoint(m), "status", as: StatusReport.self),
                  names.isSubset(of: Set(s.nodes.filter { $0.state == "UP" && $0.status == "NORMAL" }.map(\.name))) else { return false }
        }
        return true
    }
}
