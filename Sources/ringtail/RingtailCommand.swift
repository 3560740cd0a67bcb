// The `ringtail` command line: the root command and its subcommands.
import ArgumentParser

@main
struct RingtailCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ringtail",
        abstract: "Ringtail: a Cassandra-like store with a built-in partitioned append log.",
        subcommands: [NodeCommand.self, ClusterCommand.self, KeyspaceCommand.self, TableCommand.self, PutCommand.self,
                      GetCommand.self, ScanCommand.self, DeleteCommand.self, StatusCommand.self, RingCommand.self,
                      HintsCommand.self, FlushCommand.self, CompactCommand.self, WaitCommand.self, FaultsCommand.self, LocalCommand.self, InspectCommand.self,
                      SimulateCommand.self, TopicCommand.self, ProduceCommand.self, ConsumeCommand.self, GroupsCommand.self, IoTCommand.self, SinkCommand.self, BenchCommand.self])
}
