// An in-process Ringtail cluster of N real nodes for applications and tests,
// driven by the simulator's event loop on virtual time that follows the wall
// clock, with storage in memory or in a directory. Creation and schema here;
// requests in EmbeddedCluster+Requests, faults in EmbeddedCluster+Faults.
import Synchronization
import RingtailCore
import RingtailStorage
import RingtailCluster
import RingtailSimulation
import RingtailPosix

/// Where an embedded cluster keeps its nodes' data.
public enum EmbeddedStorage: Hashable, Sendable {
    /// One in-memory file system per node: gone at shutdown. A killed node
    /// loses what it had not synced (nothing acknowledged: commit logs sync
    /// before a write is acknowledged).
    case memory
    /// Real files under this folder (created if missing), one subfolder per
    /// node, plus `embedded-cluster.txt` (layout, keyspaces, timestamp lease).
    case directory(String)
}

/// Why an embedded cluster operation (not a data request) failed.
public struct EmbeddedClusterError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Code: String, Hashable, Sendable {
        /// A bad argument: an unknown node, an impossible layout, an invalid
        /// or conflicting keyspace or table. Nothing changed.
        case invalidArgument
        /// The data directory could not be read or written; the message names
        /// the file. Fix the directory (space, permissions) and open it again.
        case storage
        /// The cluster was shut down; create a new one.
        case shutDown
    }

    public var code: Code
    public var message: String

    public init(code: Code, message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code.rawValue): \(message)" }

    static func invalid(_ message: String) -> EmbeddedClusterError { EmbeddedClusterError(code: .invalidArgument, message: message) }
    static let shutDown = EmbeddedClusterError(code: .shutDown, message: "the embedded cluster is shut down")
}

/// A cluster of N Ringtail nodes in this process.
///
/// Nodes are named n1…nN and spread round-robin over datacenters dc1…dcD,
/// then over racks r1…rR within each. Every node is a real node (commit log,
/// memtables, SSTables, coordinator, gossip, failure detector, hinted
/// handoff); messages go through the wire codec on a network with no delay.
///
/// **Time.** The nodes run on virtual time that follows the wall clock:
/// before every operation the cluster runs the events (gossip, hint
/// delivery) of the wall time that passed, so the nodes' clocks
/// (`clockMicros`) read the real wall time. An embedded cluster never
/// sleeps: when a request waits on a timeout (a replica cut off by a network
/// partition), virtual time jumps ahead and the `RequestError.timeout`
/// arrives at once in wall time. `advance(by:)` lets virtual time pass on
/// purpose (for the failure detector to convict a killed node, or hints to
/// be delivered). After a jump the nodes' clocks, which stamp writes and
/// expire TTLs, run ahead of the wall clock, and stand still until it catches up.
///
/// **Timestamps.** A write is stamped with its coordinator's wall clock
/// (µs), raised to one above the previous write's when needed: writes through
/// one embedded cluster never tie and are ordered as they were made. With
/// directory storage a lease in the state file keeps this true across reopens.
///
/// **Storage.** `.directory` keeps data across `shutdown()` and a new
/// `EmbeddedCluster` on the same folder: keyspaces and tables are restored,
/// and declaring identical ones again does nothing. Reopen with the same
/// nodes, datacenters, racks and seed (checked), since they place replicas;
/// never open one folder from two clusters at once.
///
/// **Thread safety.** Every method may be called from any thread; one lock
/// serializes them, so the cluster serves one request at a time.
public final class EmbeddedCluster: Sendable {
    struct State: Sendable {
        var cluster: SimulatedCluster
        /// The last write timestamp handed out (µs).
        var lastTimestamp: Int64
        /// Round-robin position over running nodes.
        var nextCoordinator = 0
        var isShutDown = false
        var store: DirectoryStateStore?
        /// What the state file holds now (directory storage only).
        var saved: DirectoryState?
    }

    /// How far a saved timestamp lease reaches beyond the last timestamp:
    /// the state file is rewritten at most once per this much write time.
    static let timestampLeaseMicros: Int64 = 60_000_000
    /// Virtual time run at creation, for gossip to have every node see every other up.
    static let warmUp: Duration = .seconds(5)

    let state: Mutex<State>
    /// The monotonic wall instant of virtual time zero.
    let startedAt: Instant
    let wallClock = SystemClock()
    public let storage: EmbeddedStorage
    /// n1…nN.
    public let nodeNames: [String]
    public let datacenters: [String]

