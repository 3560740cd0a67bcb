// Readings the way real fleets produce them: environmental sensors every
// 10 s with a daily temperature cycle and a slowly draining battery,
// wearables every second (heart rate, steps that add up through the day,
// stress), smart-home meters every 15 minutes with a daily total; and late
// readings from devices that were offline, arriving 2 and 10 days behind.
// Seeded: the same seed gives the same readings. Time is simulated, starting
// at `start` and advancing as readings are asked for, so any target rate
// covers a realistic span.
import RingtailCore
#if canImport(Glibc)
import Glibc
#endif

public struct IoTGenerator: Sendable {
    public struct Options: Sendable {
        public var sensors = 1000
        /// The first reading's time, ms since the epoch.
        public var startMillis: Int64
        /// Share of readings delivered late (half 2 days behind, half 10 days).
        public var lateFraction = 0.01
        public var seed: UInt64 = 1
        public init(startMillis: Int64) { self.startMillis = startMillis }
    }

    struct Sensor: Sendable {
        var id: String
        var kind: IoTReading.Kind
        var intervalMillis: Int64
        var nextMillis: Int64
        var baseline: Double
        var battery: Double
        var steps: Double = 0
        var stepsDay: Int64 = 0
        var dayEnergy: Double = 0
        var energyDay: Int64 = 0
    }

    public let options: Options
    var entropy: SeededEntropy
    var sensors: [Sensor]
    /// Simulated time: each `advance` moves it a second and scans every sensor for readings due.
    var clockMillis: Int64
    var pending: [IoTReading] = []
    public private(set) var generated = 0
    public private(set) var late = 0

    public init(options: Options) {
        self.options = options
        entropy = SeededEntropy(seed: options.seed)
        clockMillis = options.startMillis
        var sensors: [Sensor] = []
        for i in 0..<options.sensors {
            let roll = i % 20
            let kind: IoTReading.Kind = roll < 12 ? .env : roll < 17 ? .wearable : .meter
            let interval: Int64 = kind == .env ? 10_000 : kind == .wearable ? 1_000 : 900_000
            let id = "\(kind.rawValue)-\(String(repeating: "0", count: max(0, 5 - String(i).count)))\(i)"
            // Spread first readings over one interval so they do not all fire at once.
            let offset = Int64(entropy.next(below: Int(interval)))
            sensors.append(Sensor(id: id, kind: kind, intervalMillis: interval, nextMillis: options.startMillis + offset,
                                  baseline: 15 + Double(entropy.next(below: 100)) / 10, battery: 3.3))
        }
        self.sensors = sensors
    }

    /// The simulated time reached.
    public var nowMillis: Int64 { clockMillis }

    /// The next reading.
    public mutating func next() -> IoTReading {
        while pending.isEmpty { advance() }
        generated += 1
        return pending.removeLast()
    }

    /// Moves simulated time to the next second and collects every reading due.
    mutating func advance() {
        clockMillis += 1000
        var due: [IoTReading] = []
        for i in sensors.indices where sensors[i].nextMillis <= clockMillis {
            var sensor = sensors[i]
            while sensor.nextMillis <= clockMillis {
                due += reading(&sensor, at: sensor.nextMillis)
                sensor.nextMillis += sensor.intervalMillis
            }
            sensors[i] = sensor
        }
        for index in due.indices where entropy.chance(options.lateFraction) {
            due[index].timestampMillis -= (entropy.next(below: 2) == 0 ? 2 : 10) * 86_400_000
            late += 1
        }
        pending = due.reversed()
    }

    mutating func reading(_ s: inout Sensor, at t: Int64) -> [IoTReading] {
        let dayFraction = Double(((t % 86_400_000) + 86_400_000) % 86_400_000) / 86_400_000
        func noise(_ scale: Double) -> Double { Double(entropy.next(below: 2001) - 1000) / 1000 * scale }
        switch s.kind {
        case .env:
            // Coolest before dawn, warmest mid-afternoon.
            let temperature = s.baseline + 6 * sin((dayFraction - 0.375) * 2 * .pi) + noise(0.3)
            let humidity = min(100, max(0, 55 - 1.5 * (temperature - s.baseline) + noise(2)))
            s.battery = max(2.6, s.battery - 0.000_000_5)
            return [IoTReading(sensor: s.id, kind: .env, timestampMillis: t,
                               metrics: ["temperature": temperature, "humidity": humidity, "voltage": s.battery + noise(0.005)])]
        case .wearable:
            let day = IoTTable.startOfDay(t)
            if day != s.stepsDay {
                s.stepsDay = day
                s.steps = 0
            }
            let awake = dayFraction > 0.29 && dayFraction < 0.95
            s.steps += awake ? Double(entropy.next(below: 3)) : 0
            let heart = (awake ? 72 : 58) + noise(8)
            let stress = min(100, max(0, (awake ? 35 : 10) + noise(15)))
            return [IoTReading(sensor: s.id, kind: .wearable, timestampMillis: t,
                               metrics: ["heart_rate": heart.rounded(), "steps": s.steps, "stress": stress.rounded()])]
        case .meter:
            let day = IoTTable.startOfDay(t)
            var out: [IoTReading] = []
            if day != s.energyDay {
                if s.energyDay != 0 {
                    // The daily total for the day that just ended, stamped at its last instant.
                    out.append(IoTReading(sensor: s.id, kind: .meter, timestampMillis: day - 1,
                                          metrics: ["energy_kwh": s.dayEnergy, "interval": 86_400]))
                }
                s.energyDay = day
                s.dayEnergy = 0
            }
            let evening = dayFraction > 0.7 && dayFraction < 0.95
            let kwh = max(0, (evening ? 0.6 : 0.2) + noise(0.1))
            s.dayEnergy += kwh
            out.append(IoTReading(sensor: s.id, kind: .meter, timestampMillis: t, metrics: ["energy_kwh": kwh, "interval": 900]))
            return out
        }
    }
}
