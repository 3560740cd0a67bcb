// `ringtail node --config FILE`: runs one Ringtail node in this process
// until SIGTERM or SIGINT, which drain requests in flight, flush memtables,
// close storage and exit 0. Logs go to standard error, one line each, with
// the node's name.
import ArgumentParser
import Dispatch
import Foundation
import Logging
import RingtailServer

struct NodeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "node",
        abstract: "Run a Ringtail node (see docs/configuration.md for the file's keys).")

    @Option(name: .long, help: "The node's TOML configuration file.")
    var config: String

    func run() throws {
        let configuration: ServerConfiguration
        do {
            configuration = try ServerConfiguration.load(path: config)
        } catch {
            throw ValidationError("\(error)")
        }
        let level = Logger.Level(rawValue: configuration.logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let server = NodeServer(configuration: configuration, logger: Logger(label: "ringtail"))
        do {
            try server.start()
        } catch {
            server.logger.critical("could not start: \(error)")
            server.stop()
            try? server.waitUntilStopped()
            throw ExitCode(1)
        }
        // Signals arrive on a dispatch queue, never in the middle of the loop's work.
        signal(SIGTERM, SIG_IGN)
        signal(SIGINT, SIG_IGN)
        signal(SIGPIPE, SIG_IGN)
        var sources: [DispatchSourceSignal] = []
        for sig in [SIGTERM, SIGINT] {
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler {
                server.logger.info("received \(sig == SIGTERM ? "SIGTERM" : "SIGINT")")
                server.stop()
            }
            source.resume()
            sources.append(source)
        }
        do {
            try server.waitUntilStopped()
        } catch {
            server.logger.critical("stopped with an error: \(error)")
            throw ExitCode(1)
        }
        server.logger.info("stopped")
        _ = sources
    }
}
