// The schema's encoding: how nodes exchange it (schema pull and push) and
// keep it on disk (schema.bin in a node's directory). Entries are written
// sorted by name, so equal schemas encode to equal bytes and the digest
// gossip carries compares them. Format: docs/formats/wire.md (schema).
import RingtailCore
import RingtailStorage

extension ClusterSchema {
    /// Encoding version. DO NOT CHANGE the meaning of an existing version:
    /// peers and schema files hold it.
    public static let encodingVersion: UInt8 = 1
    /// Most keyspaces or tables a decoded schema may hold.
    public static let entriesMax = 10_000

    public func encoded() -> [UInt8] {
        var w = ByteWriter(capacity: 256)
        w.writeUInt8(Self.encodingVersion)
        w.writeVarint(keyspaceEntries.count)
        for (name, entry) in keyspaceEntries.sorted(by: { $0.key < $1.key }) {
            w.writeLengthPrefixed(utf8: name)
            w.writeInt64(entry.timestampMicros)
            guard let keyspace = entry.definition else { w.writeUInt8(0); continue }
            w.writeUInt8(1)
            Self.encode(keyspace, &w)
        }
        w.writeVarint(tableEntries.count)
        for (name, entry) in tableEntries.sorted(by: { $0.key < $1.key }) {
            w.writeLengthPrefixed(utf8: name)
            w.writeInt64(entry.timestampMicros)
            guard let table = entry.definition else { w.writeUInt8(0); continue }
            w.writeUInt8(1)
            table.encode(into: &w)
        }
        return w.bytes
    }

    /// Decodes `encoded()`. Definitions are validated by `merge`, not here:
    /// merge a decoded schema into an empty one to keep only valid entries.
    public init(decoding bytes: [UInt8]) throws(DecodeError) {
        var r = ByteReader(bytes)
        let version = try r.readUInt8()
        guard version == Self.encodingVersion else {
            throw .invalid(offset: 0, reason: "schema encoding version \(version); this node reads \(Self.encodingVersion)")
        }
        var schema = ClusterSchema()
        let keyspaceCount = try r.readLength(limit: Self.entriesMax)
        for _ in 0..<keyspaceCount {
            let name = try r.readString(limit: 255)
            let timestamp = try r.readInt64()
            let definition = try r.readUInt8() == 0 ? nil : try Self.decodeKeyspace(&r, name: name)
            schema.keyspaceEntries[name] = Entry(timestampMicros: timestamp, definition: definition)
        }
        let tableCount = try r.readLength(limit: Self.entriesMax)
        for _ in 0..<tableCount {
            let name = try r.readString(limit: 255)
            let timestamp = try r.readInt64()
            let definition = try r.readUInt8() == 0 ? nil : try TableDefinition(decoding: &r)
            schema.tableEntries[name] = Entry(timestampMicros: timestamp, definition: definition)
        }
        guard r.isAtEnd else { throw .invalid(offset: r.offset, reason: "\(r.remaining) trailing bytes after the schema") }
        var valid = ClusterSchema()
        valid.merge(schema)
        self = valid
    }

    /// A 64-bit digest of the encoding: what gossip compares.
    public var digest: UInt64 { Self.digest(ofEncoded: encoded()) }

    /// The digest of an encoding already at hand.
    public static func digest(ofEncoded bytes: [UInt8]) -> UInt64 { UInt64(bitPattern: Murmur3.token(bytes)) }

    static func encode(_ keyspace: KeyspaceDefinition, _ w: inout ByteWriter) {
        switch keyspace.replication {
        case .simple(let rf):
            w.writeUInt8(0)
            w.writeVarint(rf)
        case .networkTopology(let factors):
            w.writeUInt8(1)
            w.writeVarint(factors.count)
            for (dc, rf) in factors.sorted(by: { $0.key < $1.key }) {
                w.writeLengthPrefixed(utf8: dc)
                w.writeVarint(rf)
            }
        }
    }

    static func decodeKeyspace(_ r: inout ByteReader, name: String) throws(DecodeError) -> KeyspaceDefinition {
        let at = r.offset
        switch try r.readUInt8() {
        case 0:
            return KeyspaceDefinition(name: name, replication: .simple(replicationFactor: try r.readLength(limit: 64)))
        case 1:
            var factors: [String: Int] = [:]
            for _ in 0..<(try r.readLength(limit: 1000)) {
                factors[try r.readString(limit: 255)] = try r.readLength(limit: 64)
            }
            return KeyspaceDefinition(name: name, replication: .networkTopology(factors))
        case let tag:
            throw .unknownTag(offset: at, tag: tag, what: "replication strategy")
        }
    }
}

extension KeyspaceDefinition {
    /// The definition alone (name, then replication as in the schema
    /// encoding): what a client's create keyspace carries.
    public func encoded() -> [UInt8] {
        var w = ByteWriter(capacity: 64)
        w.writeLengthPrefixed(utf8: name)
        ClusterSchema.encode(self, &w)
        return w.bytes
    }

    /// Decodes `encoded()`; does not validate (ClusterSchema.add does).
    public init(decoding bytes: [UInt8]) throws(DecodeError) {
        var r = ByteReader(bytes)
        let name = try r.readString(limit: 255)
        let keyspace = try ClusterSchema.decodeKeyspace(&r, name: name)
        guard r.isAtEnd else { throw .invalid(offset: r.offset, reason: "trailing bytes after the keyspace definition") }
        guard keyspace.replication.totalReplicationFactor >= 0 else { throw .invalid(offset: 0, reason: "negative replication") }
        self = keyspace
    }
}
