// The IoT pipeline's pieces: a reading's record format round-trips and
// refuses what is not a reading; days are UTC calendar days; the generator
// is seeded, mixes the fleet's kinds, delays a share of readings by 2 or 10
// days, and gives meters a daily total equal to their 15-minute readings.
import RingtailCore
import RingtailStorage
import RingtailLog
import Testing
@testable import Ringtail

@Suite struct IoTTests {
    @Test func readingsRoundTripAndGarbageIsRefused() {
        let r = IoTReading(sensor: "env-00042", kind: .env, timestampMillis: 1_767_225_600_000,
                           metrics: ["temperature": 21.5, "humidity": 40.125, "voltage": 3.3])
        let back = IoTReading(key: Array("env-00042".utf8), value: r.encodedValue())
        #expect(back == r)
        #expect(String(decoding: r.encodedValue(), as: UTF8.self) == "kind=env;ts=1767225600000;humidity=40.125;temperature=21.5;voltage=3.3")
        for bad in ["", "kind=env", "ts=5", "kind=env;ts=x", "kind=boat;ts=5", "kind=env;ts=5;color=3", "kind=env;ts=5;temperature=nan", "garbage"] {
            #expect(IoTReading(key: Array("s".utf8), value: Array(bad.utf8)) == nil, "\(bad)")
        }
        #expect(IoTReading(key: nil, value: r.encodedValue()) == nil)
        // The row: partition (sensor, day), clustering ts in µs, write timestamp = reading time.
        let insert = r.insert(into: "iot.readings")
        #expect(insert.partitionKey == [.text("env-00042"), .text("2026-01-01")])
        #expect(insert.clusteringKey == [.timestamp(1_767_225_600_000_000)] && insert.timestampMicros == 1_767_225_600_000_000)
    }

    @Test func daysAreUTCCalendarDays() {
        #expect(IoTTable.day(ofMillis: 1_767_225_600_000) == "2026-01-01")
        #expect(IoTTable.day(ofMillis: 1_767_225_599_999) == "2025-12-31")
        #expect(IoTTable.day(ofMillis: 1_709_164_800_000) == "2024-02-29")
        #expect(IoTTable.day(ofMillis: 0) == "1970-01-01")
        #expect(IoTTable.startOfDay(1_767_225_600_000 + 5000) == 1_767_225_600_000)
    }

    @Test func theGeneratorIsSeededAndRealistic() {
        var options = IoTGenerator.Options(startMillis: 1_767_225_600_000)
        options.sensors = 100
        options.lateFraction = 0.05
        var a = IoTGenerator(options: options), b = IoTGenerator(options: options)
        let first = (0..<20000).map { _ in a.next() }
        #expect(first == (0..<20000).map { _ in b.next() })
        let kinds = Dictionary(grouping: first, by: \.kind).mapValues(\.count)
        #expect(kinds.count == 3, "\(kinds)")
        let lateCount = first.filter { $0.timestampMillis < options.startMillis }.count
        #expect(lateCount > 700 && lateCount < 1300, "\(lateCount) late of 20000")
        for r in first where r.timestampMillis < options.startMillis {
            let behind = (a.nowMillis - r.timestampMillis) / 86_400_000
            #expect(behind >= 1 && behind <= 10)
        }
        // A meter's daily total equals the sum of that day's 15-minute readings.
        options.lateFraction = 0
        options.sensors = 20
        var g = IoTGenerator(options: options)
        var quarterSums: [String: Double] = [:]
        var totals: [String: Double] = [:]
        while g.nowMillis < options.startMillis + 2 * 86_400_000 {
            let r = g.next()
            guard r.kind == .meter, let kwh = r.metrics["energy_kwh"] else { continue }
            let key = r.sensor + r.day
            if r.metrics["interval"] == 86_400 { totals[key] = kwh } else { quarterSums[key, default: 0] += kwh }
        }
        #expect(!totals.isEmpty)
        for (key, total) in totals { #expect(abs(total - (quarterSums[key] ?? -1)) < 1e-6, "\(key)") }
    }

    @Test func consumersRefuseABatchThatDoesNotDecode() throws {
        var b = RecordBatchBuilder()
        b.append(timestamp: 1, key: nil, value: [1, 2, 3])
        var bytes = b.build()
        let (good, next) = try ConsumedRecord.decode(FetchResponse(error: .none, records: bytes), topic: "t", partition: 2, from: 0)
        #expect(good.count == 1 && next == 1)
        bytes[bytes.count - 1] ^= 0xff
        #expect { _ = try ConsumedRecord.decode(FetchResponse(error: .none, records: bytes), topic: "t", partition: 2, from: 0) } throws: {
            "\($0)".contains("t-2")
        }
    }
}
