// The embedding facade end to end, through `import Ringtail` alone: schema,
// writes and reads at consistency levels, time-range selects, deletes, TTL,
// faults (kill, restart, network partitions) with hints, directory storage
// across a reopen, bad input, and the README's example kept compiling.
import Foundation
import Ringtail
import Testing

@Suite struct EmbeddedClusterTests {
    static let t0: Int64 = 1_767_225_600_000_000 // 2026-01-01T00:00:00Z
    static let minute: Int64 = 60_000_000
    static let sensor: [TypedValue] = [.text("sensor-1")]

    /// iot.readings: readings of a sensor, newest first.
    static var readings: TableDefinition {
        var options = TableOptions()
        options.clusteringOrder = .descending
        return TableDefinition(keyspace: "iot", name: "readings", partitionKey: [ColumnDefinition("sensor", .text)],
                               clusteringKey: [ColumnDefinition("ts", .timestamp)],
                               columns: [ColumnDefinition("temperature", .double), ColumnDefinition("note", .text)],
                               options: options)
    }

    static func cluster(nodes: Int = 3, storage: EmbeddedStorage = .memory) throws -> EmbeddedCluster {
        let cluster = try EmbeddedCluster(nodes: nodes, storage: storage)
        try cluster.createKeyspace("iot", replication: .simple(replicationFactor: 3))
        try cluster.createTable(readings)
        return cluster
    }

    /// Writes `minute` readings at t0, t0 + 1 min, …, temperature 20 + i.
    static func fill(_ client: some RingtailClient, minutes: Int) async throws(RequestError) {
        for i in 0..<minutes {
            try await client.insert(into: "iot.readings", partitionKey: sensor, clusteringKey: [.timestamp(t0 + Int64(i) * minute)],
                                    values: ["temperature": .double(20 + Double(i))])
        }
    }

    static func minutes(_ rows: [ResultRow]) -> [Int64] {
        rows.map { row in
            guard case .timestamp(let ts)? = row["ts"] else { return -1 }
            return (ts - t0) / minute
        }
    }

    static func temporaryDirectory() -> String { "/tmp/ringtail-embedded-\(UUID().uuidString)" }

    /// The message of an `.invalidRequest`, or a description of whatever else happened.
    static func invalidRequest(_ body: () async throws(RequestError) -> Void) async -> String {
        do {
            try await body()
            return "<no error>"
        } catch {
            if case .invalidRequest(let message) = error { return message }
            return "<\(error)>"
        }
    }

    static func error(_ body: () async throws(RequestError) -> Void) async -> RequestError? {
        do {
            try await body()
            return nil
        } catch {
            return error
        }
    }

