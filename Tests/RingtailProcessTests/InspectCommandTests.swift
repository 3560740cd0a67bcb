// `ringtail inspect` as a user runs it: exit 0 and a summary on a good file,
// a non-zero exit naming the file on a corrupt one.
import Foundation
import RingtailCore
import RingtailPosix
import Testing
@testable import RingtailStorage

@Suite struct InspectCommandTests {
    func run(_ arguments: [String]) throws -> (status: Int32, output: String) { try RingtailProcess.run(arguments) }

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
        #expect(bad.status == 2)
        #expect(bad.output.contains("CORRUPT") && bad.output.contains(sst), "\(bad.output)")
        // A segment of several records, written by the engine itself.
        let logDirectory = directory + "-log"
        try? FileManager.default.removeItem(atPath: logDirectory)
        defer { try? FileManager.default.removeItem(atPath: logDirectory) }
        var options = EngineOptions()
        options.syncMode = .batch
        options.background = .manual
        let engine = try StorageEngine(directory: logDirectory, fileSystem: PosixFileSystem(), clock: SystemClock(), options: options)
        let table = try engine.createTable(TableDefinition(keyspace: "ks", name: "t"))
        for i in 0..<5 {
            try engine.apply(Mutation(table: table, update: PartitionUpdate(key: Array("k\(i)".utf8), rows: [
                Row(clustering: [], cells: [.live("v", Array(repeating: UInt8(i), count: 64), timestamp: 1)])])))
        }
        engine.kill()
        let segmentName = try FileManager.default.contentsOfDirectory(atPath: logDirectory + "/commitlog").sorted().last!
        let segmentPath = logDirectory + "/commitlog/" + segmentName
        let original = try Data(contentsOf: URL(fileURLWithPath: segmentPath))
        let whole = try run(["inspect", "commitlog", segmentPath])
        #expect(whole.status == 0 && whole.output.contains("OK: all 5"), "\(whole.output)")
        // A torn final record (what a crash leaves): reported, exit 0.
        try original.dropLast(3).write(to: URL(fileURLWithPath: segmentPath))
        let torn = try run(["inspect", "commitlog", segmentPath])
        #expect(torn.status == 0 && torn.output.contains("torn final record at offset"), "\(torn.output)")
        // A damaged record with records after it is corruption: exit 2.
        var damaged = original
        damaged[40] ^= 0x20
        try damaged.write(to: URL(fileURLWithPath: segmentPath))
        let corrupt = try run(["inspect", "commitlog", segmentPath])
        #expect(corrupt.status == 2 && corrupt.output.contains("CORRUPT"), "\(corrupt.output)")
        // A bad option: a clear message, a non-zero exit.
        let badSync = try run(["local", "--data", directory, "--sync", "bogus", "tables"])
        #expect(badSync.status != 0 && badSync.output.contains("--sync must be batch, group or periodic"))
        // Unknown table: a clear error, not a crash.
        let unknown = try run(["local", "--data", directory, "get", "nope.t", "--key", "x"])
        #expect(unknown.status != 0 && unknown.output.contains("no table nope.t"))
    }
}
