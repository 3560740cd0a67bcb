// Consumer groups on real processes: two `ringtail consume --group`
// members share a topic's partitions while records are produced; one member
// is SIGKILLed; after its session expires its partitions move to the other,
// which resumes from the committed offsets. Every produced record is
// processed at least once, and the group ends with its committed offsets at
// the end of every partition. Every process is stopped by pid.
import Foundation
import Glibc
import Testing

@Suite(.serialized) struct GroupProcessTests {
    func run(_ arguments: [String]) throws -> (status: Int32, output: String) { try RingtailProcess.run(arguments) }

    func start(_ arguments: [String], output path: String) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: RingtailProcess.binary)
        p.arguments = arguments
        FileManager.default.createFile(atPath: path, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        p.standardOutput = handle
        p.standardError = handle
        try p.run()
        return p
    }

    @Test func aKilledMembersPartitionsMoveAndEveryRecordIsProcessed() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ringtail-groups-\(getpid())").path
        let c = ["--dir", dir]
        let host = ["--host", "127.0.0.1:9742"]
        defer { _ = try? run(["cluster", "clean"] + c) }
        let up = try run(["cluster", "up", "--nodes", "3", "--peer-port", "7740", "--client-port", "9740", "--timeout", "60"] + c)
        #expect(up.status == 0, "\(up.output)")
        #expect(try run(["topic", "create", "jobs", "--partitions", "6", "--rf", "3"] + host).status == 0)

        let member = ["consume", "jobs", "--group", "workers", "--from-beginning", "--print-offsets", "--session-timeout", "3s"] + host
        let a = try start(member + ["--timeout", "30s"], output: dir + "-a.txt")
        let b = try start(member + ["--timeout", "12s"], output: dir + "-b.txt")
        defer {
            for p in [a, b] where p.isRunning { kill(p.processIdentifier, SIGKILL) }
        }
        usleep(2_000_000) // both joined
        let total = 20_000
        let producer = try start(["produce", "jobs", "--count", "\(total)", "--size", "50"] + host, output: dir + "-p.txt")
        usleep(400_000)
        kill(a.processIdentifier, SIGKILL)
        producer.waitUntilExit()
        #expect(producer.terminationStatus == 0)
        b.waitUntilExit() // it stops after 12 s without a record

        var seen = Set<String>()
        for path in [dir + "-a.txt", dir + "-b.txt"] {
            let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
            for line in text.split(separator: "\n") {
                let fields = line.split(separator: "\t")
                if fields.count == 3 { seen.insert(String(fields[2].prefix { $0 != "." })) }
            }
        }
        let missing = (0..<total).filter { !seen.contains("value-\($0)") }
        #expect(missing.isEmpty, "\(missing.count) records never processed, e.g. \(missing.prefix(5))")

        // The group's committed offsets reached the end of every partition.
        let described = try run(["groups", "describe", "workers", "--json"] + host)
        let rows = described.output.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
        #expect(rows.count == 6, "\(described.output)")
        for row in rows { #expect(row["lag"] as? Int == 0, "\(row)") }

        // --max-messages in a group prints exactly that many and commits only
        // those: the next member of the group gets the rest, none twice.
        #expect(try run(["produce", "jobs", "--count", "30", "--size", "20"] + host).status == 0)
        let firstTen = try run(["consume", "jobs", "--group", "workers", "--print-offsets", "--max-messages", "10", "--timeout", "10s"] + host)
        let rest = try run(["consume", "jobs", "--group", "workers", "--print-offsets", "--max-messages", "100", "--timeout", "4s"] + host)
        func positions(_ text: String) -> [String] {
            text.split(separator: "\n").compactMap { line in
                let f = line.split(separator: "\t")
                return f.count == 3 ? "\(f[0])/\(f[1])" : nil
            }
        }
        let (a10, a20) = (positions(firstTen.output), positions(rest.output))
        #expect(a10.count == 10, "\(firstTen.output)")
        #expect(a20.count == 20, "\(rest.output)")
        #expect(Set(a10).isDisjoint(with: a20) && Set(a10 + a20).count == 30)
    }
}
