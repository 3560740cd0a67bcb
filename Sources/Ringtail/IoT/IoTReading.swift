// One sensor reading as the IoT pipeline carries it: the record's key is the
// sensor id, its value a line of `name=value` fields separated by ';'
// (kind, ts in ms, then the metrics), e.g.
//   kind=env;ts=1767225600000;temperature=21.50;humidity=40.12;voltage=3.301
// and the row it becomes in the time-series table `iot.readings`
// (partition key sensor + UTC day, clustering key the reading time).
import RingtailCore
import RingtailStorage
import RingtailCluster

public struct IoTReading: Equatable, Sendable {
    public enum Kind: String, Sendable, CaseIterable {
        /// Environmental sensor: temperature (°C), humidity (%), battery voltage (V), every 10 s.
        case env
        /// Wearable: heart rate (bpm), steps (cumulative today), stress (0-100), every second.
        case wearable
        /// Smart-home meter: energy (kWh) per 15-minute interval, and a daily total.
        case meter
    }

    public var sensor: String
    public var kind: Kind
    /// Milliseconds since the Unix epoch.
    public var timestampMillis: Int64
    /// Metric name → value, e.g. "temperature" → 21.5; meters add "interval" as 900 or 86400 (seconds).
    public var metrics: [String: Double]

    public init(sensor: String, kind: Kind, timestampMillis: Int64, metrics: [String: Double]) {
        self.sensor = sensor
        self.kind = kind
        self.timestampMillis = timestampMillis
        self.metrics = metrics
    }

    /// The record value.
    public func encodedValue() -> [UInt8] {
        var text = "kind=\(kind.rawValue);ts=\(timestampMillis)"
        for (name, value) in metrics.sorted(by: { $0.key < $1.key }) {
            text += ";\(name)=\(Self.format(value))"
        }
        return Array(text.utf8)
    }

    static func format(_ v: Double) -> String {
        if v == v.rounded() && abs(v) < 1e15 { return String(Int64(v)) }
        let scaled = (v * 1000).rounded() / 1000
        return String(scaled)
    }

    /// Parses a record; nil for a key or value that is not a reading (the sink counts and skips it).
    public init?(key: [UInt8]?, value: [UInt8]?) {
        guard let key, !key.isEmpty, key.count <= 256, let value, value.count <= 4096,
              let sensor = String(validating: key, as: UTF8.self) else { return nil }
        var kind: Kind?
        var ts: Int64?
        var metrics: [String: Double] = [:]
        for field in value.split(separator: UInt8(ascii: ";")) {
            guard let eq = field.firstIndex(of: UInt8(ascii: "=")) else { return nil }
            let name = String(decoding: field[field.startIndex..<eq], as: UTF8.self)
            let text = String(decoding: field[(eq + 1)...], as: UTF8.self)
            switch name {
            case "kind": kind = Kind(rawValue: text)
            case "ts": ts = Int64(text)
            default:
                guard IoTTable.metricColumns.contains(name), let v = Double(text), v.isFinite else { return nil }
                metrics[name] = v
            }
        }
        guard let kind, let ts, ts > 0 else { return nil }
        self.init(sensor: sensor, kind: kind, timestampMillis: ts, metrics: metrics)
    }

    /// The UTC day of the reading, "YYYY-MM-DD" (the table's time bucket).
    public var day: String { IoTTable.day(ofMillis: timestampMillis) }

    /// The row for the readings table. The cells' write timestamp is the
    /// reading's own time, so writing the same reading twice (a redelivery
    /// after a rebalance) rewrites identical cells: idempotent.
    public func insert(into table: String) -> InsertStatement {
        var values: [String: TypedValue] = ["kind": .text(kind.rawValue)]
        for (name, v) in metrics { values[name] = .double(v) }
        return InsertStatement(table: table, partitionKey: [.text(sensor), .text(day)], clusteringKey: [.timestamp(timestampMillis * 1000)],
                               values: values, timestampMicros: timestampMillis * 1000)
    }
}

/// The readings table's layout.
public enum IoTTable {
    public static let metricColumns = ["temperature", "humidity", "voltage", "heart_rate", "steps", "stress", "energy_kwh", "interval"]

    /// `keyspace.table` with partition key (sensor, day), clustering key ts, time-window compaction by day.
    public static func definition(keyspace: String, name: String) -> TableDefinition {
        var options = TableOptions()
        options.compaction = .timeWindow(TimeWindowOptions(unit: .days, size: 1))
        return TableDefinition(keyspace: keyspace, name: name,
                               partitionKey: [ColumnDefinition("sensor", .text), ColumnDefinition("day", .text)],
                               clusteringKey: [ColumnDefinition("ts", .timestamp)],
                               columns: [ColumnDefinition("kind", .text)] + metricColumns.map { ColumnDefinition($0, .double) },
                               options: options)
    }

    /// "YYYY-MM-DD" of a time in ms since the epoch, UTC (civil-from-days, no Foundation).
    public static func day(ofMillis millis: Int64) -> String {
        let days = Int64((Double(millis) / 86_400_000).rounded(.down))
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        let y = yoe + era * 400 + (m <= 2 ? 1 : 0)
        func two(_ v: Int64) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return "\(y)-\(two(m))-\(two(d))"
    }

    /// Midnight UTC of the day holding `millis`.
    public static func startOfDay(_ millis: Int64) -> Int64 { millis - ((millis % 86_400_000) + 86_400_000) % 86_400_000 }
}
