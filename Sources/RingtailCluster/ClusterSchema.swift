// The cluster's schema: keyspaces with their replication, and tables with
// their definitions. A plain value every node holds a copy of. (This issue
// hands it to every node; spreading changes by gossip comes with real nodes.)
import RingtailCore
import RingtailStorage

public struct ClusterSchema: Hashable, Sendable {
    public private(set) var keyspaces: [String: KeyspaceDefinition] = [:]
    /// By qualified name, `keyspace.table`.
    public private(set) var tables: [String: TableDefinition] = [:]

    public init() {}

    public mutating func add(_ keyspace: KeyspaceDefinition) throws(RequestError) {
        guard TableDefinition.isValidName(keyspace.name) else {
            throw .invalidRequest("keyspace name \"\(keyspace.name)\" must be 1-48 letters, digits or underscores")
        }
        guard keyspace.name != "system" else { throw .invalidRequest("keyspace name \"system\" is reserved") }
        guard keyspaces[keyspace.name] == nil else { throw .invalidRequest("keyspace \(keyspace.name) already exists") }
        if case .networkTopology(let factors) = keyspace.replication {
            for (dc, factor) in factors.sorted(by: { $0.key < $1.key }) where factor < 0 || dc.isEmpty {
                throw .invalidRequest("keyspace \(keyspace.name): datacenter '\(dc)' has replication factor \(factor)")
            }
        }
        guard keyspace.replication.totalReplicationFactor > 0 else {
            throw .invalidRequest("keyspace \(keyspace.name) needs a replication factor of at least 1")
        }
        keyspaces[keyspace.name] = keyspace
    }

    public mutating func add(_ table: TableDefinition) throws(RequestError) {
        guard keyspaces[table.keyspace] != nil else { throw .invalidRequest("unknown keyspace \(table.keyspace)") }
        do { try table.validate() } catch { throw .invalidRequest(error.description) }
        guard tables[table.qualifiedName] == nil else { throw .invalidRequest("table \(table.qualifiedName) already exists") }
        tables[table.qualifiedName] = table
    }
}
