// The cluster's schema: keyspaces with their replication, and tables with
// their definitions. Every node holds a copy; changes spread by gossip (a
// digest of the schema) and pulls, and merge last-write-wins per name, so
// any two nodes that have seen the same changes hold the same schema.
// Encoding for exchange and persistence: ClusterSchema+Codec.swift.
import RingtailCore
import RingtailStorage

/// Keyspaces and tables, each name versioned by the time of its last
/// create or drop.
///
/// Invariant: `keyspaces` and `tables` hold exactly the live definitions of
/// `entries`: a table is live when its own entry is live, its keyspace is
/// live, and it was created at or after the keyspace (a table of an older
/// incarnation of a dropped and re-created keyspace stays dropped).
public struct ClusterSchema: Hashable, Sendable {
    /// One name's latest change: a definition, or a drop (nil).
    public struct Entry<Definition: Hashable & Sendable>: Hashable, Sendable {
        /// When the change was made (µs since the epoch, the node that made it).
        public var timestampMicros: Int64
        public var definition: Definition?
    }

    public internal(set) var keyspaceEntries: [String: Entry<KeyspaceDefinition>] = [:]
    /// By qualified name, `keyspace.table`.
    public internal(set) var tableEntries: [String: Entry<TableDefinition>] = [:]
    /// The live keyspaces.
    public private(set) var keyspaces: [String: KeyspaceDefinition] = [:]
    /// The live tables, by qualified name.
    public private(set) var tables: [String: TableDefinition] = [:]

    public init() {}

    /// Adds a keyspace; an existing live one with the same name is an error.
    public mutating func add(_ keyspace: KeyspaceDefinition, timestampMicros: Int64 = 0) throws(RequestError) {
        guard TableDefinition.isValidName(keyspace.name) else {
            throw .invalidRequest("keyspace name \"\(keyspace.name)\" must be 1-48 letters, digits or underscores")
        }
        guard keyspace.name != "system" else { throw .invalidRequest("keyspace name \"system\" is reserved") }
        guard keyspaces[keyspace.name] == nil else { throw .invalidRequest("keyspace \(keyspace.name) already exists") }
        try Self.validate(keyspace)
        keyspaceEntries[keyspace.name] = Entry(timestampMicros: later(than: keyspaceEntries[keyspace.name], timestampMicros),
                                               definition: keyspace)
        refresh()
    }

    /// Adds a table to a live keyspace; an existing live one is an error.
    public mutating func add(_ table: TableDefinition, timestampMicros: Int64 = 0) throws(RequestError) {
        guard keyspaces[table.keyspace] != nil else { throw .invalidRequest("unknown keyspace \(table.keyspace)") }
        do { try table.validate() } catch { throw .invalidRequest(error.description) }
        guard tables[table.qualifiedName] == nil else { throw .invalidRequest("table \(table.qualifiedName) already exists") }
        let floor = max(keyspaceEntries[table.keyspace]?.timestampMicros ?? 0, timestampMicros)
        tableEntries[table.qualifiedName] = Entry(timestampMicros: later(than: tableEntries[table.qualifiedName], floor),
                                                  definition: table)
        refresh()
    }

    /// Drops a live keyspace and, with it, its tables.
    public mutating func dropKeyspace(_ name: String, timestampMicros: Int64) throws(RequestError) {
        guard keyspaces[name] != nil else { throw .invalidRequest("unknown keyspace \(name)") }
        keyspaceEntries[name] = Entry(timestampMicros: later(than: keyspaceEntries[name], timestampMicros), definition: nil)
        refresh()
    }

    /// Drops a live table (`keyspace.table`).
    public mutating func dropTable(_ qualifiedName: String, timestampMicros: Int64) throws(RequestError) {
        guard tables[qualifiedName] != nil else { throw .invalidRequest("unknown table \(qualifiedName)") }
        tableEntries[qualifiedName] = Entry(timestampMicros: later(than: tableEntries[qualifiedName], timestampMicros),
                                            definition: nil)
        refresh()
    }

    /// Takes every change of `other` newer than ours, name by name (ties go
    /// to the larger encoding, so both sides choose alike). Entries that
    /// fail validation (a peer's bad input) are skipped. Returns whether
    /// anything changed.
    @discardableResult
    public mutating func merge(_ other: ClusterSchema) -> Bool {
        var changed = false
        for (name, theirs) in other.keyspaceEntries {
            if let d = theirs.definition, (try? Self.validate(d)) == nil || d.name != name { continue }
            if Self.wins(theirs, over: keyspaceEntries[name], encode: Self.encode) {
                keyspaceEntries[name] = theirs
                changed = true
            }
        }
        for (name, theirs) in other.tableEntries {
            if let d = theirs.definition, (try? d.validate()) == nil || d.qualifiedName != name { continue }
            if Self.wins(theirs, over: tableEntries[name], encode: { d, w in d.encode(into: &w) }) {
                tableEntries[name] = theirs
                changed = true
            }
        }
        if changed { refresh() }
        return changed
    }

    /// A timestamp above `entry`'s, at least `proposed`: a change always supersedes what it replaces.
    func later<D>(than entry: Entry<D>?, _ proposed: Int64) -> Int64 {
        max(proposed, (entry?.timestampMicros ?? -1) + 1)
    }

    static func wins<D>(_ a: Entry<D>, over b: Entry<D>?, encode: (D, inout ByteWriter) -> Void) -> Bool {
        guard let b else { return true }
        if a.timestampMicros != b.timestampMicros { return a.timestampMicros > b.timestampMicros }
        func bytes(_ e: Entry<D>) -> [UInt8] {
            var w = ByteWriter()
            if let d = e.definition { w.writeUInt8(1); encode(d, &w) } else { w.writeUInt8(0) }
            return w.bytes
        }
        return bytes(b).lexicographicallyPrecedes(bytes(a))
    }

    static func validate(_ keyspace: KeyspaceDefinition) throws(RequestError) {
        guard TableDefinition.isValidName(keyspace.name), keyspace.name != "system" else {
            throw .invalidRequest("keyspace name \"\(keyspace.name)\" must be 1-48 letters, digits or underscores, not system")
        }
        switch keyspace.replication {
        case .simple(let rf):
            guard rf >= 1 && rf <= 64 else { throw .invalidRequest("keyspace \(keyspace.name): replication factor \(rf) is outside 1...64") }
        case .networkTopology(let factors):
            for (dc, factor) in factors.sorted(by: { $0.key < $1.key }) where factor < 0 || factor > 64 || dc.isEmpty {
                throw .invalidRequest("keyspace \(keyspace.name): datacenter '\(dc)' has replication factor \(factor)")
            }
            guard keyspace.replication.totalReplicationFactor > 0 else {
                throw .invalidRequest("keyspace \(keyspace.name) needs a replication factor of at least 1")
            }
        }
    }

    mutating func refresh() {
        keyspaces = keyspaceEntries.compactMapValues(\.definition)
        tables = [:]
        for (name, entry) in tableEntries {
            guard let table = entry.definition, keyspaces[table.keyspace] != nil,
                  entry.timestampMicros >= keyspaceEntries[table.keyspace]!.timestampMicros else { continue }
            tables[name] = table
        }
    }
}
