// A blocking TCP connection with a buffered reader, for the NATS and Redis
// protocols (text lines and counted payloads). One writer thread and one
// reader thread per connection; the benchmark pipelines requests.
import Foundation
import Glibc

final class SocketConnection: @unchecked Sendable {
    let fd: Int32
    private var buffer = [UInt8](repeating: 0, count: 1 << 16)
    private var start = 0, end = 0
    private let writeLock = NSLock()

    init(host: String, port: UInt16) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw BenchError("socket failed") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr(host)
        let ok = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard ok == 0 else { close(fd); throw BenchError("cannot connect to \(host):\(port)") }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    }

    deinit { close(fd) }

    func write(_ bytes: [UInt8]) throws {
        writeLock.lock()
        defer { writeLock.unlock() }
        var sent = 0
        while sent < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + sent, bytes.count - sent, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw BenchError("send failed") }
            sent += n
        }
    }

    func write(_ text: String) throws { try write(Array(text.utf8)) }

    private func fill() throws {
        if start > 0 && start == end { start = 0; end = 0 }
        if end == buffer.count {
            if start > 0 {
                buffer.replaceSubrange(0..<(end - start), with: buffer[start..<end])
                end -= start
                start = 0
            } else {
                buffer += [UInt8](repeating: 0, count: buffer.count)
            }
        }
        let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress! + end, buffer.count - end, 0) }
        guard n > 0 else { throw BenchError("connection closed") }
        end += n
    }

    /// A line without its CRLF.
    func readLine() throws -> String {
        while true {
            if let i = buffer[start..<end].firstIndex(of: 10), i > start, buffer[i - 1] == 13 {
                let line = String(decoding: buffer[start..<(i - 1)], as: UTF8.self)
                start = i + 1
                return line
            }
            try fill()
        }
    }

    func readExact(_ count: Int) throws -> [UInt8] {
        while end - start < count { try fill() }
        defer { start += count }
        return Array(buffer[start..<(start + count)])
    }
}

struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}
