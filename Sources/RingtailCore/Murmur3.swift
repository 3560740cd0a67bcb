// Murmur3 x64_128, computed exactly as Cassandra's Murmur3Partitioner does,
// including its sign extension of tail bytes, so tokens match Cassandra's.

/// Partition tokens: the first 64 bits of Murmur3 x64_128 (seed 0) of the
/// partition key, as a signed integer. `Int64.min` is reserved as the ring's
/// minimum token; a key hashing to it gets `Int64.max` instead.
public enum Murmur3 {
    public static let minimumToken = Int64.min

    @inlinable
    public static func token(_ key: [UInt8]) -> Int64 {
        key.withUnsafeBytes { token($0) }
    }

    public static func token(_ key: UnsafeRawBufferPointer) -> Int64 {
        token(hash: hash128(key, seed: 0))
    }

    /// The token of a key whose 128-bit hash (seed 0) is `h`: the first
    /// half, with the reserved minimum token mapped to the maximum.
    @inline(__always)
    public static func token(hash h: (UInt64, UInt64)) -> Int64 {
        let t = Int64(bitPattern: h.0)
        return t == minimumToken ? Int64.max : t
    }

    @inline(__always) static func rotl(_ x: UInt64, _ r: UInt64) -> UInt64 { (x << r) | (x >> (64 - r)) }

    @inline(__always) static func fmix(_ k: UInt64) -> UInt64 {
        var k = k
        k ^= k >> 33
        k = k &* 0xff51_afd7_ed55_8ccd
        k ^= k >> 33
        k = k &* 0xc4ce_b9fe_1a85_ec53
        k ^= k >> 33
        return k
    }

    /// Both 64-bit halves of the hash.
    public static func hash128(_ key: UnsafeRawBufferPointer, seed: UInt64) -> (UInt64, UInt64) {
        let length = key.count
        let blocks = length / 16
        var h1 = seed, h2 = seed
        let c1: UInt64 = 0x87c3_7b91_1142_53d5
        let c2: UInt64 = 0x4cf5_ad43_2745_937f
        for i in 0..<blocks {
            var k1 = UInt64(littleEndian: key.loadUnaligned(fromByteOffset: i * 16, as: UInt64.self))
            var k2 = UInt64(littleEndian: key.loadUnaligned(fromByteOffset: i * 16 + 8, as: UInt64.self))
            k1 = k1 &* c1; k1 = rotl(k1, 31); k1 = k1 &* c2; h1 ^= k1
            h1 = rotl(h1, 27); h1 = h1 &+ h2; h1 = h1 &* 5 &+ 0x52dc_e729
            k2 = k2 &* c2; k2 = rotl(k2, 33); k2 = k2 &* c1; h2 ^= k2
            h2 = rotl(h2, 31); h2 = h2 &+ h1; h2 = h2 &* 5 &+ 0x3849_5ab5
        }
        // Tail: Cassandra reads each byte as a signed Java byte and widens it
        // to long, so bytes >= 0x80 are sign-extended before shifting.
        let tail = blocks * 16
        @inline(__always) func b(_ i: Int) -> UInt64 {
            UInt64(bitPattern: Int64(Int8(bitPattern: key[tail + i])))
        }
        var k1: UInt64 = 0, k2: UInt64 = 0
        let rest = length & 15
        if rest >= 9 {
            for i in stride(from: rest - 1, through: 8, by: -1) { k2 ^= b(i) << UInt64((i - 8) * 8) }
            k2 = k2 &* c2; k2 = rotl(k2, 33); k2 = k2 &* c1; h2 ^= k2
        }
        if rest >= 1 {
            for i in stride(from: min(rest, 8) - 1, through: 0, by: -1) { k1 ^= b(i) << UInt64(i * 8) }
            k1 = k1 &* c1; k1 = rotl(k1, 31); k1 = k1 &* c2; h1 ^= k1
        }
        h1 ^= UInt64(length); h2 ^= UInt64(length)
        h1 = h1 &+ h2; h2 = h2 &+ h1
        h1 = fmix(h1); h2 = fmix(h2)
        h1 = h1 &+ h2; h2 = h2 &+ h1
        return (h1, h2)
    }
}
