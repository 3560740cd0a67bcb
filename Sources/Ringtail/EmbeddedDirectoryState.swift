// The text file an embedded cluster keeps at the root of its data directory:
// the layout it was made with (a reopen must match, or replicas would move),
// the keyspaces (tables live in each node's manifest), and a timestamp lease
// so that writes after a reopen never sort before writes made before it.
import RingtailCore
import RingtailCluster

/// Contents of `<root>/embedded-cluster.txt`: UTF-8 lines, fields split by
/// one space, unknown line kinds rejected:
///
///     ringtail-embedded-cluster 1
///     layout nodes=3 datacenters=1 racks=3 seed=1
///     timestamp-lease 1767225660000000
///     keyspace iot simple 3
///     keyspace geo network dc1=3,dc2=2
///
/// Invariant: the lease is at least every write timestamp the cluster has
/// handed out, so a reopened cluster starts above it.
struct DirectoryState: Equatable {
    static let fileName = "embedded-cluster.txt"
    static let header = "ringtail-embedded-cluster 1"
    /// Larger files are not ours.
    static let fileBytesMax = 1 << 20

    var layout: String
    var timestampLease: Int64
    var keyspaces: [KeyspaceDefinition]

    func encoded() -> String {
        var lines = [Self.header, "layout " + layout, "timestamp-lease \(timestampLease)"]
        for keyspace in keyspaces {
            switch keyspace.replication {
            case .simple(let rf):
                lines.append("keyspace \(keyspace.name) simple \(rf)")
            case .networkTopology(let factors):
                let map = factors.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
                lines.append("keyspace \(keyspace.name) network \(map)")
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Parses `encoded()` output; anything else is a clear error naming `path`.
    static func decode(_ text: String, path: String) throws(EmbeddedClusterError) -> DirectoryState {
        func bad(_ line: Int, _ why: String) -> EmbeddedClusterError {
            EmbeddedClusterError(code: .storage, message: "\(path) line \(line): \(why); it was not written by this version of Ringtail")
        }
        let lines = text.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
        guard lines.first == header else { throw bad(1, "expected \"\(header)\"") }
        var state = DirectoryState(layout: "", timestampLease: .min, keyspaces: [])
        for (i, line) in lines.enumerated().dropFirst() {
            let fields = line.split(separator: " ").map(String.init)
            switch fields.first {
            case "layout" where fields.count >= 2:
                state.layout = fields.dropFirst().joined(separator: " ")
            case "timestamp-lease" where fields.count == 2:
                guard let lease = Int64(fields[1]) else { throw bad(i + 1, "bad timestamp lease") }
                state.timestampLease = lease
            case "keyspace" where fields.count == 4:
                guard let replication = replication(fields[2], fields[3]) else { throw bad(i + 1, "bad replication") }
                state.keyspaces.append(KeyspaceDefinition(name: fields[1], replication: replication))
            default:
                throw bad(i + 1, "unknown line \"\(line.prefix(60))\"")
            }
        }
        guard !state.layout.isEmpty else { throw bad(lines.count, "no layout line") }
        return state
    }

    static func replication(_ kind: String, _ value: String) -> ReplicationStrategy? {
        switch kind {
        case "simple":
            guard let rf = Int(value), rf >= 0 else { return nil }
            return .simple(replicationFactor: rf)
        case "network":
            var factors: [String: Int] = [:]
            for pair in value.split(separator: ",") {
                let parts = pair.split(separator: "=").map(String.init)
                guard parts.count == 2, let rf = Int(parts[1]), rf >= 0 else { return nil }
                factors[parts[0]] = rf
            }
            return .networkTopology(factors)
        default:
            return nil
        }
    }
}

/// Loads and saves the state file through a `FileSystem`. A save is atomic
/// and durable: a temporary file is written and synced, renamed over the
/// old one, and the directory synced.
struct DirectoryStateStore: Sendable {
    let root: String
    let fileSystem: FileSystem

    var path: String { root + "/" + DirectoryState.fileName }

    /// The saved state, or nil if the directory has none yet (a new cluster).
    func load() throws(EmbeddedClusterError) -> DirectoryState? {
        guard fileSystem.fileExists(path) else { return nil }
        let bytes: [UInt8]
        do throws(FileSystemError) {
            let file = try fileSystem.openForReading(path)
            defer { file.close() }
            guard file.size <= DirectoryState.fileBytesMax else {
                throw FileSystemError(code: .invalidArgument, path: path, message: "\(file.size) bytes is too large for a state file")
            }
            bytes = try file.readAll()
        } catch {
            throw EmbeddedClusterError(code: .storage, message: error.description)
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw EmbeddedClusterError(code: .storage, message: "\(path) is not UTF-8 text")
        }
        return try DirectoryState.decode(text, path: path)
    }

    func save(_ state: DirectoryState) throws(EmbeddedClusterError) {
        do {
            try fileSystem.writeAtomically(path, bytes: Array(state.encoded().utf8))
        } catch {
            throw EmbeddedClusterError(code: .storage, message: "could not save \(path): \(error.description)")
        }
    }
}
