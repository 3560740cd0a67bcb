// Redis Streams through RESP: XADD pipelined with a window of replies
// outstanding; XREAD BLOCK tails new entries; XRANGE reads everything.
import Foundation
import RingtailServer

indirect enum RESP {
    case simple(String), error(String), integer(Int), bulk([UInt8]?), array([RESP]?)
}

extension SocketConnection {
    func readRESP() throws -> RESP {
        let line = try readLine()
        guard let kind = line.first else { throw BenchError("empty RESP line") }
        let rest = String(line.dropFirst())
        switch kind {
        case "+": return .simple(rest)
        case "-": return .error(rest)
        case ":": return .integer(Int(rest) ?? 0)
        case "$":
            let n = Int(rest) ?? -1
            if n < 0 { return .bulk(nil) }
            let body = try readExact(n + 2)
            return .bulk(Array(body.prefix(n)))
        case "*":
            let n = Int(rest) ?? -1
            if n < 0 { return .array(nil) }
            return .array(try (0..<n).map { _ in try readRESP() })
        default: throw BenchError("RESP type \(kind)")
        }
    }

    func command(_ parts: [[UInt8]]) -> [UInt8] {
        var out = Array("*\(parts.count)\r\n".utf8)
        for p in parts { out += Array("$\(p.count)\r\n".utf8) + p + [13, 10] }
        return out
    }
}

func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

final class RedisStreams: LogSystem, @unchecked Sendable {
    let endpoint: Endpoint
    let window: Int
    let recordBytes: Int

    init(endpoint: Endpoint, window: Int, recordBytes: Int) throws {
        self.endpoint = endpoint
        self.window = window
        self.recordBytes = recordBytes
        let c = try SocketConnection(host: endpoint.host, port: UInt16(endpoint.port))
        try c.write(c.command([bytes("DEL"), bytes("bench")]))
        _ = try c.readRESP()
    }

    func connection() throws -> SocketConnection { try SocketConnection(host: endpoint.host, port: UInt16(endpoint.port)) }

    func produce(producer: Int, until end: UInt64, publish: Recorder) async throws {
        let (window, size) = (self.window, self.recordBytes)
        let c = try connection()
        try await onThread {
            // Created at 0 and raised to the window: libdispatch traps when a
            // semaphore is freed below its initial value (slots still taken at the end).
            let slots = DispatchSemaphore(value: 0)
            for _ in 0..<window { slots.signal() }
            let state = Pending()
            let reader = Thread {
                while true {
                    state.lock.lock()
                    if state.finished && state.head == state.queue.count { state.lock.unlock(); return }
                    state.lock.unlock()
                    guard let reply = try? c.readRESP() else { return }
                    state.lock.lock()
                    let t0 = state.queue[state.head]
                    state.head += 1
                    state.lock.unlock()
                    if case .bulk = reply { publish.record(nowNanos() - t0) }
                    slots.signal()
                }
            }
            reader.start()
            while nowNanos() < end {
                slots.wait()
                let t0 = nowNanos()
                state.lock.lock(); state.queue.append(t0); state.lock.unlock()
                try c.write(c.command([bytes("XADD"), bytes("bench"), bytes("*"), bytes("v"), payload(size, at: t0)]))
            }
            for _ in 0..<window { _ = slots.wait(timeout: .now() + 5) }
            state.lock.lock(); state.finished = true; state.lock.unlock()
        }
    }

    /// Entries of an XREAD/XRANGE reply: (id, value).
    static func entries(_ reply: RESP) -> [(String, [UInt8])] {
        guard case .array(let items?) = reply else { return [] }
        return items.compactMap { item in
            guard case .array(let pair?) = item, pair.count == 2, case .bulk(let id?) = pair[0], case .array(let fields?) = pair[1],
                  fields.count == 2, case .bulk(let value?) = fields[1] else { return nil }
            return (String(decoding: id, as: UTF8.self), value)
        }
    }

    func tail(until end: UInt64, endToEnd: Recorder) async throws {
        let c = try connection()
        try await onThread {
            var last = "$"
            while nowNanos() < end {
                try c.write(c.command([bytes("XREAD"), bytes("COUNT"), bytes("10000"), bytes("BLOCK"), bytes("200"),
                                       bytes("STREAMS"), bytes("bench"), bytes(last)]))
                let reply = try c.readRESP()
                guard case .array(let streams?) = reply, case .array(let stream?) = streams.first, stream.count == 2 else { continue }
                let now = nowNanos()
                for (id, value) in Self.entries(stream[1]) {
                    if let t = sentAt(value[...]) { endToEnd.record(now > t ? now - t : 1) }
                    last = id
                }
            }
        }
    }

    func consumeAll(expected: Int) async throws -> Int {
        let c = try connection()
        return try await onThread {
            var start = "-", count = 0
            while true {
                try c.write(c.command([bytes("XRANGE"), bytes("bench"), bytes(start), bytes("+"), bytes("COUNT"), bytes("10000")]))
                let entries = Self.entries(try c.readRESP())
                if entries.isEmpty { break }
                count += entries.count
                start = "(" + entries.last!.0
            }
            return count
        }
    }
}
