// Typed values to and from bytes. Keys use an order-preserving encoding, so
// the engine's byte order (memcmp) is the values' natural order:
// integers and timestamps big-endian with the sign bit flipped, doubles with
// the IEEE order trick, text and blobs escaped and terminated so composite
// keys compare component by component. See docs/formats/sstable.md.
import RingtailCore

/// A typed value of a column.
public enum TypedValue: Hashable, Sendable, CustomStringConvertible {
    case text(String)
    case bigint(Int64)
    case int(Int32)
    case double(Double)
    /// Microseconds since the Unix epoch.
    case timestamp(Int64)
    case blob([UInt8])
    case boolean(Bool)

    public var description: String {
        switch self {
        case .text(let s): return s
        case .bigint(let v): return String(v)
        case .int(let v): return String(v)
        case .double(let v): return String(v)
        case .timestamp(let v): return String(v)
        case .blob(let b): return "0x" + b.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
        case .boolean(let b): return b ? "true" : "false"
        }
    }
}

public enum KeyCodec {
    /// Encodes components of a (possibly composite) key in order-preserving form.
    public static func encodeKey(_ values: [TypedValue]) -> [UInt8] {
        var out: [UInt8] = []
        for v in values { encodeComponent(v, into: &out) }
        return out
    }

    static func encodeComponent(_ v: TypedValue, into out: inout [UInt8]) {
        func be(_ x: UInt64) { withUnsafeBytes(of: x.bigEndian) { out.append(contentsOf: $0) } }
        switch v {
        case .bigint(let x), .timestamp(let x): be(UInt64(bitPattern: x) ^ (1 << 63))
        case .int(let x): withUnsafeBytes(of: (UInt32(bitPattern: x) ^ (1 << 31)).bigEndian) { out.append(contentsOf: $0) }
        case .double(let d):
            let bits = d.bitPattern
            be(bits & (1 << 63) != 0 ? ~bits : bits | (1 << 63))
        case .boolean(let b): out.append(b ? 1 : 0)
        case .text(let s): escaped(Array(s.utf8), into: &out)
        case .blob(let b): escaped(b, into: &out)
        }
    }

    /// 0x00 becomes 0x00 0xFF; the component ends with 0x00 0x01.
    static func escaped(_ bytes: [UInt8], into out: inout [UInt8]) {
        for b in bytes {
            out.append(b)
            if b == 0 { out.append(0xFF) }
        }
        out.append(0)
        out.append(1)
    }

    /// Decodes a key made of components of the given types.
    public static func decodeKey(_ bytes: [UInt8], types: [ColumnType]) throws(DecodeError) -> [TypedValue] {
        var i = 0
        var out: [TypedValue] = []
        func fixed(_ n: Int) throws(DecodeError) -> UInt64 {
            guard i + n <= bytes.count else { throw .truncated(offset: i, needed: i + n - bytes.count) }
            var x: UInt64 = 0
            for k in 0..<n { x = x << 8 | UInt64(bytes[i + k]) }
            i += n
            return x
        }
        for type in types {
            switch type {
            case .bigint: out.append(.bigint(Int64(bitPattern: try fixed(8) ^ (1 << 63))))
            case .timestamp: out.append(.timestamp(Int64(bitPattern: try fixed(8) ^ (1 << 63))))
            case .int: out.append(.int(Int32(bitPattern: UInt32(try fixed(4)) ^ (1 << 31))))
            case .double:
                let bits = try fixed(8)
                out.append(.double(Double(bitPattern: bits & (1 << 63) != 0 ? bits & ~(1 << 63) : ~bits)))
            case .boolean: out.append(.boolean(try fixed(1) != 0))
            case .text, .blob:
                var raw: [UInt8] = []
                while true {
                    guard i < bytes.count else { throw .truncated(offset: i, needed: 1) }
                    let b = bytes[i]
                    i += 1
                    if b != 0 { raw.append(b); continue }
                    guard i < bytes.count else { throw .truncated(offset: i, needed: 1) }
                    let next = bytes[i]
                    i += 1
                    if next == 0xFF { raw.append(0) } else if next == 1 { break } else {
                        throw .invalid(offset: i - 1, reason: "bad escape in key component")
                    }
                }
                if type == .text {
                    guard let s = String(validating: raw, as: UTF8.self) else { throw .invalid(offset: i, reason: "text is not UTF-8") }
                    out.append(.text(s))
                } else {
                    out.append(.blob(raw))
                }
            }
        }
        guard i == bytes.count else { throw .invalid(offset: i, reason: "\(bytes.count - i) bytes left after the key") }
        return out
    }

    /// Cell values use the same encoding (one component).
    public static func encodeValue(_ v: TypedValue) -> [UInt8] { encodeKey([v]) }

    public static func decodeValue(_ bytes: [UInt8], type: ColumnType) throws(DecodeError) -> TypedValue {
        try decodeKey(bytes, types: [type])[0]
    }
}
