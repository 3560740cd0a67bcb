// The shared workload definitions of the storage benchmark, byte for byte as
// in Benchmarks/peers/peer_bench.c (see the comment block at its top): keys,
// values, the IoT layout, and the splitmix64 generator behind them. All
// integer arithmetic is on UInt64 with wrap-around.

enum Workload: String, CaseIterable {
    case fillrandom, readrandom, iot, scan

    var isWrite: Bool { self == .fillrandom || self == .iot }
}

enum Layout {
    static let keyBytes = 16
    static let valueBytes = 100
    static let iotReadings: UInt64 = 100
    static let iotPrefixBytes = 15
    static let iotClusteringBytes = 8
    static let iotValueBytes = 24
    static let iotT0Micros: UInt64 = 1_767_225_600_000_000
    static let iotStepMicros: UInt64 = 60_000_000
}

@inline(__always)
func splitmix64(_ x: UInt64) -> UInt64 {
    var z = x &+ 0x9E37_79B9_7F4A_7C15
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
}

/// key(i): 16 lowercase hex digits of splitmix64(i), zero padded.
func makeKey(_ i: UInt64) -> [UInt8] {
    [UInt8](unsafeUninitializedCapacity: Layout.keyBytes) { out, count in
        var h = splitmix64(i)
        for k in stride(from: Layout.keyBytes - 1, through: 0, by: -1) {
            let d = UInt8(truncatingIfNeeded: h & 0xF)
            out[k] = d < 10 ? 0x30 + d : 0x61 - 10 + d
            h >>= 4
        }
        count = Layout.keyBytes
    }
}

/// value(i): 50 pseudo-random lowercase letters, then the same 50 again.
func makeValue(_ i: UInt64) -> [UInt8] {
    [UInt8](unsafeUninitializedCapacity: Layout.valueBytes) { out, count in
        let base = splitmix64(i ^ 0xAB_CDEF)
        var w: UInt64 = 0
        for j in 0..<50 {
            if j & 7 == 0 { w = splitmix64(base &+ UInt64(j >> 3)) }
            let b = UInt8(truncatingIfNeeded: w >> UInt64(8 * (j & 7)))
            let letter = 0x61 + b % 26
            out[j] = letter
            out[50 + j] = letter
        }
        count = Layout.valueBytes
    }
}

/// "sensor-" + 8-digit zero-padded decimal s (15 bytes): the partition key.
func makeIoTPrefix(_ s: UInt64) -> [UInt8] {
    [UInt8](unsafeUninitializedCapacity: Layout.iotPrefixBytes) { out, count in
        for (k, c) in "sensor-".utf8.enumerated() { out[k] = c }
        var v = s
        for k in stride(from: 14, through: 7, by: -1) {
            out[k] = 0x30 + UInt8(truncatingIfNeeded: v % 10)
            v /= 10
        }
        count = Layout.iotPrefixBytes
    }
}

/// The reading's timestamp in µs for step t.
@inline(__always)
func iotTimestampMicros(_ t: UInt64) -> UInt64 { Layout.iotT0Micros &+ t &* Layout.iotStepMicros }

/// 8-byte big-endian timestamp: the clustering key (the last 8 bytes of the peers' 23-byte key).
func makeIoTClustering(_ t: UInt64) -> [UInt8] {
    let ts = iotTimestampMicros(t)
    return [UInt8](unsafeUninitializedCapacity: Layout.iotClusteringBytes) { out, count in
        for k in 0..<8 { out[k] = UInt8(truncatingIfNeeded: ts >> UInt64(8 * (7 - k))) }
        count = Layout.iotClusteringBytes
    }
}

/// 24 bytes: temperature, humidity, voltage as little-endian binary64.
func makeIoTValue(_ s: UInt64, _ t: UInt64) -> [UInt8] {
    // Swift never contracts a * b + c into an FMA unless asked to.
    let tprod = Double(t) * 0.01
    let vprod = Double(t) * 0.001
    let temperature = (20.0 + Double(s % 10)) + tprod
    let humidity = 40.0 + Double(s % 7)
    let voltage = 3.3 - vprod
    return [UInt8](unsafeUninitializedCapacity: Layout.iotValueBytes) { out, count in
        func put(_ d: Double, at offset: Int) {
            let u = d.bitPattern
            for k in 0..<8 { out[offset + k] = UInt8(truncatingIfNeeded: u >> UInt64(8 * k)) }
        }
        put(temperature, at: 0)
        put(humidity, at: 8)
        put(voltage, at: 16)
        count = Layout.iotValueBytes
    }
}
