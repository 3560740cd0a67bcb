// Real processes: a `ringtail local crash-writer` child writes with batch,
// group or periodic sync from 4 threads and is SIGKILLed at random moments
// (periodic promises survival of a process kill: acknowledged writes are in
// the OS, only a power loss can lose up to one period); after each
// kill the parent reopens the data directory and checks that every write
// the child acknowledged is present, every mutation is all-or-nothing, and
// every live file verifies.
import Foundation
import RingtailCore
import RingtailPosix
import Testing
@testable import RingtailStorage

@Suite(.serialized) struct ProcessCrashTests {
    static let cycles = Int(ProcessInfo.processInfo.environment["RINGTAIL_PROCESS_CRASH_CYCLES"] ?? "") ?? 12


    @Test(arguments: ["batch", "group", "periodic"])
    func acknowledgedWritesSurviveSIGKILL(sync: String) throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ringtail-crash-\(getpid())-\(sync)").path
        try? FileManager.default.removeItem(atPath: directory)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var entropy = SeededEntropy(seed: ["batch": 11, "group": 12, "periodic": 13][sync]!)
        var next = 0
        var totalAcked = 0
        var acked = Set<Int>()
        for cycle in 0..<Self.cycles {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: RingtailProcess.binary)
            process.arguments = ["local", "--data", directory, "--sync", sync, "crash-writer", "--threads", "4", "--start", String(next)]
            // Acknowledgements go to a file, not a pipe: a full pipe would
            // block the writer, and the kill would land on an idle process.
            let ackPath = directory + "-acks-\(cycle)"
            FileManager.default.createFile(atPath: ackPath, contents: nil)
            defer { try? FileManager.default.removeItem(atPath: ackPath) }
            process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: ackPath))
            process.standardError = FileHandle.nullDevice
            try process.run()
            let pid = process.processIdentifier
            // Kill at a random moment between 150 and 650 ms.
            usleep(UInt32(150_000 + entropy.next(below: 500_000)))
            kill(pid, SIGKILL)
            process.waitUntilExit()
            #expect(process.terminationReason == .uncaughtSignal, "cycle \(cycle): writer exited on its own: \(process.terminationStatus)")
            let output = String(decoding: FileManager.default.contents(atPath: ackPath) ?? Data(), as: UTF8.self)
            let lines = output.split(separator: "\n")
            #expect(!lines.contains { $0.hasPrefix("error") }, "cycle \(cycle): writer reported \(lines.filter { $0.hasPrefix("error") }.prefix(2))")
            let thisCycle = lines.compactMap { $0.hasPrefix("ack ") ? Int($0.dropFirst(4)) : nil }
            acked.formUnion(thisCycle)
            totalAcked += thisCycle.count

            // Reopen in this process and check.
            let engine = try StorageEngine(directory: directory, fileSystem: PosixFileSystem(), clock: SystemClock())
            guard let (table, _) = engine.table(named: "crash.rows") else {
                #expect(thisCycle.isEmpty && cycle == 0, "table missing after acknowledged writes")
                try engine.close()
                continue
            }
            var lost: [Int] = []
            for n in acked.sorted() {
                let rows = try engine.read(table, key: Array("k\(n)".utf8)).rows
                if rows.count != 1 || rows[0].cells.map(\.value) != Array(repeating: Array(String(n).utf8), count: 3) { lost.append(n) }
            }
            #expect(lost.isEmpty, "cycle \(cycle) (\(sync)): \(lost.count) acknowledged writes lost, e.g. \(lost.prefix(5))")
            // All-or-nothing: anything present (acknowledged or not) has all three cells.
            let all = try engine.scan(table, range: .full, limit: 1_000_000).partitions
            let partial = all.filter { $0.rows.count != 1 || $0.rows[0].cells.count != 3 }
            #expect(partial.isEmpty, "cycle \(cycle): \(partial.count) partially applied mutations")
            let highest = all.compactMap { Int(String(decoding: $0.key.dropFirst(), as: UTF8.self)) }.max() ?? -1
            next = max(next, highest + 1)
            // Verify files once background flushes and compactions have
            // stopped (close waits for them), so the live set is stable.
            try engine.close()
            for f in engine.sstables(of: table) {
                _ = try Inspector.sstable(f.path, fileSystem: PosixFileSystem(), keep: 0)
            }
        }
        #expect(totalAcked > Self.cycles * 10, "the writer acknowledged only \(totalAcked) writes in \(Self.cycles) cycles")
        print("process crash test (\(sync)): \(Self.cycles) SIGKILLs, \(totalAcked) acknowledged writes, none lost")
    }
}
