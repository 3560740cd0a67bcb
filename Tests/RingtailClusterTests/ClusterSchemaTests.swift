import RingtailCore
import RingtailStorage
import Testing
@testable import RingtailCluster

@Suite struct ClusterSchemaTests {
    static let iot = KeyspaceDefinition(name: "iot", replication: .simple(replicationFactor: 3))
    static let readings = TableDefinition(keyspace: "iot", name: "readings", partitionKey: [ColumnDefinition("sensor", .text)],
                                          clusteringKey: [ColumnDefinition("ts", .timestamp)],
                                          columns: [ColumnDefinition("t", .double)])

    @Test func encodingRoundTripsAndDigestsMatch() throws {
        var s = ClusterSchema()
        try s.add(Self.iot, timestampMicros: 10)
        try s.add(KeyspaceDefinition(name: "multi", replication: .networkTopology(["dc1": 3, "dc2": 2])), timestampMicros: 11)
        try s.add(Self.readings, timestampMicros: 12)
        try s.dropKeyspace("multi", timestampMicros: 20)
        let decoded = try ClusterSchema(decoding: s.encoded())
        #expect(decoded == s)
        #expect(decoded.digest == s.digest)
        #expect(decoded.keyspaces.keys.sorted() == ["iot"])
        #expect(decoded.tables["iot.readings"] == Self.readings)
        // Truncations and a bad version are errors, never traps.
        let bytes = s.encoded()
        for n in 0..<bytes.count { #expect(throws: DecodeError.self) { try ClusterSchema(decoding: Array(bytes.prefix(n))) } }
        var v2 = bytes
        v2[0] = 2
        #expect(throws: DecodeError.self) { try ClusterSchema(decoding: v2) }
    }

    /// Changes made on different nodes converge whatever order they merge in.
    @Test func mergeIsLastWriteWinsPerNameInAnyOrder() throws {
        var a = ClusterSchema(), b = ClusterSchema(), c = ClusterSchema()
        try a.add(Self.iot, timestampMicros: 100)
        try a.add(Self.readings, timestampMicros: 101)
        try b.add(KeyspaceDefinition(name: "iot", replication: .simple(replicationFactor: 1)), timestampMicros: 50)
        try b.add(KeyspaceDefinition(name: "logs", replication: .simple(replicationFactor: 2)), timestampMicros: 60)
        c.merge(a)
        try c.dropTable("iot.readings", timestampMicros: 200)
        var x = a, y = c, z = b
        x.merge(b); x.merge(c)
        y.merge(b); y.merge(a)
        z.merge(c); z.merge(a)
        #expect(x == y && y == z)
        #expect(x.keyspaces["iot"]?.replication == .simple(replicationFactor: 3))
        #expect(x.keyspaces["logs"] != nil)
        #expect(x.tables["iot.readings"] == nil, "the later drop wins")
        let changed = x.merge(y)
        #expect(!changed, "merging what is known changes nothing")
    }

    @Test func droppingAKeyspaceDropsItsTablesUntilRecreated() throws {
        var s = ClusterSchema()
        try s.add(Self.iot, timestampMicros: 1)
        try s.add(Self.readings, timestampMicros: 2)
        try s.dropKeyspace("iot", timestampMicros: 3)
        #expect(s.tables.isEmpty && s.keyspaces.isEmpty)
        try s.add(Self.iot, timestampMicros: 4)
        #expect(s.tables.isEmpty, "a table of the dropped incarnation stays dropped")
        try s.add(Self.readings, timestampMicros: 5)
        #expect(s.tables["iot.readings"] != nil)
        #expect(throws: RequestError.self) { try s.add(Self.readings, timestampMicros: 6) }
        #expect(throws: RequestError.self) { try s.dropTable("iot.nothing", timestampMicros: 6) }
    }

    @Test func invalidEntriesFromPeersAreSkipped() throws {
        var bad = ClusterSchema()
        bad.keyspaceEntries["system"] = .init(timestampMicros: 1, definition: KeyspaceDefinition(name: "system", replication: .simple(replicationFactor: 1)))
        bad.keyspaceEntries["odd"] = .init(timestampMicros: 1, definition: KeyspaceDefinition(name: "other", replication: .simple(replicationFactor: 1)))
        var table = Self.readings
        table.partitionKey = []
        bad.tableEntries["iot.readings"] = .init(timestampMicros: 1, definition: table)
        var s = ClusterSchema()
        let changed = s.merge(bad)
        #expect(!changed)
        // The encoding names a keyspace once, so only the reserved name and the bad table remain to refuse.
        let decoded = try ClusterSchema(decoding: bad.encoded())
        #expect(decoded.keyspaceEntries["system"] == nil && decoded.tableEntries.isEmpty)
    }

    @Test func keyspaceDefinitionsRoundTrip() throws {
        for k in [Self.iot, KeyspaceDefinition(name: "m", replication: .networkTopology(["a": 1, "b": 0]))] {
            #expect(try KeyspaceDefinition(decoding: k.encoded()) == k)
        }
        #expect(throws: DecodeError.self) { try KeyspaceDefinition(decoding: Self.iot.encoded() + [0]) }
    }
}
