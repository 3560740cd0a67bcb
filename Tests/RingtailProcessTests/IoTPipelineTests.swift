// The IoT pipeline on real processes: `ringtail iot produce` writes a
// fleet's readings to a topic, a first `ringtail sink` stops part-way (its
// last poll's rows written but not committed), a second one resumes from
// the group's committed offsets and rewrites what was redelivered; the table
// then holds every reading exactly once, and the daily aggregate query
// answers. Every process is stopped by pid.
import Foundation
import Glibc
import Testing

@Suite(.serialized) struct IoTPipelineTests {
    func run(_ arguments: [String]) throws -> (status: Int32, output: String) { try RingtailProcess.run(arguments) }

    @Test func readingsReachTheTableExactlyOnceAcrossARestartedSink() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ringtail-iot-\(getpid())").path
        let c = ["--dir", dir]
        let host = ["--host", "127.0.0.1:9771"]
        defer { _ = try? run(["cluster", "clean"] + c) }
        #expect(try run(["cluster", "up", "--nodes", "3", "--peer-port", "7770", "--client-port", "9770", "--timeout", "60"] + c).status == 0)
        let sensors = 20, total = 6000
        let produced = try run(["iot", "produce", "--sensors", "\(sensors)", "--count", "\(total)", "--rate", "0", "--late", "0"] + host)
        #expect(produced.status == 0 && produced.output.contains("produced \(total) readings"), "\(produced.output)")

        let first = try run(["sink", "--workers", "1", "--max-rows", "2000", "--consistency", "QUORUM"] + host)
        #expect(first.status == 0, "\(first.output)")
        let lag = try run(["groups", "describe", "sink"] + host)
        #expect(lag.status == 0, "\(lag.output)")
        let second = try run(["sink", "--workers", "2", "--timeout", "4s"] + host)
        #expect(second.status == 0 && second.output.contains("0 records were not readings"), "\(second.output)")

        var rows = 0
        for kind in ["env", "wearable", "meter"] {
            for i in 0..<sensors {
                let id = "\(kind)-\(String(repeating: "0", count: 5 - String(i).count))\(i)"
                let out = try run(["iot", "query", "--sensor", id, "--limit", "100000", "--json"] + host).output
                rows += out.split(separator: "\n").filter { $0.hasPrefix("{") }.count
            }
        }
        #expect(rows == total, "the table holds \(rows) readings; \(total) were produced")
        let daily = try run(["iot", "daily", "--sensor", "env-00000", "--metric", "temperature"] + host)
        #expect(daily.status == 0 && daily.output.split(separator: "\n").count >= 2, "\(daily.output)")
    }
}
