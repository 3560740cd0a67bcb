// A bloom filter over partition keys, so a read skips SSTables that cannot
// hold the partition. Double hashing over the two halves of Murmur3 x64_128.
import RingtailCore

/// Bit array with `hashCount` probes per key.
struct BloomFilter: Sendable {
    private(set) var words: [UInt64]
    let bitCount: UInt64
    let hashCount: Int

    /// Sized for `expectedKeys` at false positive chance `p` (optimal m and k).
    init(expectedKeys: Int, falsePositiveChance p: Double) {
        let n = Double(max(expectedKeys, 1))
        let ln2 = 0.6931471805599453
        let m = max(64.0, (-n * log(p) / (ln2 * ln2)).rounded(.up))
        let words = Int((m / 64).rounded(.up))
        self.words = [UInt64](repeating: 0, count: words)
        bitCount = UInt64(words * 64)
        hashCount = max(1, min(30, Int((Double(bitCount) / n * ln2).rounded())))
    }

    init(words: [UInt64], hashCount: Int) {
        self.words = words
        bitCount = UInt64(words.count * 64)
        self.hashCount = hashCount
    }

    static func hash(_ key: [UInt8]) -> (UInt64, UInt64) {
        key.withUnsafeBytes { Murmur3.hash128($0, seed: 0) }
    }

    mutating func insert(_ h: (UInt64, UInt64)) {
        var x = h.0
        for _ in 0..<hashCount {
            let bit = x % bitCount
            words[Int(bit >> 6)] |= 1 << (bit & 63)
            x = x &+ h.1
        }
    }

    func mayContain(_ h: (UInt64, UInt64)) -> Bool {
        var x = h.0
        for _ in 0..<hashCount {
            let bit = x % bitCount
            if words[Int(bit >> 6)] & (1 << (bit & 63)) == 0 { return false }
            x = x &+ h.1
        }
        return true
    }

    func encode(into w: inout ByteWriter) {
        w.writeUInt8(UInt8(hashCount))
        w.writeVarint(words.count)
        for word in words { w.writeUInt64(word) }
    }

    static func decode(_ r: inout ByteReader) throws(DecodeError) -> BloomFilter {
        let at = r.offset
        let k = Int(try r.readUInt8())
        guard (1...30).contains(k) else { throw .invalid(offset: at, reason: "bloom hash count \(k)") }
        let count = try r.readLength(limit: r.remaining / 8)
        guard count > 0 else { throw .invalid(offset: at, reason: "empty bloom filter") }
        var words = [UInt64]()
        words.reserveCapacity(count)
        for _ in 0..<count { words.append(try r.readUInt64()) }
        return BloomFilter(words: words, hashCount: k)
    }
}

@inline(__always) private func log(_ x: Double) -> Double {
    // Natural log without Foundation: log2 via exponent/mantissa, then scale.
    precondition(x > 0)
    let e = Double(x.exponent)
    let m = x.significand // in [1, 2)
    // ln(m) by a short series around 1: ln(m) = 2 atanh((m-1)/(m+1)).
    let y = (m - 1) / (m + 1)
    let y2 = y * y
    var term = y, sum = 0.0
    var k = 1.0
    for _ in 0..<20 {
        sum += term / k
        term *= y2
        k += 2
    }
    return 2 * sum + e * 0.6931471805599453
}