    /// Starts the nodes and runs 5 s of virtual time, so that gossip has
    /// every node see every other up when this returns.
    ///
    /// - Throws: `.invalidArgument` for a layout outside 1 <= datacenters <=
    ///   nodes <= 1000 and 1 <= racksPerDatacenter <= 1000, or a directory made
    ///   with another layout; `.storage` if the directory cannot be used.
    public init(nodes: Int = 3, datacenters: Int = 1, racksPerDatacenter: Int = 3, storage: EmbeddedStorage = .memory,
                seed: UInt64 = 1) throws(EmbeddedClusterError) {
        let members = try Self.members(nodes: nodes, datacenters: datacenters, racks: racksPerDatacenter)
        var options = SimulatedCluster.Options(nodes: members)
        options.seed = seed
        options.latencies = LinkLatencies(sameDatacenter: .constant(.zero), crossDatacenter: .constant(.zero))
        let clock = SystemClock()
        // Virtual zero is `warmUp` before now: once gossip has run for that
        // long, virtual time and the nodes' clocks meet the wall clock.
        let started = clock.now() + (.zero - Self.warmUp)
        options.wallMicrosAtZero = clock.wallMicros() - Self.warmUp.microsecondsClamped
        let dcNames = (1...datacenters).map { "dc\($0)" }
        options.allocationStrategy = datacenters == 1 ? .simple(replicationFactor: min(3, nodes)) : .networkTopology(
            Dictionary(uniqueKeysWithValues: dcNames.map { dc in (dc, min(3, members.count { $0.location.datacenter == dc })) }))
        let layout = "nodes=\(nodes) datacenters=\(datacenters) racks=\(racksPerDatacenter) seed=\(seed)"
        var store: DirectoryStateStore?
        var saved: DirectoryState?
        if case .directory(let path) = storage {
            (store, saved) = try Self.openDirectory(path, layout: layout)
            options.storage = .directory(root: store!.root, fileSystem: store!.fileSystem)
        }
        let cluster: SimulatedCluster
        do {
            cluster = try SimulatedCluster(options: options)
        } catch {
            throw EmbeddedClusterError(code: .storage, message: error.description)
        }
        do {
            try Self.restoreSchema(keyspaces: saved?.keyspaces ?? [], into: cluster)
            if let store, saved == nil {
                saved = DirectoryState(layout: layout, timestampLease: .min, keyspaces: [])
                try store.save(saved!)
            }
        } catch {
            cluster.shutdown()
            throw error
        }
        cluster.run(for: Self.warmUp)
        startedAt = started
        self.storage = storage
        nodeNames = members.map(\.id.name)
        self.datacenters = dcNames
        state = Mutex(State(cluster: cluster, lastTimestamp: saved?.timestampLease ?? .min, store: store, saved: saved))
    }

    deinit { shutdown() }

    static func members(nodes: Int, datacenters: Int, racks: Int) throws(EmbeddedClusterError) -> [(id: NodeID, location: NodeLocation)] {
        guard (1...1000).contains(nodes), (1...nodes).contains(datacenters), (1...1000).contains(racks) else {
            throw .invalid("an embedded cluster needs 1 <= datacenters <= nodes <= 1000 and 1 to 1000 racks per datacenter; "
                           + "got \(nodes) nodes, \(datacenters) datacenters, \(racks) racks")
        }
        return SimulatedCluster.Options.dealt(nodes: nodes, datacenters: datacenters, racksPerDatacenter: racks)
    }

    /// Creates the folder if missing and reads its state file, checking it was made with `layout`.
    static func openDirectory(_ path: String, layout: String) throws(EmbeddedClusterError) -> (DirectoryStateStore, DirectoryState?) {
        var root = path
        while root.count > 1 && root.hasSuffix("/") { root.removeLast() }
        guard !root.isEmpty else { throw .invalid("the storage directory path is empty") }
        let fileSystem = PosixFileSystem()
        do {
            try fileSystem.createDirectory(root)
        } catch {
            throw EmbeddedClusterError(code: .storage, message: error.description)
        }
        let store = DirectoryStateStore(root: root, fileSystem: fileSystem)
        let saved = try store.load()
        if let saved, saved.layout != layout {
            throw .invalid("\(root) holds a cluster made with \(saved.layout); open it with the same layout, not \(layout)")
        }
        return (store, saved)
    }

    /// Declares the saved keyspaces again, then every table the nodes' manifests hold for them.
    static func restoreSchema(keyspaces: [KeyspaceDefinition], into cluster: SimulatedCluster) throws(EmbeddedClusterError) {
        do {
            for keyspace in keyspaces { try cluster.create(keyspace) }
            var tables: [String: TableDefinition] = [:]
            for id in cluster.nodeIDs {
                for (_, table) in cluster.node(id)?.engine.tableDefinitions ?? [] where cluster.schema.keyspaces[table.keyspace] != nil {
                    tables[table.qualifiedName] = tables[table.qualifiedName] ?? table
                }
            }
            for name in tables.keys.sorted() { try cluster.create(tables[name]!) }
        } catch {
            throw EmbeddedClusterError(code: .storage, message: "restoring the schema: \(error.description)")
        }
    }

