// The append log on real node processes, as a user drives it through the
// `ringtail` binary: a topic is created and described, records produced with
// acks=all and idempotence while the leader of a partition is SIGKILLed, the
// leadership moves within the in-sync set, and every record is then read
// back exactly once, in order within each partition. The killed node comes
// back and rejoins the in-sync set. Every process is stopped by pid at the
// end (`cluster clean`).
import Foundation
import Glibc
import Testing

@Suite(.serialized) struct LogProcessTests {
    func run(_ arguments: [String]) throws -> (status: Int32, output: String) { try RingtailProcess.run(arguments) }

    /// Partition rows of `ringtail topic describe --json`.
    func describe(_ topic: String, _ host: [String]) throws -> [[String: Any]] {
        let out = try run(["topic", "describe", topic, "--json"] + host).output
        return out.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
    }

    @Test func recordsSurviveALeaderKilledMidProduce() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ringtail-log-\(getpid())").path
        let c = ["--dir", dir]
        let n2 = ["--host", "127.0.0.1:9732"]
        defer { _ = try? run(["cluster", "clean"] + c) }
        let up = try run(["cluster", "up", "--nodes", "3", "--peer-port", "7730", "--client-port", "9730", "--timeout", "60"] + c)
        #expect(up.status == 0, "\(up.output)")
        let create = try run(["topic", "create", "events", "--partitions", "3", "--rf", "3"] + n2)
        #expect(create.status == 0 && create.output.contains("created topic events"), "\(create.output)")
        let bad = try run(["topic", "create", "events", "--partitions", "3", "--rf", "3"] + n2)
        #expect(bad.status != 0 && bad.output.contains("exists"), "\(bad.output)")
        let partitions = try describe("events", n2)
        #expect(partitions.count == 3)
        let leader = try #require(partitions.first?["leader"] as? String)

        // Produce in the background; kill partition 0's leader part-way.
        let total = 60_000
        let producer = Process()
        producer.executableURL = URL(fileURLWithPath: RingtailProcess.binary)
        let client = leader == "n2" ? "127.0.0.1:9733" : "127.0.0.1:9732"
        producer.arguments = ["produce", "events", "--count", "\(total)", "--size", "100", "--acks", "all", "--host", client]
        let pipe = Pipe()
        producer.standardOutput = pipe
        producer.standardError = pipe
        try producer.run()
        defer { if producer.isRunning { kill(producer.processIdentifier, SIGKILL) } }
        usleep(300_000)
        #expect(try run(["cluster", "kill", leader] + c).status == 0)
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        producer.waitUntilExit()
        #expect(producer.terminationStatus == 0 && output.contains("produced \(total) records"), "\(output)")

        // The partition has a new leader from its in-sync set, with a new epoch.
        let host = leader == "n2" ? ["--host", "127.0.0.1:9733"] : n2
        let after = try describe("events", host)
        #expect((after.first?["leader"] as? String).map { $0 != leader } ?? false, "\(after)")
        #expect((after.first?["leader_epoch"] as? Int ?? 0) >= 1, "\(after)")

        // Every record exactly once, in order within each partition.
        let consumed = try run(["consume", "events", "--from-beginning", "--timeout", "3s", "--print-offsets"] + host)
        var values = Set<String>()
        var lastOffset: [String: Int] = [:]
        var ordered = true
        var lines = 0
        for line in consumed.output.split(separator: "\n") {
            let fields = line.split(separator: "\t")
            guard fields.count == 3 else { continue }
            lines += 1
            let position = fields[0].split(separator: ":")
            let (p, o) = (String(position[0]), Int(position[1]) ?? -1)
            if let previous = lastOffset[p], o != previous + 1 { ordered = false }
            lastOffset[p] = o
            values.insert(String(fields[2].prefix { $0 != "." }))
        }
        #expect(lines == total, "read \(lines) records, produced \(total)")
        #expect(values.count == total, "distinct values \(values.count): a record was lost or duplicated")
        #expect(ordered, "offsets within a partition must be consecutive")

        // The killed node returns and catches up into the in-sync set.
        #expect(try run(["cluster", "start", leader] + c).status == 0)
        var rejoined = false
        for _ in 0..<40 where !rejoined {
            usleep(500_000)
            let now = try describe("events", host)
            rejoined = now.allSatisfy { ($0["isr"] as? [String])?.contains(leader) ?? false }
        }
        #expect(rejoined, "\(leader) did not rejoin every in-sync set")
    }
}
