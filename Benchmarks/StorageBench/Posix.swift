// Process-level helpers mirroring peer_bench.c: the monotonic clock, fatal
// errors, printf-style formatting, disk usage and peak RSS.
import Glibc

@inline(__always)
func nowNanoseconds() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
}

/// Prints to stderr and exits 1 at once: other threads may still be inside
/// the engine, so no cleanup runs (peer_bench.c's `die`).
func die(_ message: String) -> Never {
    note(message)
    _exit(1)
}

/// A diagnostic line on stderr.
func note(_ message: String) {
    writeAll(2, "ringtail-storage-bench: \(message)\n")
}

/// Writes all of `text` to a file descriptor, unbuffered.
func writeAll(_ fd: Int32, _ text: String) {
    var text = text
    text.withUTF8 { buffer in
        var offset = 0
        while offset < buffer.count {
            let n = write(fd, buffer.baseAddress! + offset, buffer.count - offset)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return }
            offset += n
        }
    }
}

/// printf-style formatting through the C library, so numbers print exactly
/// as peer_bench.c prints them.
func cFormat(_ format: String, _ args: CVarArg...) -> String {
    withVaList(args) { va in
        var buffer = [CChar](repeating: 0, count: 1024)
        let n = vsnprintf(&buffer, buffer.count, format, va)
        precondition(n >= 0 && n < buffer.count, "cFormat overflow")
        return String(decoding: buffer[0..<Int(n)].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// Sum of st_size of all regular files under `path` (recursive, lstat).
func directoryBytes(_ path: String) -> UInt64 {
    guard let dir = opendir(path) else { die("opendir \(path): \(String(cString: strerror(errno)))") }
    defer { closedir(dir) }
    var total: UInt64 = 0
    while let entry = readdir(dir) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
            String(cString: raw.baseAddress!.assumingMemoryBound(to: CChar.self))
        }
        if name == "." || name == ".." { continue }
        let child = path + "/" + name
        var info = stat()
        guard lstat(child, &info) == 0 else { continue } // raced with deletion
        switch info.st_mode & S_IFMT {
        case S_IFDIR: total += directoryBytes(child)
        case S_IFREG: total += UInt64(info.st_size)
        default: break
        }
    }
    return total
}

/// getrusage(RUSAGE_SELF).ru_maxrss in MiB.
func peakRSSMebibytes() -> Double {
    var usage = rusage()
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
    return Double(usage.ru_maxrss) / 1024
}

/// A pthread barrier: every worker starts its timed loop together.
final class Barrier: @unchecked Sendable {
    private let barrier = UnsafeMutablePointer<pthread_barrier_t>.allocate(capacity: 1)

    init(count: Int) {
        precondition(pthread_barrier_init(barrier, nil, UInt32(count)) == 0, "pthread_barrier_init failed")
    }

    deinit {
        pthread_barrier_destroy(barrier)
        barrier.deallocate()
    }

    func wait() { pthread_barrier_wait(barrier) }
}