    @Test func quorumWriteThenQuorumRead() async throws {
        let cluster = try Self.cluster()
        defer { cluster.shutdown() }
        #expect(cluster.nodeStatus().allSatisfy { $0.isRunning && $0.peersDown.isEmpty })
        let client = cluster.client()
        try await client.insert(into: "iot.readings", partitionKey: Self.sensor, clusteringKey: [.timestamp(Self.t0)],
                                values: ["temperature": .double(21.5), "note": .text("calibrated")])
        for coordinator in cluster.nodeNames {
            let rows = try await cluster.client(coordinator: coordinator).select(from: "iot.readings", partitionKey: Self.sensor)
            #expect(rows.count == 1)
            #expect(rows.first?["temperature"] == .double(21.5))
            #expect(rows.first?["note"] == .text("calibrated"))
            #expect(rows.first?["sensor"] == .text("sensor-1"))
            #expect(rows.first?.clusteringKey == [.timestamp(Self.t0)])
        }
        // A later write to one column wins; the other column keeps its value.
        try await client.insert(into: "iot.readings", partitionKey: Self.sensor, clusteringKey: [.timestamp(Self.t0)],
                                values: ["temperature": .double(22)], consistency: .all)
        let rows = try await client.select(from: "iot.readings", partitionKey: Self.sensor, consistency: .all)
        #expect(rows.first?.values == ["sensor": .text("sensor-1"), "ts": .timestamp(Self.t0),
                                       "temperature": .double(22), "note": .text("calibrated")])
    }

    @Test func timeRangeSelectInBothOrdersWithALimit() async throws {
        let cluster = try Self.cluster()
        defer { cluster.shutdown() }
        let client = cluster.client()
        try await Self.fill(client, minutes: 10)
        let t = { (m: Int64) in TypedValue.timestamp(Self.t0 + m * Self.minute) }
        let range = ClusteringSlice.from(t(2), to: t(7))
        let up = try await client.select(from: "iot.readings", partitionKey: Self.sensor, range: range, limit: 3, descending: false)
        #expect(Self.minutes(up) == [2, 3, 4])
        let down = try await client.select(from: "iot.readings", partitionKey: Self.sensor, range: range, limit: 3, descending: true)
        #expect(Self.minutes(down) == [6, 5, 4])
        // No order given: the table's (newest first).
        let all = try await client.select(from: "iot.readings", partitionKey: Self.sensor, range: range)
        #expect(Self.minutes(all) == [6, 5, 4, 3, 2])
        let closed = try await client.select(from: "iot.readings", partitionKey: Self.sensor, range: .from(t(2), through: t(7)))
        #expect(Self.minutes(closed) == [7, 6, 5, 4, 3, 2])
        #expect(Self.minutes(try await client.select(from: "iot.readings", partitionKey: Self.sensor, range: .before(t(2)))) == [1, 0])
        #expect(Self.minutes(try await client.select(from: "iot.readings", partitionKey: Self.sensor, range: .from(t(8)))) == [9, 8])
        let exclusive = ClusteringSlice(lower: .exclusive([t(2)]), upper: .inclusive([t(4)]))
        #expect(Self.minutes(try await client.select(from: "iot.readings", partitionKey: Self.sensor, range: exclusive)) == [4, 3])
        let one = try await client.select(from: "iot.readings", partitionKey: Self.sensor, range: .row([t(5)]))
        #expect(one.map { $0["temperature"] } == [.double(25)])
        #expect(try await client.select(from: "iot.readings", partitionKey: Self.sensor, limit: 0).isEmpty)
        #expect(try await client.select(from: "iot.readings", partitionKey: [.text("sensor-2")]).isEmpty)
    }

    @Test func prefixBoundsCoverEveryRowOfTheirTime() async throws {
        let cluster = try EmbeddedCluster()
        defer { cluster.shutdown() }
        try cluster.createKeyspace("iot", replication: .simple(replicationFactor: 3))
        try cluster.createTable(TableDefinition(keyspace: "iot", name: "events", partitionKey: [ColumnDefinition("device", .text)],
                                                clusteringKey: [ColumnDefinition("ts", .timestamp), ColumnDefinition("seq", .int)],
                                                columns: [ColumnDefinition("kind", .text)]))
        let client = cluster.client()
        for ts in Int64(0)..<4 {
            for seq in Int32(0)..<3 {
                try await client.insert(into: "iot.events", partitionKey: [.text("d")], clusteringKey: [.timestamp(ts), .int(seq)],
                                        values: ["kind": .text("e\(ts).\(seq)")])
            }
        }
        func kinds(_ range: ClusteringSlice) async throws -> [String] {
            try await client.select(from: "iot.events", partitionKey: [.text("d")], range: range).map { "\($0["kind"]!)" }
        }
        #expect(try await kinds(.from(.timestamp(1), through: .timestamp(2))) == ["e1.0", "e1.1", "e1.2", "e2.0", "e2.1", "e2.2"])
        #expect(try await kinds(.from(.timestamp(1), to: .timestamp(2))) == ["e1.0", "e1.1", "e1.2"])
        #expect(try await kinds(ClusteringSlice(lower: .exclusive([.timestamp(2)]))) == ["e3.0", "e3.1", "e3.2"])
        #expect(try await kinds(ClusteringSlice(lower: .inclusive([.timestamp(3), .int(1)]))) == ["e3.1", "e3.2"])
    }

    @Test func deleteRowRangeAndPartition() async throws {
        let cluster = try Self.cluster()
        defer { cluster.shutdown() }
        let client = cluster.client()
        try await Self.fill(client, minutes: 10)
        let t = { (m: Int64) in TypedValue.timestamp(Self.t0 + m * Self.minute) }
        try await client.delete(from: "iot.readings", partitionKey: Self.sensor, clusteringKey: [t(3)])
        try await client.delete(from: "iot.readings", partitionKey: Self.sensor, range: .from(t(5), to: t(8)))
        let left = try await client.select(from: "iot.readings", partitionKey: Self.sensor, descending: false)
        #expect(Self.minutes(left) == [0, 1, 2, 4, 8, 9])
        // A write after a delete is newer than its tombstone.
        try await client.insert(into: "iot.readings", partitionKey: Self.sensor, clusteringKey: [t(3)],
                                values: ["temperature": .double(-1)])
        #expect(try await client.select(from: "iot.readings", partitionKey: Self.sensor, range: .row([t(3)])).count == 1)
        try await client.delete(from: "iot.readings", partitionKey: Self.sensor)
        #expect(try await client.select(from: "iot.readings", partitionKey: Self.sensor, consistency: .all).isEmpty)
    }

    @Test func ttlExpiresOnVirtualTime() async throws {
        let cluster = try Self.cluster()
        defer { cluster.shutdown() }
        let client = cluster.client()
        try await client.insert(into: "iot.readings", partitionKey: Self.sensor, clusteringKey: [.timestamp(Self.t0)],
                                values: ["temperature": .double(1)], ttl: 5)
        #expect(try await client.select(from: "iot.readings", partitionKey: Self.sensor).count == 1)
        cluster.advance(by: .seconds(6))
        #expect(try await client.select(from: "iot.readings", partitionKey: Self.sensor).isEmpty)
    }

    @Test func virtualTimeFollowsTheWallClock() async throws {
        let cluster = try Self.cluster()
        defer { cluster.shutdown() }
        let wallMicros = { Int64(Date().timeIntervalSince1970 * 1_000_000) }
        #expect(abs(cluster.clockMicros - wallMicros()) < 1_000_000)
        let client = cluster.client()
        try await client.insert(into: "iot.readings", partitionKey: Self.sensor, clusteringKey: [.timestamp(Self.t0)],
                                values: ["temperature": .double(1)], ttl: 1)
        try await Task.sleep(for: .milliseconds(1_500))
        #expect(try await client.select(from: "iot.readings", partitionKey: Self.sensor).isEmpty)
        cluster.advance(by: .seconds(10))
        let ahead = cluster.clockMicros - wallMicros()
        #expect(ahead > 9_000_000 && ahead < 11_000_000)
    }

    @Test func killedNodeLeavesQuorumUpThenHintsReachItOnRestart() async throws {
        let cluster = try Self.cluster()
        defer { cluster.shutdown() }
        let client = cluster.client()
        try cluster.kill("n3")
        // Not convicted yet: ALL waits 2 s for n3 and times out, at once in wall time.
        let before = Date()
        let timeout = await Self.error { () async throws(RequestError) in try await Self.fill(client.withLevel(.all), minutes: 1) }
        #expect(Date().timeIntervalSince(before) < 1)
        guard case .timeout(.all, 2, 3, true)? = timeout else { Issue.record("got \(String(describing: timeout))"); return }
        cluster.advance(by: .seconds(30))
        let status = cluster.nodeStatus()
        #expect(status.map(\.isRunning) == [true, true, false])
        #expect(status[0].peersDown == ["n3"] && status[1].peersDown == ["n3"])
        try await Self.fill(client, minutes: 5) // QUORUM: two of three replicas
        let unavailable = await Self.error { () async throws(RequestError) in
            try await client.insert(into: "iot.readings", partitionKey: Self.sensor, clusteringKey: [.timestamp(0)],
                                    values: [:], consistency: .all)
        }
        #expect(unavailable == .unavailable(level: .all, required: 3, alive: 2))
        #expect(cluster.nodeStatus().map(\.hintsPending).reduce(0, +) >= 5)

        try cluster.restart("n3")
        cluster.advance(by: .seconds(15))
        #expect(cluster.nodeStatus().allSatisfy { $0.isRunning && $0.hintsPending == 0 })
        // n3 alone answers from its own storage: cut it off until it convicts the others.
        try cluster.partition(["n3"], ["n1", "n2"])
        cluster.advance(by: .seconds(30))
        let n3 = cluster.client(consistency: .one, coordinator: "n3")
        let rows = try await n3.select(from: "iot.readings", partitionKey: Self.sensor, descending: false)
        #expect(Self.minutes(rows) == [0, 1, 2, 3, 4])
        let quorum = await Self.error { () async throws(RequestError) in
            _ = try await n3.select(from: "iot.readings", partitionKey: Self.sensor, consistency: .quorum)
        }
        #expect(quorum == .unavailable(level: .quorum, required: 2, alive: 1))
        cluster.heal()
    }

    @Test func partitionedNodeMissesWritesUntilHealed() async throws {
        let cluster = try Self.cluster()
        defer { cluster.shutdown() }
        try cluster.partition(["n1"], ["n2", "n3"])
        cluster.advance(by: .seconds(30))
        let n1 = cluster.client(coordinator: "n1"), n2 = cluster.client(coordinator: "n2")
        let minority = await Self.error { () async throws(RequestError) in try await Self.fill(n1, minutes: 1) }
        #expect(minority == .unavailable(level: .quorum, required: 2, alive: 1))
        try await Self.fill(n2, minutes: 3)
        let n1One = cluster.client(consistency: .one, coordinator: "n1")
        #expect(try await n1One.select(from: "iot.readings", partitionKey: Self.sensor).isEmpty)
        cluster.heal()
        cluster.advance(by: .seconds(15))
        #expect(cluster.nodeStatus().allSatisfy { $0.hintsPending == 0 && $0.peersDown.isEmpty })
        #expect(Self.minutes(try await n1One.select(from: "iot.readings", partitionKey: Self.sensor)) == [2, 1, 0])
        // A named coordinator that is down is lost; round-robin skips it.
        try cluster.kill("n2")
        let lost = await Self.error { () async throws(RequestError) in try await Self.fill(n2, minutes: 1) }
        #expect(lost == .coordinatorLost)
        for _ in 0..<4 { try await Self.fill(cluster.client(), minutes: 1) }
    }

    @Test func directoryStorageSurvivesShutdownAndReopen() async throws {
        let directory = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        do {
            let cluster = try Self.cluster(storage: .directory(directory))
            // Run ahead of the wall clock, so the reopened cluster's clock is behind these timestamps.
            cluster.advance(by: .seconds(120))
            try await Self.fill(cluster.client(consistency: .all), minutes: 3)
            try cluster.kill("n2")
            try cluster.restart("n2")
            cluster.shutdown()
        }
        #expect(FileManager.default.fileExists(atPath: directory + "/n1"))
        #expect(throws: EmbeddedClusterError.self) { try EmbeddedCluster(nodes: 4, storage: .directory(directory)) }

        let cluster = try EmbeddedCluster(storage: .directory(directory))
        defer { cluster.shutdown() }
        #expect(cluster.schema.tables["iot.readings"] == Self.readings)
        // Declaring the same schema again is fine; another definition is not.
        try cluster.createKeyspace("iot", replication: .simple(replicationFactor: 3))
        try cluster.createTable(Self.readings)
        #expect(throws: EmbeddedClusterError.self) { try cluster.createKeyspace("iot", replication: .simple(replicationFactor: 1)) }
        let n2 = cluster.client(consistency: .one, coordinator: "n2")
        #expect(Self.minutes(try await n2.select(from: "iot.readings", partitionKey: Self.sensor)) == [2, 1, 0])
        // The timestamp lease orders this overwrite after the writes made before the reopen.
        try await n2.insert(into: "iot.readings", partitionKey: Self.sensor, clusteringKey: [.timestamp(Self.t0)],
                            values: ["temperature": .double(99)], consistency: .all)
        let row = try await n2.select(from: "iot.readings", partitionKey: Self.sensor, range: .row([.timestamp(Self.t0)]))
        #expect(row.first?["temperature"] == .double(99))
    }

    @Test func badInputIsAnInvalidRequestWithAClearMessage() async throws {
        let cluster = try Self.cluster()
        let client = cluster.client()
        let key: [TypedValue] = [.timestamp(Self.t0)]
        func insert(_ table: String = "iot.readings", key partitionKey: [TypedValue] = Self.sensor, clustering: [TypedValue] = key,
                    values: [String: TypedValue] = [:], ttl: Int32? = nil) async -> String {
            await Self.invalidRequest { () async throws(RequestError) in
                try await client.insert(into: table, partitionKey: partitionKey, clusteringKey: clustering, values: values, ttl: ttl)
            }
        }
        #expect(await insert("iot.nope").contains("unknown table iot.nope"))
        #expect(await insert("readings").contains("keyspace.table"))
        #expect(await insert(values: ["humidity": .double(1)]).contains("has no column humidity"))
        #expect(await insert(values: ["temperature": .int(1)]).contains("temperature is double, got int"))
        #expect(await insert(values: ["ts": .timestamp(1)]).contains("ts is a key column"))
        #expect(await insert(key: Self.sensor + Self.sensor).contains("partition key takes 1 value(s) (sensor text), got 2"))
        #expect(await insert(key: [.bigint(1)]).contains("sensor is text, got bigint"))
        #expect(await insert(clustering: []).contains("clustering key takes 1 value(s)"))
        #expect(await insert(key: [.text(String(repeating: "x", count: 70_000))]).contains("the limit is 65535"))
        #expect(await insert(ttl: 0).contains("TTL"))
        let select = { (range: ClusteringSlice, limit: Int?, level: ConsistencyLevel?) async -> String in
            await Self.invalidRequest { () async throws(RequestError) in
                _ = try await client.select(from: "iot.readings", partitionKey: Self.sensor, range: range, limit: limit,
                                            consistency: level)
            }
        }
        #expect(await select(.all, -1, nil).contains("limit is at least 0"))
        #expect(await select(.from(.text("yesterday")), nil, nil).contains("ts is timestamp, got text"))
        #expect(await select(.all, nil, .any).contains("ANY"))
        #expect(await Self.invalidRequest { () async throws(RequestError) in
            _ = try await cluster.client(coordinator: "n9").select(from: "iot.readings", partitionKey: Self.sensor)
        }.contains("unknown coordinator n9"))
        // Schema and fault arguments.
        #expect(throws: EmbeddedClusterError.self) { try EmbeddedCluster(nodes: 0) }
        #expect(throws: EmbeddedClusterError.self) { try cluster.createKeyspace("x", replication: .networkTopology(["dc9": 1])) }
        #expect(throws: EmbeddedClusterError.self) { try cluster.createKeyspace("x", replication: .simple(replicationFactor: -1)) }
        #expect(throws: EmbeddedClusterError.self) { try cluster.createKeyspace("bad-name", replication: .simple(replicationFactor: 1)) }
        #expect(throws: EmbeddedClusterError.self) {
            try cluster.createTable(TableDefinition(keyspace: "nope", name: "t", partitionKey: [ColumnDefinition("k", .text)]))
        }
        #expect(throws: EmbeddedClusterError.self) {
            try cluster.createTable(TableDefinition(keyspace: "iot", name: "t", partitionKey: [ColumnDefinition("k", .text)],
                                                    columns: [ColumnDefinition("k", .int)]))
        }
        #expect(throws: EmbeddedClusterError.self) { try cluster.kill("n9") }
        #expect(throws: EmbeddedClusterError.self) { try cluster.partition(["n1"], ["n1"]) }
        // After shutdown: clear errors, no crash.
        cluster.shutdown()
        #expect(await insert().contains("shut down"))
        do {
            try cluster.kill("n1")
            Issue.record("kill after shutdown succeeded")
        } catch {
            #expect(error.code == .shutDown)
        }
        #expect(cluster.nodeStatus().isEmpty)
    }

    @Test func concurrentClientsShareOneCluster() async throws {
        let cluster = try Self.cluster()
        defer { cluster.shutdown() }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<40 {
                group.addTask {
                    try await cluster.client().insert(into: "iot.readings", partitionKey: Self.sensor,
                                                      clusteringKey: [.timestamp(Self.t0 + Int64(i))], values: ["note": .text("\(i)")])
                }
            }
            try await group.waitForAll()
        }
        #expect(try await cluster.client(consistency: .all).select(from: "iot.readings", partitionKey: Self.sensor).count == 40)
    }

    @Test func twoDatacentersWithLocalQuorum() async throws {
        let cluster = try EmbeddedCluster(nodes: 6, datacenters: 2, racksPerDatacenter: 3)
        defer { cluster.shutdown() }
        #expect(cluster.nodeStatus().map { "\($0.name)@\($0.datacenter)/\($0.rack)" } ==
                ["n1@dc1/r1", "n2@dc2/r1", "n3@dc1/r2", "n4@dc2/r2", "n5@dc1/r3", "n6@dc2/r3"])
        try cluster.createKeyspace("geo", replication: .networkTopology(["dc1": 3, "dc2": 3]))
        try cluster.createTable(TableDefinition(keyspace: "geo", name: "t", partitionKey: [ColumnDefinition("k", .bigint)],
                                                columns: [ColumnDefinition("v", .boolean)]))
        try cluster.partition(["n1", "n3", "n5"], ["n2", "n4", "n6"])
        // With six nodes a peer's heartbeats reach n1 second-hand, at longer
        // intervals than with three: conviction takes longer than 30 s.
        cluster.advance(by: .seconds(60))
        #expect(cluster.nodeStatus()[0].peersDown == ["n2", "n4", "n6"])
        let dc1 = cluster.client(consistency: .localQuorum, coordinator: "n1")
        try await dc1.insert(into: "geo.t", partitionKey: [.bigint(7)], values: ["v": .boolean(true)])
        #expect(try await dc1.select(from: "geo.t", partitionKey: [.bigint(7)]).first?["v"] == .boolean(true))
        let each = await Self.error { () async throws(RequestError) in
            try await dc1.insert(into: "geo.t", partitionKey: [.bigint(7)], values: [:], consistency: .eachQuorum)
        }
        #expect(each == .unavailable(level: .eachQuorum, required: 2, alive: 0))
    }

    // MARK: README

    @Test func readmeExample() async throws {
        // README example begin
        // Three nodes in this process; storage: .directory("/var/lib/myapp") keeps the data on disk.
        let cluster = try EmbeddedCluster(nodes: 3, storage: .memory)
        try cluster.createKeyspace("iot", replication: .simple(replicationFactor: 3))
        try cluster.createTable(TableDefinition(
            keyspace: "iot", name: "readings",
            partitionKey: [ColumnDefinition("sensor", .text)],
            clusteringKey: [ColumnDefinition("ts", .timestamp)],
            columns: [ColumnDefinition("temperature", .double)]))

        let client = cluster.client(consistency: .quorum)
        let start: Int64 = 1_767_225_600_000_000 // 2026-01-01T00:00:00Z in microseconds
        for minute in 0..<60 {
            try await client.insert(into: "iot.readings", partitionKey: [.text("sensor-1")],
                                    clusteringKey: [.timestamp(start + Int64(minute) * 60_000_000)],
                                    values: ["temperature": .double(20 + Double(minute) / 10)])
        }
        try cluster.kill("n3") // QUORUM still has two of the three replicas
        let latest = try await client.select(from: "iot.readings", partitionKey: [.text("sensor-1")],
                                             range: .from(.timestamp(start), to: .timestamp(start + 3_600_000_000)),
                                             limit: 5, descending: true)
        for row in latest { print(row["ts"]!, row["temperature"]!) }
        cluster.shutdown()
        // README example end
        let expected: [TypedValue?] = (55..<60).reversed().map { (minute: Int) -> TypedValue? in .double(20 + Double(minute) / 10) }
        #expect(latest.map { $0["temperature"] } == expected)
    }

    /// The README shows exactly the code of `readmeExample`, after `import Ringtail`.
    @Test func readmeShowsTheTestedExample() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let readme = try String(contentsOf: root.appendingPathComponent("README.md"), encoding: .utf8)
        let source = try String(contentsOf: URL(fileURLWithPath: #filePath), encoding: .utf8)
        let lines = source.components(separatedBy: "\n")
        guard let begin = lines.firstIndex(where: { $0.hasSuffix("// README example begin") }),
              let end = lines.firstIndex(where: { $0.hasSuffix("// README example end") }) else {
            Issue.record("markers missing")
            return
        }
        let body = lines[(begin + 1)..<end].map { $0.hasPrefix("        ") ? String($0.dropFirst(8)) : $0 }
        let expected = "```swift\nimport Ringtail\n\n" + body.joined(separator: "\n") + "\n```"
        #expect(readme.contains(expected), "README's example differs from readmeExample:\n\(expected)")
    }
}

extension EmbeddedClient {
    /// The same client at another default level.
    func withLevel(_ level: ConsistencyLevel) -> EmbeddedClient {
        cluster.client(consistency: level, coordinator: coordinator)
    }
}
