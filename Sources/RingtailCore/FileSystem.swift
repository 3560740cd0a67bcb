// Files as a capability. Storage and log code never call the OS directly:
// they are handed a `FileSystem`, which is POSIX in real processes
// (RingtailPosix.PosixFileSystem) and a crashable in-memory twin in tests and
// the simulator (RingtailSimulation.CrashableFileSystem).

/// An I/O failure, with the path, the OS error number when there is one, and
/// what an operator can do about it.
public struct FileSystemError: Error, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable {
        case notFound, alreadyExists, noSpace, permissionDenied, ioError, crashed, invalidArgument
    }

    public var code: Code
    public var path: String
    public var errno: Int32
    public var message: String

    public init(code: Code, path: String, errno: Int32 = 0, message: String) {
        self.code = code
        self.path = path
        self.errno = errno
        self.message = message
    }

    public var description: String {
        var text = "\(code.rawValue): \(message) (\(path)"
        if errno != 0 { text += ", errno \(errno)" }
        text += ")"
        if code == .noSpace { text += "; free disk space, then restart the node: nothing acknowledged is lost" }
        return text
    }
}

/// A file open for appending. Appends go to the OS (they survive the
/// process being killed) but are durable across power loss only after `sync`.
///
/// Thread safety: one writer at a time; callers serialize.
public protocol WritableFile: AnyObject, Sendable {
    var path: String { get }
    /// Bytes in the file, including appends not yet synced.
    var size: Int { get }
    func append(_ bytes: UnsafeRawBufferPointer) throws(FileSystemError)
    /// Makes every byte appended so far durable (fdatasync).
    func sync() throws(FileSystemError)
    func close() throws(FileSystemError)
}

/// A file open for positional reads. Safe to use from many threads at once.
public protocol ReadableFile: AnyObject, Sendable {
    var path: String { get }
    var size: Int { get }
    /// Reads up to `buffer.count` bytes at `offset`; returns how many were read
    /// (fewer only at end of file).
    func read(at offset: Int, into buffer: UnsafeMutableRawBufferPointer) throws(FileSystemError) -> Int
    func close()
}

/// The file operations storage needs, nothing more. Paths are absolute or
/// relative strings joined with "/".
public protocol FileSystem: AnyObject, Sendable {
    /// Creates the directory and its missing parents; succeeds if it exists.
    func createDirectory(_ path: String) throws(FileSystemError)
    /// Creates a new empty file for appending; fails if it already exists.
    func createFile(_ path: String) throws(FileSystemError) -> WritableFile
    /// Opens an existing file for appending at its end.
    func openForAppend(_ path: String) throws(FileSystemError) -> WritableFile
    func openForReading(_ path: String) throws(FileSystemError) -> ReadableFile
    /// Names (not paths) of the entries in a directory, sorted.
    func listDirectory(_ path: String) throws(FileSystemError) -> [String]
    func fileExists(_ path: String) -> Bool
    func fileSize(_ path: String) throws(FileSystemError) -> Int
    func removeFile(_ path: String) throws(FileSystemError)
    /// Atomically replaces `target` with `source` (rename(2)).
    func rename(_ source: String, to target: String) throws(FileSystemError)
    /// Cuts a file to `size` bytes, durably.
    func truncate(_ path: String, to size: Int) throws(FileSystemError)
    /// Makes creations, renames and removals in the directory durable.
    func syncDirectory(_ path: String) throws(FileSystemError)
}

extension WritableFile {
    public func append(_ bytes: [UInt8]) throws(FileSystemError) {
        var failure: FileSystemError?
        bytes.withUnsafeBytes { raw in
            do throws(FileSystemError) { try append(raw) } catch { failure = error }
        }
        if let failure { throw failure }
    }
}

extension ReadableFile {
    /// Reads exactly `count` bytes at `offset`, or throws if the file is shorter.
    public func read(at offset: Int, count: Int) throws(FileSystemError) -> [UInt8] {
        // No zero-fill: the buffer is handed to the OS uninitialized and
        // only the bytes actually read count as initialized.
        var failure: FileSystemError?
        var got = 0
        let result = [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            let raw = UnsafeMutableRawBufferPointer(buffer)
            var done = 0
            while done < count {
                do throws(FileSystemError) {
                    let n = try read(at: offset + done, into: UnsafeMutableRawBufferPointer(rebasing: raw[done...]))
                    if n == 0 { break }
                    done += n
                } catch {
                    failure = error
                    break
                }
            }
            initialized = done
            got = done
        }
        if let failure { throw failure }
        guard got == count else {
            throw FileSystemError(code: .ioError, path: path, message: "short read: \(got) of \(count) bytes at offset \(offset)")
        }
        return result
    }

    public func readAll() throws(FileSystemError) -> [UInt8] { try read(at: 0, count: size) }
}

extension FileSystem {
    /// Writes `bytes` to `path` so that after a crash the file holds either its
    /// old content or all of `bytes`: temporary file, sync, rename, sync dir.
    public func writeAtomically(_ path: String, bytes: [UInt8]) throws(FileSystemError) {
        let temporary = path + ".tmp"
        if fileExists(temporary) { try removeFile(temporary) }
        let file = try createFile(temporary)
        do {
            try file.append(bytes)
            try file.sync()
        } catch {
            try? file.close() // do not leak the handle; the append or sync error is the one to report
            throw error
        }
        try file.close()
        try rename(temporary, to: path)
        try syncDirectory(Path.directory(of: path))
    }

    public func readFile(_ path: String) throws(FileSystemError) -> [UInt8] {
        let file = try openForReading(path)
        defer { file.close() }
        return try file.readAll()
    }
}

/// String path helpers (no Foundation).
public enum Path {
    public static func join(_ a: String, _ b: String) -> String {
        if a.isEmpty { return b }
        return a.hasSuffix("/") ? a + b : a + "/" + b
    }

    public static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        if slash == path.startIndex { return "/" }
        return String(path[..<slash])
    }

    public static func name(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return path }
        return String(path[path.index(after: slash)...])
    }
}
