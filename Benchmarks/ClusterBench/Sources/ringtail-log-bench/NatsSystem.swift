// NATS JetStream through its own text protocol: a stream BENCH on subject
// "bench" with 1 or 3 replicas (file storage); publishes awaited through
// reply inboxes; a push consumer tails new messages; another reads all.
import Foundation
import RingtailServer

/// Runs a blocking body on its own thread (not the concurrency pool's).
func onThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread { continuation.resume(with: Result { try body() }) }
        thread.stackSize = 1 << 20
        thread.start()
    }
}

final class NatsConnection: @unchecked Sendable {
    let socket: SocketConnection
    init(_ endpoint: Endpoint) throws {
        socket = try SocketConnection(host: endpoint.host, port: UInt16(endpoint.port))
        _ = try socket.readLine() // INFO
        try socket.write("CONNECT {\"verbose\":false,\"pedantic\":false,\"headers\":true}\r\nPING\r\n")
        while try socket.readLine() != "PONG" {}
    }

    func publish(_ subject: String, reply: String?, _ payload: [UInt8]) throws {
        var frame = Array("PUB \(subject) \(reply.map { $0 + " " } ?? "")\(payload.count)\r\n".utf8)
        frame += payload
        frame += [13, 10]
        try socket.write(frame)
    }

    /// The next message (subject, payload); answers PINGs on the way.
    func nextMessage() throws -> (String, [UInt8]) {
        while true {
            let line = try socket.readLine()
            if line == "PING" { try socket.write("PONG\r\n"); continue }
            if line.hasPrefix("MSG ") {
                let parts = line.split(separator: " ")
                let size = Int(parts.last!)!
                let body = try socket.readExact(size + 2)
                return (String(parts[1]), Array(body.prefix(size)))
            }
            if line.hasPrefix("HMSG ") {
                // A message with headers: JetStream's flow control requests (answered) and idle heartbeats (skipped).
                let parts = line.split(separator: " ")
                let total = Int(parts.last!)!, headerBytes = Int(parts[parts.count - 2])!
                let body = try socket.readExact(total + 2)
                let headers = String(decoding: body.prefix(headerBytes), as: UTF8.self)
                if headers.hasPrefix("NATS/1.0 100") {
                    if parts.count == 6 { try publish(String(parts[3]), reply: nil, []) }
                    continue
                }
                return (String(parts[1]), Array(body[headerBytes..<total]))
            }
            if line.hasPrefix("-ERR") { throw BenchError("nats: \(line)") }
        }
    }

    /// A request/reply on the control connection.
    func request(_ subject: String, _ json: String) throws -> String {
        try socket.write("SUB _INBOX.ctl 99\r\n")
        try publish(subject, reply: "_INBOX.ctl", Array(json.utf8))
        let (_, body) = try nextMessage()
        try socket.write("UNSUB 99\r\n")
        return String(decoding: body, as: UTF8.self)
    }
}

final class NatsJetStream: LogSystem, @unchecked Sendable {
    let endpoint: Endpoint
    let window: Int
    let recordBytes: Int

    init(endpoint: Endpoint, replicas: Int, window: Int, recordBytes: Int) throws {
        self.endpoint = endpoint
        self.window = window
        self.recordBytes = recordBytes
        let control = try NatsConnection(endpoint)
        _ = try control.request("$JS.API.STREAM.DELETE.BENCH", "")
        let created = try control.request("$JS.API.STREAM.CREATE.BENCH",
                                          "{\"name\":\"BENCH\",\"subjects\":[\"bench\"],\"num_replicas\":\(replicas),\"storage\":\"file\"}")
        guard created.contains("\"config\"") else { throw BenchError("stream not created: \(created)") }
    }

    func produce(producer: Int, until end: UInt64, publish: Recorder) async throws {
        let (endpoint, window, size) = (self.endpoint, self.window, self.recordBytes)
        try await onThread {
            let c = try NatsConnection(endpoint)
            try c.socket.write("SUB _INBOX.p\(producer).* 1\r\n")
            // Created at 0 and raised to the window: libdispatch traps when a
            // semaphore is freed below its initial value (slots still taken at the end).
            let slots = DispatchSemaphore(value: 0)
            for _ in 0..<window { slots.signal() }
            let state = Pending()
            let reader = Thread {
                while true {
                    guard let (subject, body) = try? c.nextMessage() else { return }
                    let k = Int(subject.split(separator: ".").last!)!
                    state.lock.lock()
                    let t0 = state.sent.removeValue(forKey: k)
                    let done = state.finished && state.sent.isEmpty
                    state.lock.unlock()
                    if let t0, body.starts(with: Array("{\"stream\"".utf8)) { publish.record(nowNanos() - t0) }
                    slots.signal()
                    if done { return }
                }
            }
            reader.start()
            var k = 0
            while nowNanos() < end {
                slots.wait()
                let t0 = nowNanos()
                state.lock.lock(); state.sent[k] = t0; state.lock.unlock()
                try c.publish("bench", reply: "_INBOX.p\(producer).\(k)", payload(size, at: t0))
                k += 1
            }
            // Wait for the acks still out (bounded).
            for _ in 0..<window { _ = slots.wait(timeout: .now() + 5) }
            state.lock.lock(); state.finished = true; state.lock.unlock()
        }
    }

    func subscribeConsumer(_ c: NatsConnection, deliver: String, policy: String) throws {
        // Flow control keeps a fast stream from overrunning the reader (NATS would drop a slow consumer).
        let reply = try c.request("$JS.API.CONSUMER.CREATE.BENCH",
                                  "{\"stream_name\":\"BENCH\",\"config\":{\"deliver_subject\":\"\(deliver)\",\"deliver_policy\":\"\(policy)\",\"ack_policy\":\"none\",\"flow_control\":true,\"idle_heartbeat\":1000000000}}")
        guard reply.contains("\"config\"") else { throw BenchError("consumer not created: \(reply)") }
        try c.socket.write("SUB \(deliver) 2\r\n")
    }

    func tail(until end: UInt64, endToEnd: Recorder) async throws {
        let endpoint = self.endpoint
        try await onThread {
            let c = try NatsConnection(endpoint)
            try self.subscribeConsumer(c, deliver: "tail.deliver", policy: "new")
            let done = Thread {
                while nowNanos() < end { usleep(100_000) }
                shutdown(c.socket.fd, Int32(SHUT_RDWR))
            }
            done.start()
            while nowNanos() < end {
                guard let (_, body) = try? c.nextMessage() else { break }
                if let t = sentAt(body[...]) { let now = nowNanos(); endToEnd.record(now > t ? now - t : 1) }
            }
        }
    }

    func consumeAll(expected: Int) async throws -> Int {
        let endpoint = self.endpoint
        return try await onThread {
            let c = try NatsConnection(endpoint)
            try self.subscribeConsumer(c, deliver: "all.deliver", policy: "all")
            var count = 0
            var timer = timeval(tv_sec: 5, tv_usec: 0)
            setsockopt(c.socket.fd, SOL_SOCKET, SO_RCVTIMEO, &timer, socklen_t(MemoryLayout<timeval>.size))
            while count < expected, (try? c.nextMessage()) != nil { count += 1 }
            return count
        }
    }
}

/// Publishes in flight, shared by a producer's writer and reader threads (under `lock`).
final class Pending: @unchecked Sendable {
    let lock = NSLock()
    var sent: [Int: UInt64] = [:]
    var queue: [UInt64] = []
    var head = 0
    var finished = false
}
