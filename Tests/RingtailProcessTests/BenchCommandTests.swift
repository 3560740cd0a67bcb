// `ringtail bench` as a user runs it: a small point writes its report
// folder and prints progress, and options the study cannot honour (an
// unbuilt target, a bad level, RF larger than the cluster) get a clear error.
import Foundation
import Testing

@Suite struct BenchCommandTests {
    func run(_ arguments: [String]) throws -> (status: Int32, output: String) { try RingtailProcess.run(arguments) }

    @Test func aPointWritesItsReport() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("rt-bench-cli-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let result = try run(["bench", "run", "--rf", "3", "--write", "ONE", "--read", "ONE", "--requests", "3000",
                              "--rate", "2000", "--out", folder])
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("3000/3000 requests"))
        let summary = try String(contentsOfFile: folder + "/summary.md", encoding: .utf8)
        #expect(summary.contains("ringtail bench run --rf 3 --write ONE --read ONE --requests 3000"))
        #expect(summary.contains("seed: 1") && summary.contains("machine: "))
        #expect(FileManager.default.fileExists(atPath: folder + "/index.html"))
    }

    @Test func badOptionsAreRefusedClearly() throws {
        let target = try run(["bench", "run", "--target", "local", "--requests", "10"])
        #expect(target.status != 0 && target.output.contains("only 'simulator'"))
        let level = try run(["bench", "run", "--write", "MOST", "--requests", "10"])
        #expect(level.status != 0 && level.output.contains("--write must be one of"))
        let rf = try run(["bench", "run", "--nodes", "3", "--rf", "5", "--requests", "10"])
        #expect(rf.status != 0 && rf.output.contains("RF 5 needs at least 5 nodes"))
        let mix = try run(["bench", "sweep", "--workload", "read=0.5,update=0.4", "--requests", "10"])
        #expect(mix.status != 0 && mix.output.contains("--workload"))
    }
}
