// The append log's commands refuse bad options with a clear error before
// they contact any node (no cluster runs here: nothing listens on the
// address given).
import Foundation
import Testing

@Suite struct TopicCommandTests {
    func run(_ arguments: [String]) throws -> (status: Int32, output: String) { try RingtailProcess.run(arguments) }

    @Test(arguments: [
        (["produce", "t", "--acks", "2"], "--acks must be all, 1 or 0"),
        (["iot", "produce", "--acks", "2"], "--acks must be all, 1 or 0"),
        (["produce", "t", "--compression", "gzip"], "--compression must be none, lz4 or zstd"),
        (["iot", "produce", "--compression", "snappy"], "--compression must be none, lz4 or zstd"),
        (["produce", "t", "--batch-bytes", "100"], "--batch-bytes must be 1024...1048576"),
        (["consume", "t", "--group", "g", "--assignor", "sticky"], "--assignor must be range, roundrobin or cooperative-sticky"),
    ])
    func badOptionsAreRefused(arguments: [String], message: String) throws {
        let result = try run(arguments + ["--host", "127.0.0.1:9"])
        #expect(result.status != 0)
        #expect(result.output.contains(message), "\(result.output)")
    }
}
