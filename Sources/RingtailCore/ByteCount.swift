// Byte counts with their unit in the type, so sizes in options and limits
// cannot be confused with counts of records or milliseconds.

/// A number of bytes. Options and limits use it instead of a bare `Int`.
public struct ByteCount: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var bytes: Int

    public init(bytes: Int) {
        precondition(bytes >= 0, "a byte count is never negative")
        self.bytes = bytes
    }

    public static func bytes(_ n: Int) -> ByteCount { ByteCount(bytes: n) }
    public static func kibibytes(_ n: Int) -> ByteCount { ByteCount(bytes: n * 1024) }
    public static func mebibytes(_ n: Int) -> ByteCount { ByteCount(bytes: n * 1024 * 1024) }
    public static func gibibytes(_ n: Int) -> ByteCount { ByteCount(bytes: n * 1024 * 1024 * 1024) }

    public static func < (a: ByteCount, b: ByteCount) -> Bool { a.bytes < b.bytes }

    public var description: String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(bytes)
        var unit = 0
        while value >= 1024, unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return unit == 0 ? "\(bytes) B" : String(format2(value)) + " " + units[unit]
    }
}

/// Formats with two decimals without Foundation.
@inlinable
func format2(_ value: Double) -> String {
    let scaled = Int((value * 100).rounded())
    let whole = scaled / 100
    let frac = scaled % 100
    return "\(whole)." + (frac < 10 ? "0\(frac)" : "\(frac)")
}
