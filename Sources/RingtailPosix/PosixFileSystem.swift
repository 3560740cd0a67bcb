// The real file system: the only module that calls open/pread/fdatasync.
// Every error carries the path, errno and (for a full disk) a remedy.
import Glibc
import RingtailCore

/// `FileSystem` over POSIX calls. Stateless and thread-safe.
public final class PosixFileSystem: FileSystem {
    public init() {}

    static func error(_ path: String, _ operation: String, _ code: Int32 = errno) -> FileSystemError {
        let kind: FileSystemError.Code
        switch code {
        case ENOENT: kind = .notFound
        case EEXIST: kind = .alreadyExists
        case ENOSPC, EDQUOT: kind = .noSpace
        case EACCES, EPERM: kind = .permissionDenied
        case EINVAL: kind = .invalidArgument
        default: kind = .ioError
        }
        let reason = String(cString: strerror(code))
        return FileSystemError(code: kind, path: path, errno: code, message: "\(operation) failed: \(reason)")
    }

    public func createDirectory(_ path: String) throws(FileSystemError) {
        if path.isEmpty || path == "/" || path == "." { return }
        var info = stat()
        if stat(path, &info) == 0 {
            if (info.st_mode & S_IFMT) == S_IFDIR { return }
            throw FileSystemError(code: .alreadyExists, path: path, message: "exists and is not a directory")
        }
        let parent = Path.directory(of: path)
        if parent != path { try createDirectory(parent) }
        if mkdir(path, 0o755) != 0 && errno != EEXIST { throw Self.error(path, "mkdir") }
    }

    public func createFile(_ path: String) throws(FileSystemError) -> WritableFile {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw Self.error(path, "create") }
        return PosixWritableFile(fd: fd, path: path, size: 0)
    }

    public func openForAppend(_ path: String) throws(FileSystemError) -> WritableFile {
        let fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC)
        guard fd >= 0 else { throw Self.error(path, "open for append") }
        let end = lseek(fd, 0, SEEK_END)
        guard end >= 0 else {
            let e = Self.error(path, "seek")
            Glibc.close(fd)
            throw e
        }
        return PosixWritableFile(fd: fd, path: path, size: Int(end))
    }

    public func openForReading(_ path: String) throws(FileSystemError) -> ReadableFile {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw Self.error(path, "open") }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            let e = Self.error(path, "fstat")
            Glibc.close(fd)
            throw e
        }
        return PosixReadableFile(fd: fd, path: path, size: Int(info.st_size))
    }

    public func listDirectory(_ path: String) throws(FileSystemError) -> [String] {
        guard let dir = opendir(path) else { throw Self.error(path, "opendir") }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    public func fileExists(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0
    }

    public func fileSize(_ path: String) throws(FileSystemError) -> Int {
        var info = stat()
        guard stat(path, &info) == 0 else { throw Self.error(path, "stat") }
        return Int(info.st_size)
    }

    public func removeFile(_ path: String) throws(FileSystemError) {
        if unlink(path) != 0 { throw Self.error(path, "unlink") }
    }

    public func rename(_ source: String, to target: String) throws(FileSystemError) {
        if Glibc.rename(source, target) != 0 { throw Self.error(source, "rename to \(target)") }
    }

    public func truncate(_ path: String, to size: Int) throws(FileSystemError) {
        let fd = open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { throw Self.error(path, "open for truncate") }
        defer { Glibc.close(fd) }
        if ftruncate(fd, off_t(size)) != 0 { throw Self.error(path, "ftruncate") }
        if fsync(fd) != 0 { throw Self.error(path, "fsync") }
    }

    public func syncDirectory(_ path: String) throws(FileSystemError) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw Self.error(path, "open directory") }
        defer { Glibc.close(fd) }
        if fsync(fd) != 0 { throw Self.error(path, "fsync directory") }
    }
}

final class PosixWritableFile: WritableFile, @unchecked Sendable {
    let fd: Int32
    let path: String
    private(set) var size: Int
    private var closed = false

    init(fd: Int32, path: String, size: Int) {
        self.fd = fd
        self.path = path
        self.size = size
    }

    deinit { if !closed { Glibc.close(fd) } }

    func append(_ bytes: UnsafeRawBufferPointer) throws(FileSystemError) {
        guard var base = bytes.baseAddress else { return }
        var remaining = bytes.count
        while remaining > 0 {
            let n = write(fd, base, remaining)
            if n < 0 {
                if errno == EINTR { continue }
                throw PosixFileSystem.error(path, "write")
            }
            remaining -= n
            base += n
            size += n
        }
    }

    func sync() throws(FileSystemError) {
        if fdatasync(fd) != 0 { throw PosixFileSystem.error(path, "fdatasync") }
    }

    func close() throws(FileSystemError) {
        guard !closed else { return }
        closed = true
        if Glibc.close(fd) != 0 { throw PosixFileSystem.error(path, "close") }
    }
}

final class PosixReadableFile: ReadableFile, @unchecked Sendable {
    let fd: Int32
    let path: String
    let size: Int

    init(fd: Int32, path: String, size: Int) {
        self.fd = fd
        self.path = path
        self.size = size
    }

    deinit { Glibc.close(fd) }

    func read(at offset: Int, into buffer: UnsafeMutableRawBufferPointer) throws(FileSystemError) -> Int {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return 0 }
        while true {
            let n = pread(fd, base, buffer.count, off_t(offset))
            if n >= 0 { return n }
            if errno == EINTR { continue }
            throw PosixFileSystem.error(path, "pread")
        }
    }

    /// Closing happens when the last reference goes away, so a reader that
    /// still holds the file (a read racing a compaction) stays valid.
    func close() {}
}
