// The `ringtail` command line: the root command and its subcommands.
import ArgumentParser

@main
struct RingtailCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ringtail",
        abstract: "Ringtail: a Cassandra-like store with a built-in partitioned append log.",
        subcommands: [NodeCommand.self, LocalCommand.self, InspectCommand.self, SimulateCommand.self])
}
