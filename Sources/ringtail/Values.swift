// Parsing typed values typed on the command line, and printing them back.
import ArgumentParser
import Foundation
import RingtailCore
import RingtailStorage

enum Values {
    /// Parses `text` as a value of `type`. Timestamps accept ISO 8601
    /// (2026-11-21T10:00:00Z), integer microseconds, or "now".
    static func parse(_ text: String, as type: ColumnType, nowMicros: Int64) throws -> TypedValue {
        func bad() -> ValidationError { ValidationError("'\(text)' is not a valid \(type.rawValue)") }
        switch type {
        case .text: return .text(text)
        case .bigint: guard let v = Int64(text) else { throw bad() }; return .bigint(v)
        case .int: guard let v = Int32(text) else { throw bad() }; return .int(v)
        case .double: guard let v = Double(text) else { throw bad() }; return .double(v)
        case .boolean:
            switch text.lowercased() {
            case "true", "1", "yes": return .boolean(true)
            case "false", "0", "no": return .boolean(false)
            default: throw bad()
            }
        case .blob:
            guard let bytes = Hex.decode(text) else { throw bad() }
            return .blob(bytes)
        case .timestamp:
            if text == "now" { return .timestamp(nowMicros) }
            if let v = Int64(text) { return .timestamp(v) }
            if let d = fractionalSeconds.date(from: text) ?? wholeSeconds.date(from: text) {
                return .timestamp(Int64((d.timeIntervalSince1970 * 1_000_000).rounded()))
            }
            throw bad()
        }
    }

    // One formatter each, not one per value (a scan renders many). The CLI
    // uses them from its one thread only.
    nonisolated(unsafe) static let fractionalSeconds: ISO8601DateFormatter = {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return f
    }()
    nonisolated(unsafe) static let wholeSeconds = ISO8601DateFormatter()

    static func render(_ v: TypedValue) -> String {
        if case .timestamp(let micros) = v {
            return fractionalSeconds.string(from: Date(timeIntervalSince1970: Double(micros) / 1_000_000))
        }
        return v.description
    }

    static func json(_ v: TypedValue) -> Any {
        switch v {
        case .text(let s): return s
        case .bigint(let x): return x
        case .int(let x): return x
        case .double(let x): return x
        case .boolean(let b): return b
        case .timestamp: return render(v)
        case .blob: return v.description
        }
    }

    /// Parses "name:type" column specs.
    static func columns(_ specs: [String]) throws -> [ColumnDefinition] {
        try specs.flatMap { $0.split(separator: ",") }.map { spec in
            let parts = spec.split(separator: ":", maxSplits: 1).map(String.init)
            guard parts.count == 2, let type = ColumnType(rawValue: parts[1].lowercased()) else {
                throw ValidationError("column '\(spec)' must be name:type with type one of \(ColumnType.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            return ColumnDefinition(parts[0], type)
        }
    }

    static func jsonLine(_ object: Any) -> String {
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }
}
