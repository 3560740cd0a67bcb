// The sink from a topic of readings into the time-series table: a consumer
// group member reads readings, turns each into a row (write timestamp = the
// reading's time, so a redelivery rewrites identical cells), writes a poll's
// rows at the chosen consistency level grouped by partition (one write per
// sensor-day), and only then commits them (right after the write).
// Records that are not readings are counted and skipped.
import RingtailCore
import RingtailCluster
import RingtailLog

public actor IoTSink {
    public struct Statistics: Sendable, Equatable {
        public var rowsWritten = 0
        public var badRecords = 0
        public var writeFailures = 0
        public var lastError = ""
    }

    public let consumer: LogGroupConsumer
    public let table: String
    public let consistency: ConsistencyLevel
    let store: any RingtailClient
    public private(set) var statistics = Statistics()

    public init(consumer: LogGroupConsumer, store: any RingtailClient, table: String, consistency: ConsistencyLevel) {
        self.consumer = consumer
        self.store = store
        self.table = table
        self.consistency = consistency
    }

    /// One poll: read, write, and (on the next call) commit. Returns the rows written.
    /// A failed write throws before the commit, so its records are read again.
    @discardableResult
    public func step(maxWait: Duration = .milliseconds(500)) async throws -> Int {
        let records = try await consumer.poll(maxWait: maxWait)
        var rows: [InsertStatement] = []
        rows.reserveCapacity(records.count)
        for record in records {
            guard let reading = IoTReading(key: record.key, value: record.value) else {
                statistics.badRecords += 1
                continue
            }
            rows.append(reading.insert(into: table))
        }
        guard !rows.isEmpty else { return 0 }
        var attempt = 0
        while true {
            do {
                try await store.execute(batch: rows, consistency: consistency)
                break
            } catch {
                statistics.writeFailures += 1
                statistics.lastError = "\(error)"
                attempt += 1
                // The group must not commit past rows that were not written: retry, then give up loudly.
                if attempt >= 5 { throw LogClientError("writing \(rows.count) rows to \(table) failed: \(error)") }
                try await Task.sleep(for: .milliseconds(200 * attempt))
            }
        }
        statistics.rowsWritten += rows.count
        // The rows are in the table: commit them now (a redelivery would only rewrite them).
        try? await consumer.commit()
        return rows.count
    }

    public func close() async { await consumer.close() }
}
