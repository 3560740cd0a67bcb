// Bytes as lowercase hex and back: how operators and tools type and print
// keys and blobs (`0a1b…`), one implementation for the CLI and the server.

public enum Hex {
    /// Two lowercase digits per byte.
    public static func encode(_ bytes: some Sequence<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 15)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The bytes of an even-length hex string (either case, optional `0x`);
    /// nil if it is not one.
    public static func decode(_ text: String) -> [UInt8]? {
        var utf8 = Array(text.utf8)
        if utf8.count >= 2 && utf8[0] == UInt8(ascii: "0") && (utf8[1] | 0x20) == UInt8(ascii: "x") { utf8.removeFirst(2) }
        guard utf8.count % 2 == 0 else { return nil }
        func digit(_ c: UInt8) -> UInt8? {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
            default: return nil
            }
        }
        var out: [UInt8] = []
        out.reserveCapacity(utf8.count / 2)
        var i = 0
        while i < utf8.count {
            guard let high = digit(utf8[i]), let low = digit(utf8[i + 1]) else { return nil }
            out.append(high << 4 | low)
            i += 2
        }
        return out
    }

    /// A 32-bit value as `0x` and eight lowercase digits (checksums in error messages).
    public static func word(_ v: UInt32) -> String {
        let s = String(v, radix: 16)
        return "0x" + String(repeating: "0", count: max(0, 8 - s.count)) + s
    }

    /// Lowercase hex, 16 bytes a line, bytes separated by spaces: the layout
    /// of the worked examples in docs/formats/.
    public static func dump(_ bytes: some Collection<UInt8>) -> String {
        var lines: [String] = []
        var line: [String] = []
        for b in bytes {
            line.append(encode([b]))
            if line.count == 16 {
                lines.append(line.joined(separator: " "))
                line = []
            }
        }
        if !line.isEmpty { lines.append(line.joined(separator: " ")) }
        return lines.joined(separator: "\n")
    }

    /// The bytes of every ```hex block of a Markdown document (whitespace
    /// between digits ignored); nil if a block is not hex.
    public static func blocks(inMarkdown text: String) -> [[UInt8]]? {
        var blocks: [[UInt8]] = []
        var current: String?
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let trimmed = line.drop { $0 == " " }
            if current == nil {
                if trimmed == "```hex" { current = "" }
            } else if trimmed.hasPrefix("```") {
                guard let bytes = decode(current!.filter { !$0.isWhitespace }) else { return nil }
                blocks.append(bytes)
                current = nil
            } else {
                current! += line
            }
        }
        return blocks
    }
}
