// `ringtail local crash-writer`: writes numbered mutations forever from
// several threads, printing "ack N" for each acknowledged one, so a test or
// the demo can SIGKILL it and check that every acknowledged write survived.
import ArgumentParser
import Foundation
import RingtailCore
import RingtailPosix
import RingtailStorage

struct CrashWriter: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "crash-writer", abstract: "Write numbered rows until killed (crash testing).", shouldDisplay: false)
    @ParentCommand var local: LocalCommand
    var engine: EngineOptionGroup { local.engine }
    @Option var start: Int = 0
    @Option var threads: Int = 4
    @Option(help: "Stop after this many writes (0: never).") var count: Int = 0

    /// Each write is one mutation: partition "k<N>", three cells all "N".
    static func mutation(_ n: Int, table: TableID, timestamp: Int64) -> Mutation {
        let value = Array(String(n).utf8)
        let cells = ["a", "b", "c"].map { Cell(column: Array($0.utf8), timestamp: timestamp, value: value) }
        return Mutation(table: table, update: PartitionUpdate(key: Array("k\(n)".utf8), rows: [Row(clustering: [], cells: cells)]))
    }

    func run() throws {
        var options = try engine.engineOptions()
        options.memtableBudget = .kibibytes(512) // flush and compact often, so kills land mid-flush
        options.commitLogSegmentBytes = .kibibytes(256)
        options.compactionBytesPerSecond = nil
        let e = try StorageEngine(directory: engine.data, fileSystem: PosixFileSystem(), clock: SystemClock(), options: options)
        var tableOptions = TableOptions()
        var st = SizeTieredOptions()
        st.minThreshold = 2
        tableOptions.compaction = .sizeTiered(st)
        let table = try e.table(named: "crash.rows")?.0
            ?? e.createTable(TableDefinition(keyspace: "crash", name: "rows", options: tableOptions))
        let next = Locked(start)
        let out = Locked(())
        let workers = (0..<threads).map { t in
            WorkerThread(name: "writer\(t)") {
                while true {
                    let n = next.withLock { v -> Int in defer { v += 1 }; return v }
                    if count > 0 && n >= start + count { return }
                    do {
                        try e.apply(Self.mutation(n, table: table, timestamp: Int64(n) + 1))
                        out.withLock { _ in FileHandle.standardOutput.write(Data("ack \(n)\n".utf8)) }
                    } catch {
                        out.withLock { _ in FileHandle.standardOutput.write(Data("error \(n) \(error)\n".utf8)) }
                        return
                    }
                }
            }
        }
        for w in workers { w.join() }
        try e.close()
    }
}
