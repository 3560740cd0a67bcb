// `ringtail faults`: the multi-process fault-injection suite. It starts a
// local cluster (5 nodes, RF 3 by default), runs writers and readers at
// QUORUM, and meanwhile SIGKILLs and restarts random nodes, pauses one
// (SIGSTOP), kills two replicas of one range, and cuts one node off the
// network (the node's fault-injecting transport). Then it checks the
// promises: every write acknowledged at QUORUM reads back at QUORUM; after
// hints are delivered every replica holds every acknowledged write (read
// from each replica's own storage); no node died but the ones killed; no
// file is corrupt. Every wait is bounded; it prints what it did and found.
import ArgumentParser
import Foundation
import Glibc
import NIOPosix
import RingtailCore
import RingtailStorage
import RingtailWire
import RingtailCluster
import RingtailServer
import RingtailPosix

/// Everything acknowledged, and what went wrong, shared by the workload tasks.
actor FaultLedger {
    struct Write: Hashable {
        var key: String
        var clustering: Int64
        var level: String
        /// The node that acknowledged it, and when (seconds into the run).
        var coordinator: String
        var at: Double
    }
    /// When the run began (the report's clock, so times match its log).
    let started: Date
    init(started: Date) { self.started = started }
    var acknowledged: [Write] = []
    var writeErrors: [String: Int] = [:]
    var readsChecked = 0
    var readErrors: [String: Int] = [:]
    var violations: [String] = []
    var nextClustering: Int64 = 0

    func next() -> Int64 {
        nextClustering += 1
        return nextClustering
    }
    func ack(key: String, clustering: Int64, level: String, through coordinator: String) {
        acknowledged.append(Write(key: key, clustering: clustering, level: level, coordinator: coordinator,
                                  at: Date().timeIntervalSince(started)))
    }
    func writeFailed(_ kind: String) { writeErrors[kind, default: 0] += 1 }
    func readFailed(_ kind: String) { readErrors[kind, default: 0] += 1 }
    func readChecked() { readsChecked += 1 }
    func violation(_ v: String) { if violations.count < 50 { violations.append(v) } }
    func sample() -> Write? { acknowledged.randomElement() }
    var ackCount: Int { acknowledged.count }
}

struct FaultsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "faults",
        abstract: "Run the multi-process fault-injection suite on a fresh local cluster and check every promise.")

    @Option(name: .customLong("dir"), help: "Folder for the cluster (deleted first).") var directory = "ringtail-faults"
    @Option var nodes = 5
    @Option(name: .customLong("kill-cycles"), help: "SIGKILL-and-restart cycles.") var killCycles = 5
    @Option(help: "Concurrent writers.") var writers = 4
    @Option(help: "Concurrent readers.") var readers = 2
    @Option(help: "Partitions written.") var partitions = 50
    @Option(name: .customLong("peer-port")) var peerPort = 7600
    @Option(name: .customLong("client-port")) var clientPort = 9600
    @Option(help: "Seed for the choice of victims.") var seed: UInt64 = 1
    @Flag(help: "Keep the cluster's folder afterwards.") var keep = false

    func run() throws {
        guard nodes >= 5 else { throw ValidationError("the suite needs at least 5 nodes (RF 3 with two replicas down)") }
        let started = Date()
        try? FileManager.default.removeItem(atPath: directory)
        let cluster = try LocalCluster.prepare(directory: directory, nodes: nodes, datacenters: 1, racks: 3, name: "faults",
                                               peerPort: peerPort, clientPort: clientPort)
        var stopped = false
        defer {
            if !stopped { try? stopAll(cluster) }
            if !keep { try? FileManager.default.removeItem(atPath: cluster.directory) }
        }
        for m in cluster.members {
            _ = try cluster.spawn(m)
            try awaitNormal(cluster, m, timeout: 60)
        }
        try awaitAllUp(cluster, timeout: 60)
        var report = FaultReport()
        report.log("started \(nodes) nodes in \(cluster.directory)")
        let suite = FaultRun(cluster: cluster, partitions: partitions, seed: seed, started: report.started)
        let (writers, readers, killCycles) = (writers, readers, killCycles)
        let initial = report
        report = try blocking { try await suite.run(writers: writers, readers: readers, killCycles: killCycles, report: initial) }
        try stopAll(cluster)
        stopped = true
        report.filesChecked = checkFiles(cluster, &report)
        report.print(elapsed: Date().timeIntervalSince(started))
        if !report.passed { throw ExitCode(1) }
    }

    /// Reads every SSTable and commit log segment of every node as
    /// `ringtail inspect` does (every checksum verified; a torn commit log
    /// tail is what a SIGKILL leaves, not corruption).
    func checkFiles(_ cluster: LocalCluster, _ report: inout FaultReport) -> Int {
        var count = 0
        let fileSystem = PosixFileSystem()
        for m in cluster.members {
            let data = cluster.folder(m) + "/data"
            guard let files = FileManager.default.enumerator(atPath: data) else { continue }
            for case let file as String in files {
                let path = data + "/" + file
                do {
                    if file.hasSuffix(".sst") {
                        _ = try Inspector.sstable(path, fileSystem: fileSystem, keep: 0)
                    } else if file.hasPrefix("commitlog/") && file.hasSuffix(".log") {
                        _ = try Inspector.commitLog(path, fileSystem: fileSystem)
                    } else {
                        continue
                    }
                    count += 1
                } catch {
                    report.violation("\(m.name): \(file) is corrupt: \(error)")
                }
            }
        }
        return count
    }
}

struct FaultReport: Sendable {
    var steps: [String] = []
    var violations: [String] = []
    var acknowledged = 0
    var verifiedQuorum = 0
    var verifiedReplicas = 0
    var readsDuringFaults = 0
    var writeErrors: [String: Int] = [:]
    var readErrors: [String: Int] = [:]
    var filesChecked = 0
    var started = Date()

    mutating func log(_ s: String) {
        let line = String(format: "[%6.1fs] ", Date().timeIntervalSince(started)) + s
        steps.append(line)
        Swift.print(line)
    }
    mutating func violation(_ s: String) {
        violations.append(s)
        log("VIOLATION: " + s)
    }
    var passed: Bool { violations.isEmpty }

    func print(elapsed: Double) {
        Swift.print("")
        Swift.print("== Fault-injection suite summary (\(String(format: "%.0f", elapsed)) s)")
        Swift.print("writes acknowledged: \(acknowledged); refused or failed: \(writeErrors.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))")
        Swift.print("reads checked while faults ran: \(readsDuringFaults); failed: \(readErrors.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))")
        Swift.print("acknowledged writes read back at QUORUM: \(verifiedQuorum) of \(acknowledged)")
        Swift.print("replica copies verified in each replica's own storage: \(verifiedReplicas)")
        Swift.print("storage files verified (every checksum, as ringtail inspect reads them): \(filesChecked)")
        if violations.isEmpty {
            Swift.print("PASS: no acknowledged write lost, every replica complete, no unexpected crash, no corrupt file")
        } else {
            Swift.print("FAIL: \(violations.count) violation(s):")
            for v in violations { Swift.print("  - \(v)") }
        }
    }
}
