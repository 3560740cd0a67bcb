// Checksums, varints, Murmur3 tokens (against vectors from an independent
// implementation), and the determinism rule for deterministic modules.
import Foundation
import RingtailCore
import Testing

@Suite struct CoreTests {
    @Test func crc32cKnownVectorsAndPaths() {
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
        #expect(CRC32C.checksum([UInt8](repeating: 0, count: 32)) == 0x8A91_36AA)
        var entropy = SeededEntropy(seed: 7)
        for length in [0, 1, 7, 8, 9, 63, 64, 65, 1000, 4097] {
            let data = (0..<length).map { _ in UInt8(truncatingIfNeeded: entropy.next()) }
            #expect(CRC32C.checksum(data) == CRC32C.softwareChecksum(data))
            // Continuation equals one pass.
            let split = length / 3
            #expect(CRC32C.checksum(Array(data[split...]), continuing: CRC32C.checksum(Array(data[..<split]))) == CRC32C.checksum(data))
        }
    }

    @Test func varintsRoundTripAndRejectGarbage() throws {
        var w = ByteWriter()
        let values: [UInt64] = [0, 1, 127, 128, 300, 1 << 35, .max]
        for v in values { w.writeVarint(v) }
        let signed: [Int64] = [0, -1, 1, .min, .max, -300]
        for v in signed { w.writeSignedVarint(v) }
        var r = ByteReader(w.bytes)
        for v in values { #expect(try r.readVarint() == v) }
        for v in signed { #expect(try r.readSignedVarint() == v) }
        #expect(r.isAtEnd)
        var overlong = ByteReader([UInt8](repeating: 0xFF, count: 11))
        #expect(throws: DecodeError.self) { try overlong.readVarint() }
        var truncated = ByteReader([0x80])
        #expect(throws: DecodeError.self) { try truncated.readVarint() }
        var tooLong = ByteReader([5, 1, 2])
        #expect(throws: DecodeError.self) { try tooLong.readLengthPrefixed(limit: 100) }
    }

    /// Tokens computed by `cassandra.murmur3.murmur3` of the Python
    /// cassandra-driver (PyPI), an independent implementation of Cassandra's
    /// Murmur3Partitioner.
    @Test(arguments: [
        ("", Int64(0)),
        ("61", -8_839_064_797_231_613_815),
        ("68656c6c6f", -3_758_069_500_696_749_310),
        ("80ff01", -7_090_167_600_805_946_407),
        ("73656e736f722d3030303030303031", 4_451_131_683_178_060_500),
        ("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f2021222324252627", -4_350_383_952_250_503_068),
        ("c3b1616e64c3ba", 5_665_201_625_323_624_893),
        ("ffffffffffffffffffffffffffffff", -2_195_530_867_418_009_455),
        ("30313233343536373839616263646566", 5_467_490_433_528_156_583),
        ("3031323334353637383961626364656667", -8_200_385_122_730_116_642),
    ])
    func murmur3MatchesCassandra(hex: String, token: Int64) {
        var key: [UInt8] = []
        var i = hex.startIndex
        while i < hex.endIndex {
            let j = hex.index(i, offsetBy: 2)
            key.append(UInt8(hex[i..<j], radix: 16)!)
            i = j
        }
        #expect(Murmur3.token(key) == token)
    }

    @Test func entropyReplaysFromSeed() {
        var a = SeededEntropy(seed: 42), b = SeededEntropy(seed: 42)
        #expect((0..<100).map { _ in a.next() } == (0..<100).map { _ in b.next() })
    }

    /// Deterministic modules take time, randomness and files only through
    /// injected capabilities (DESIGN.md): no wall clock, sleeps, global
    /// randomness or Foundation file access in their sources.
    @Test func deterministicModulesUseNoAmbientCapabilities() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let forbidden = ["Date()", "ContinuousClock", "SuspendingClock", "Task.sleep", ".random(", "UUID()", "FileManager",
                         "import Foundation", "gettimeofday", "DispatchQueue"]
        var offenders: [String] = []
        for module in ["RingtailCore", "RingtailStorage", "RingtailLog", "RingtailRaft", "RingtailWire", "RingtailCluster", "RingtailNode", "RingtailSimulation"] {
            let dir = root.appendingPathComponent("Sources").appendingPathComponent(module)
            guard let files = FileManager.default.enumerator(atPath: dir.path) else { continue }
            for case let file as String in files where file.hasSuffix(".swift") {
                let text = try String(contentsOf: dir.appendingPathComponent(file), encoding: .utf8)
                for token in forbidden where text.contains(token) { offenders.append("\(module)/\(file): \(token)") }
            }
        }
        #expect(offenders.isEmpty, "\(offenders)")
    }

    /// A worker started with a niceness runs at that nice value (and only that
    /// thread: the caller's stays as it was). Read from /proc, Linux only.
    @Test func workerThreadNicenessAppliesToItsThreadOnly() throws {
        @Sendable func niceOfThisThread() -> Int? {
            guard let stat = try? String(contentsOfFile: "/proc/thread-self/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { return nil }
            // After "pid (comm) ": state is field 3, nice is field 19.
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            return fields.count > 16 ? Int(fields[16]) : nil
        }
        guard let before = niceOfThisThread() else { return } // no /proc: nothing to check
        let seen = Locked<Int?>(nil)
        let worker = WorkerThread(name: "nice-test", niceness: 7) { seen.withLock { $0 = niceOfThisThread() } }
        worker.join()
        // setpriority sets an absolute value; without privilege it cannot go below the current one.
        let nice = seen.withLock { $0 }
        #expect(nice == 7 || nice == max(before, 7))
        #expect(niceOfThisThread() == before)
    }
}