    // MARK: Locking and time

    /// Runs `body` under the lock after catching up with the wall clock;
    /// throws `shutDownError` once the cluster is shut down.
    func locked<T: Sendable, E: Error>(orThrow shutDownError: E,
                                       _ body: (inout State) throws(E) -> T) throws(E) -> T {
        try state.withLock { (s) throws(E) -> T in
            guard !s.isShutDown else { throw shutDownError }
            catchUp(&s)
            return try body(&s)
        }
    }

    /// Moves virtual time to the wall time elapsed since virtual zero, if
    /// that is later. Virtual time never runs behind the wall clock; after a
    /// jump (a timeout, `advance(by:)`) it waits for the wall clock to catch up.
    /// Costs the events of the elapsed time: about 10 per node per second.
    func catchUp(_ s: inout State) {
        let target = Instant.zero + (wallClock.now() - startedAt)
        if target > s.cluster.now { s.cluster.run(until: target) }
    }

    /// The nodes' wall clock now (µs since the epoch): the real wall clock,
    /// or ahead of it by what timeouts and `advance(by:)` added and the wall
    /// clock has not caught up with yet. Write timestamps and TTLs use it.
    public var clockMicros: Int64 {
        (try? locked(orThrow: EmbeddedClusterError.shutDown) { (s) throws(EmbeddedClusterError) -> Int64 in
            s.cluster.timeline.wallMicros
        }) ?? wallClock.wallMicros()
    }

    // MARK: Schema

    /// Creates a keyspace. Creating an identical one again does nothing.
    ///
    /// - Throws: `.invalidArgument` for a bad name, a replication factor
    ///   below 0 (or 0 in total), a datacenter this cluster lacks, or a
    ///   keyspace of that name with other replication; `.storage` if the
    ///   state file cannot be written.
    public func createKeyspace(_ name: String, replication: ReplicationStrategy) throws(EmbeddedClusterError) {
        try locked(orThrow: EmbeddedClusterError.shutDown) { (s) throws(EmbeddedClusterError) in
            switch replication {
            case .simple(let rf) where rf < 0:
                throw .invalid("keyspace \(name): a replication factor is at least 0, got \(rf)")
            case .networkTopology(let factors):
                for (dc, rf) in factors.sorted(by: { $0.key < $1.key }) {
                    guard datacenters.contains(dc) else {
                        throw .invalid("keyspace \(name): no datacenter \(dc) (this cluster has \(datacenters.joined(separator: ", ")))")
                    }
                    guard rf >= 0 else { throw .invalid("keyspace \(name): replication factor \(rf) in \(dc) is below 0") }
                }
            default: break
            }
            let keyspace = KeyspaceDefinition(name: name, replication: replication)
            if let existing = s.cluster.schema.keyspaces[name] {
                if existing == keyspace { return }
                throw .invalid("keyspace \(name) exists with \(existing.replication)")
            }
            var next = s.cluster.schema
            do throws(RequestError) { try next.add(keyspace) } catch { throw .invalid(Self.message(of: error)) }
            if let store = s.store, var saved = s.saved {
                saved.keyspaces.append(keyspace)
                try store.save(saved)
                s.saved = saved
            }
            do throws(RequestError) { try s.cluster.create(keyspace) } catch { throw .invalid(Self.message(of: error)) }
        }
    }

    /// Creates a table on every node (nodes that are down get it when they
    /// restart). Creating an identical one again does nothing.
    ///
    /// - Throws: `.invalidArgument` for an unknown keyspace, a bad name or
    ///   option, a column named twice, or a table of that name with another definition.
    public func createTable(_ definition: TableDefinition) throws(EmbeddedClusterError) {
        try locked(orThrow: EmbeddedClusterError.shutDown) { (s) throws(EmbeddedClusterError) in
            if let existing = s.cluster.schema.tables[definition.qualifiedName] {
                if existing == definition { return }
                throw .invalid("table \(definition.qualifiedName) exists with another definition")
            }
            do throws(RequestError) { try s.cluster.create(definition) } catch { throw .invalid(Self.message(of: error)) }
        }
    }

    /// The keyspaces and tables, by name.
    public var schema: (keyspaces: [String: ReplicationStrategy], tables: [String: TableDefinition]) {
        state.withLock { s in (s.cluster.schema.keyspaces.mapValues(\.replication), s.cluster.schema.tables) }
    }

    static func message(of error: RequestError) -> String {
        if case .invalidRequest(let message) = error { return message }
        return error.description
    }
}
