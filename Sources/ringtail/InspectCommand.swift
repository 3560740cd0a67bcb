// `ringtail inspect sstable|commitlog FILE`: print a file's contents and
// verify every checksum; exit non-zero on corruption.
import ArgumentParser
import Foundation
import RingtailCore
import RingtailPosix
import RingtailStorage

struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect", abstract: "Print and verify one storage file.",
        subcommands: [SSTable.self, CommitLog.self])

    static func hex(_ bytes: [UInt8], max: Int = 32) -> String {
        let shown = Hex.encode(bytes.prefix(max))
        return bytes.count > max ? shown + "…(\(bytes.count) bytes)" : shown
    }

    static func printable(_ bytes: [UInt8]) -> String {
        if let s = String(validating: bytes, as: UTF8.self), s.unicodeScalars.allSatisfy({ $0.value >= 32 && $0.value < 127 }) {
            return "\"" + s + "\""
        }
        return "0x" + hex(bytes)
    }

    static func describe(_ u: PartitionUpdate, rows: Int) -> [String] {
        var lines: [String] = []
        if !u.deletion.isLive { lines.append("  partition deletion \(u.deletion)") }
        for rt in u.rangeTombstones { lines.append("  range tombstone \(rt.range) \(rt.deletion)") }
        for row in u.rows.prefix(rows) {
            var line = "  row " + printable(row.clustering)
            if !row.deletion.isLive { line += " deletion \(row.deletion)" }
            for c in row.cells {
                let name = c.column.isEmpty ? "<marker>" : String(decoding: c.column, as: UTF8.self)
                switch c.kind {
                case .live: line += " \(name)=\(printable(c.value))@\(c.timestamp)"
                case .expiring(let ttl, let at): line += " \(name)=\(printable(c.value))@\(c.timestamp) ttl \(ttl)s expires \(at)"
                case .tombstone(let at): line += " \(name)=<tombstone>@\(c.timestamp) deleted \(at)"
                }
            }
            lines.append(line)
        }
        if u.rows.count > rows { lines.append("  … \(u.rows.count - rows) more rows") }
        return lines
    }

    struct SSTable: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "sstable", abstract: "Verify and print an SSTable.")
        @Argument var file: String
        @Option(help: "Partitions to print.") var partitions: Int = 20
        @Option(help: "Rows to print per partition.") var rows: Int = 10

        func run() throws {
            do {
                let r = try Inspector.sstable(file, fileSystem: PosixFileSystem(), keep: partitions)
                let s = r.statistics
                print("sstable \(file): format v\(r.formatVersion), \(r.fileBytes) bytes, \(r.blockCount) data blocks, table \(s.table) generation \(s.generation) level \(s.compactionLevel)")
                print("partitions \(s.partitionCount) rows \(s.rowCount) cells \(s.cellCount) tombstones \(s.tombstoneCount) (range \(s.rangeTombstoneCount), partition \(s.partitionDeletionCount)) expiring cells \(s.expiringCellCount)")
                print("timestamps [\(s.minTimestamp), \(s.maxTimestamp)] local deletion [\(s.minLocalDeletionTime), \(s.maxLocalDeletionTime)] ttl [\(s.minTTLSeconds == .max ? 0 : s.minTTLSeconds), \(s.maxTTLSeconds)]")
                print("tokens [\(s.minToken), \(s.maxToken)] clustering [\(s.minClustering.map(InspectCommand.printable) ?? "-"), \(s.maxClustering.map(InspectCommand.printable) ?? "-")] order \(s.clusteringOrder.rawValue)")
                print("uncompressed \(s.uncompressedBytes) bytes, stored \(s.dataBytes) bytes, compression tag \(s.compressionTag)")
                for (token, u) in r.partitions {
                    print("partition \(InspectCommand.printable(u.key)) token \(token)")
                    InspectCommand.describe(u, rows: rows).forEach { print($0) }
                }
                if r.partitionsRead > r.partitions.count { print("… \(r.partitionsRead - r.partitions.count) more partitions") }
                print("OK: digest and all \(r.blockCount) block checksums verified")
            } catch {
                FileHandle.standardError.write(Data("CORRUPT: \(error)\n".utf8))
                throw ExitCode(2)
            }
        }
    }

    struct CommitLog: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "commitlog", abstract: "Verify and print a commit log segment.")
        @Argument var file: String
        @Option(help: "Records to print.") var records: Int = 50

        func run() throws {
            do {
                let r = try Inspector.commitLog(file, fileSystem: PosixFileSystem())
                print("commit log segment \(r.segment): \(r.fileBytes) bytes, \(r.records.count) records")
                for (offset, m) in r.records.prefix(records) {
                    print("@\(offset) table \(m.table) partition \(InspectCommand.printable(m.update.key))")
                    InspectCommand.describe(m.update, rows: 5).forEach { print($0) }
                }
                if r.records.count > records { print("… \(r.records.count - records) more records") }
                if let torn = r.tornTailOffset {
                    print("torn final record at offset \(torn) (what a crash leaves; replay truncates it)")
                }
                print("OK: all \(r.records.count) record checksums verified")
            } catch {
                FileHandle.standardError.write(Data("CORRUPT: \(error)\n".utf8))
                throw ExitCode(2)
            }
        }
    }
}
