// `ringtail inspect` as a user runs it: exit 0 and a summary on a good file,
// a non-zero exit naming the file on a corrupt one.
import Foundation
import RingtailCore
import RingtailPosix
import Testing
@testable import RingtailStorage

@Suite struct InspectCommandTests {
    func run(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: ProcessCrashTests.ringtailBinary)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    @Test func inspectVerifiesAndReportsCorruption() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ringtail-inspect-\(getpid())").path
        try? FileManager.default.removeItem(atPath: directory)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        #expect(try run(["local", "--data", directory, "create-table", "iot.r", "--partition-key", "sensor:text",
                         "--clustering", "ts:timestamp", "--column", "t:double"]).status == 0)
        for i in 0..<30 {
            #expect(try run(["local", "--data", directory, "put", "iot.r", "--key", "s\(i % 3)", "--clustering", "\(1_767_225_600_000_000 + i)",
                             "--set", "t=\(i).5"]).status == 0)
        }
        let scan = try run(["local", "--data", directory, "scan", "iot.r", "--key", "s1", "--limit", "3", "--desc", "--json"])
        #expect(scan.status == 0)
        #expect(scan.output.split(separator: "\n").count == 3)
        #expect(scan.output.contains("\"t\":28.5"))
        let segment = try FileManager.default.contentsOfDirectory(atPath: directory + "/commitlog").sorted().last!
        let log = try run(["inspect", "commitlog", directory + "/commitlog/" + segment])
        #expect(log.status == 0 && log.output.contains("OK: all"))
        #expect(try run(["local", "--data", directory, "flush"]).status == 0)
        let sst = try FileManager.default.contentsOfDirectory(atPath: directory + "/tables").first { $0.hasSuffix(".sst") }!
        let path = directory + "/tables/" + sst
        let good = try run(["inspect", "sstable", path])
        #expect(good.status == 0 && good.output.contains("OK: digest"), "\(good.output)")
        // Flip one bit inside the first data block.
        let handle = try #require(FileHandle(forUpdatingAtPath: path))
        try handle.seek(toOffset: 5)
        let byte = try handle.read(upToCount: 1)!
        try handle.seek(toOffset: 5)
        try handle.write(contentsOf: Data([byte[0] ^ 0x04]))
        try handle.close()
        let bad = try run(["inspect", "sstable", path])
        #expect(bad.status != 0)
        #expect(bad.output.contains("CORRUPT") && bad.output.contains(sst), "\(bad.output)")
        // Unknown table: a clear error, not a crash.
        let unknown = try run(["local", "--data", directory, "get", "nope.t", "--key", "x"])
        #expect(unknown.status != 0 && unknown.output.contains("no table nope.t"))
    }
}
