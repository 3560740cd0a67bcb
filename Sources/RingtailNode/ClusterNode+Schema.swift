// How a node keeps the cluster schema: it loads it from schema.bin in its
// directory at start, adopts changes (creating and dropping tables in its
// engine), writes the file again, and gossips a digest of it. A peer whose
// digest differs is asked for its schema (a pull); a client's change is
// pushed to every known peer at once. Merging is last-write-wins per name,
// so every node converges on the same schema (docs/internals/gossip.md).
import RingtailCore
import RingtailStorage
import RingtailWire
import RingtailCluster

/// Values of the gossiped `status`.
public enum NodeStatus {
    /// Started, no tokens yet: it owns no data and coordinates nothing.
    public static let joining = "JOINING"
    /// Owns its tokens and serves.
    public static let normal = "NORMAL"
    /// Stopped gracefully; down until it starts again (with a new generation).
    public static let shutdown = "SHUTDOWN"
}

extension ClusterNode {
    static let schemaFile = "schema.bin"

    func loadSchema() throws(StorageError) -> ClusterSchema {
        let path = Path.join(configuration.directory, Self.schemaFile)
        guard fileSystem.fileExists(path) else { return ClusterSchema() }
        do {
            let bytes = try fileSystem.readFile(path)
            return try ClusterSchema(decoding: bytes)
        } catch let e as DecodeError {
            throw StorageError(code: .corruption, message: "\(path): \(e.description)")
        } catch {
            throw StorageError(code: .io, message: "\(path): \(error)")
        }
    }

    /// Merges `incoming` into this node's schema and adopts the result:
    /// creates the tables it lacks, drops the ones dropped (or re-created
    /// since), writes schema.bin and gossips the new digest.
    public func update(schema incoming: ClusterSchema) throws(StorageError) {
        var next = schema
        next.merge(incoming)
        try adopt(next)
    }

    /// Adopts `next` (the whole schema, already merged). `initial`: at
    /// start, when the routes, digest and gossip value do not exist yet.
    func adopt(_ next: ClusterSchema, initial: Bool = false) throws(StorageError) {
        let changed = next != schema
        guard changed || initial else { return }
        var tableIDs = engineTableIDs()
        // A table whose live incarnation ended (dropped, or dropped and
        // created again): its data goes.
        for (name, entry) in schema.tableEntries where schema.tables[name] != nil {
            guard next.tables[name] == nil || next.tableEntries[name]?.timestampMicros != entry.timestampMicros,
                  let tableID = tableIDs.removeValue(forKey: name) else { continue }
            try engine.dropTable(tableID)
        }
        for (name, table) in next.tables.sorted(by: { $0.key < $1.key }) where tableIDs[name] == nil {
            tableIDs[name] = try engine.createTable(table)
        }
        schema = next
        schemaEncoded = next.encoded()
        schemaVersion = String(ClusterSchema.digest(ofEncoded: schemaEncoded), radix: 16)
        rebuildRoutes(tableIDs: tableIDs)
        if changed {
            let path = Path.join(configuration.directory, Self.schemaFile)
            do {
                try fileSystem.writeAtomically(path, bytes: schemaEncoded)
            } catch {
                throw StorageError(code: .io, message: "\(path): \(error)")
            }
        }
        gossip.set("schema", schemaVersion)
    }

    /// The engine's tables by qualified name (one snapshot, not a lookup each).
    func engineTableIDs() -> [String: TableID] {
        Dictionary(engine.tableDefinitions.map { ($0.1.qualifiedName, $0.0) }, uniquingKeysWith: { a, _ in a })
    }

    /// Rebuilds the per-table routes from the schema and the ring.
    func rebuildRoutes(tableIDs: [String: TableID]? = nil) {
        let tableIDs = tableIDs ?? engineTableIDs()
        var placements: [String: ReplicaPlacement] = [:]
        for (name, keyspace) in schema.keyspaces {
            placements[name] = ring.placement(for: keyspace.replication)
        }
        routes = [:]
        for (name, table) in schema.tables {
            guard let id = tableIDs[name], let keyspace = schema.keyspaces[table.keyspace],
                  let placement = placements[table.keyspace] else { continue }
            routes[name] = TableRoute(id: id, defaultTTLSeconds: table.options.defaultTTLSeconds,
                                      replication: keyspace.replication, placement: placement)
        }
    }

    func receiveSchema(_ push: SchemaPush, from source: NodeID) -> [NodeEffect] {
        let incoming: ClusterSchema
        do {
            incoming = try ClusterSchema(decoding: push.schema)
        } catch {
            statistics.framesRejected += 1
            statistics.lastRejection = "schema from \(source): \(error.description)"
            return []
        }
        do {
            try update(schema: incoming)
        } catch {
            statistics.schemaFailures += 1
            statistics.lastRejection = "adopting the schema from \(source): \(error.description)"
        }
        return []
    }

    /// Pulls the schema from peers that gossip a different digest, at most
    /// once per gossip interval each.
    func pullSchemaIfNeeded(_ changed: [NodeID]) -> [NodeEffect] {
        let mine = schemaVersion
        let now = clock.now()
        var effects: [NodeEffect] = []
        for node in changed where node != id {
            guard let theirs = gossip.endpoints[node]?.application["schema"]?.value, theirs != mine else { continue }
            if let last = schemaPulls[node], now < last + configuration.gossipInterval { continue }
            schemaPulls[node] = now
            effects.append(send(.schemaPull, to: node))
        }
        return effects
    }

    /// A schema change from a client: applied here at this node's wall
    /// clock, then pushed to every known peer (those down get it by pull
    /// when they return). The answer says only that this node applied it;
    /// `schemaAgreement` tells when every live node has.
    public func changeSchema(_ change: (inout ClusterSchema, Int64) throws(RequestError) -> Void) -> (effects: [NodeEffect], result: Result<Void, RequestError>) {
        var next = schema
        do {
            try change(&next, clock.wallMicros())
        } catch {
            return ([], .failure(error))
        }
        do {
            try adopt(next)
        } catch {
            return ([], .failure(.invalidRequest("\(id) could not apply the change: \(error.description)")))
        }
        let push = WireCodec.encode(Envelope(source: id, message: .schemaPush(SchemaPush(schema: schemaEncoded))))
        return (peers.map { .send(to: $0, frame: push) }, .success(()))
    }

    /// Every node this node holds up, with the schema digest it gossips
    /// (this node's own included).
    public var schemaVersions: [NodeID: String] {
        var out: [NodeID: String] = [id: schemaVersion]
        for peer in peers where isAlive(peer) {
            out[peer] = gossip.endpoints[peer]?.application["schema"]?.value ?? "unknown"
        }
        return out
    }

    /// Whether every live node gossips this node's schema digest.
    public var schemaAgreement: Bool { Set(schemaVersions.values).count == 1 }
}
