// Running the `ringtail` binary from a test, as a user would.
// Process test suites run in parallel, so each owns its ports (node K uses
// base + K): LocalCluster 7710/9710, Log 7730/9730, Groups 7740/9740,
// FaultSuite 7750/9750 (5 nodes), IoTPipeline 7770/9770.
import Foundation

enum RingtailProcess {
    /// The `ringtail` binary built beside the test bundle.
    static var binary: String {
        let testBinary = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var directory = testBinary.deletingLastPathComponent()
        // swift test runs .build/<triple>/debug/RingtailPackageTests.xctest
        for _ in 0..<3 {
            let candidate = directory.appendingPathComponent("ringtail").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            directory = directory.deletingLastPathComponent()
        }
        return ".build/debug/ringtail"
    }

    /// Runs `ringtail arguments` to its end: exit status and output
    /// (standard output and error together).
    static func run(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}
