// An in-memory file system that can "crash": it then keeps only what was
// made durable (synced file bytes, synced directory entries) and may tear
// the last unsynced write. Storage crash tests and the simulator run on it.
import RingtailCore


/// In-memory `FileSystem` with crash and fault injection.
///
/// Durability model (stricter than ext4 in what survives; but a torn write
/// keeps a prefix, so pages persisting out of order are not modelled):
/// - file bytes survive a crash only up to the last `sync` of that file;
///   of the unsynced tail, a random prefix may survive (a torn write);
/// - a created, renamed or removed name survives only after `syncDirectory`
///   of its directory; directories themselves are durable at once;
/// - `truncate` is durable at once (PosixFileSystem fsyncs it).
///
/// Thread safety: every method takes one lock; safe from any thread.
public final class CrashableFileSystem: FileSystem, @unchecked Sendable {
    final class Inode {
        var data: [UInt8] = []
        var syncedLength = 0
    }

    struct State {
        var current: [String: Inode] = [:]
        var durable: [String: Inode] = [:]
        var directories: Set<String> = ["/", "."]
        var epoch = 0
        var crashed = false
        var operationsUntilCrash: Int?
        var noSpaceAfterBytes: Int?
        var bytesWritten = 0
        var operations = 0
        var syncs = 0
    }

    let state = Locked(State())

    public init() {}

    // MARK: Fault injection

    /// After `operations` more mutating operations (append, sync, create,
    /// rename, remove, truncate, directory sync), every call fails with
    /// `.crashed` until `recoverFromCrash` is called: the process "died" there.
    public func crash(afterOperations operations: Int) {
        state.withLock { $0.operationsUntilCrash = operations }
    }

    /// Appends fail with `.noSpace` once `bytes` more bytes have been written.
    public func failWithNoSpace(afterBytes bytes: Int?) {
        state.withLock {
            $0.noSpaceAfterBytes = bytes
            $0.bytesWritten = 0
        }
    }

    /// Counts of mutating operations and syncs so far (to pick crash points).
    public var operationCount: Int { state.withLock { $0.operations } }
    public var syncCount: Int { state.withLock { $0.syncs } }
    public var hasCrashed: Bool { state.withLock { $0.crashed } }

    /// Simulates power loss and restart: names revert to their last synced
    /// directory state, file contents to their synced prefix plus a torn
    /// prefix of the unsynced tail chosen by `entropy`. Old handles go dead.
    public func recoverFromCrash(entropy: inout SeededEntropy) {
        state.withLock { s in
            s.current = s.durable
            var seen = Set<ObjectIdentifier>()
            for path in s.durable.keys.sorted() {
                let inode = s.durable[path]!
                guard seen.insert(ObjectIdentifier(inode)).inserted else { continue }
                let unsynced = inode.data.count - inode.syncedLength
                var keep = 0
                if unsynced > 0 {
                    switch entropy.next(below: 3) {
                    case 0: keep = 0
                    case 1: keep = unsynced
                    default: keep = entropy.next(below: unsynced + 1)
                    }
                }
                inode.data.removeLast(unsynced - keep)
                inode.syncedLength = inode.data.count
            }
            s.epoch += 1
            s.crashed = false
            s.operationsUntilCrash = nil
        }
    }

    /// Flips one bit of a file in place (durably), to test corruption handling.
    public func flipBit(_ path: String, byteOffset: Int, bit: Int = 0) {
        state.withLock { s in
            guard let inode = s.current[path], byteOffset < inode.data.count else { return }
            inode.data[byteOffset] ^= UInt8(1 << (bit & 7))
        }
    }

    // MARK: Internals

    private func mutating<T>(_ path: String, _ body: (inout State) throws(FileSystemError) -> T) throws(FileSystemError) -> T {
        try state.withLock { (s) throws(FileSystemError) -> T in
            try Self.countOperation(&s, path)
            return try body(&s)
        }
    }

    fileprivate static func countOperation(_ s: inout State, _ path: String) throws(FileSystemError) {
        if s.crashed { throw FileSystemError(code: .crashed, path: path, message: "simulated crash") }
        if let left = s.operationsUntilCrash {
            if left <= 0 {
                s.crashed = true
                throw FileSystemError(code: .crashed, path: path, message: "simulated crash")
            }
            s.operationsUntilCrash = left - 1
        }
        s.operations += 1
    }

    static func normalize(_ path: String) -> String {
        var p = path
        while p.count > 1 && p.hasSuffix("/") { p.removeLast() }
        return p
    }

    private static func parentExists(_ s: State, _ path: String) -> Bool {
        s.directories.contains(Path.directory(of: path))
    }

    // MARK: FileSystem

    public func createDirectory(_ path: String) throws(FileSystemError) {
        let path = Self.normalize(path)
        try state.withLock { (s) throws(FileSystemError) in
            if s.crashed { throw FileSystemError(code: .crashed, path: path, message: "simulated crash") }
            var p = path
            var chain: [String] = []
            while !s.directories.contains(p) && p != "/" && p != "." && !p.isEmpty {
                if s.current[p] != nil { throw FileSystemError(code: .alreadyExists, path: p, message: "exists and is not a directory") }
                chain.append(p)
                p = Path.directory(of: p)
            }
            for d in chain { s.directories.insert(d) }
        }
    }

    public func createFile(_ path: String) throws(FileSystemError) -> WritableFile {
        let path = Self.normalize(path)
        return try mutating(path) { (s) throws(FileSystemError) -> WritableFile in
            guard Self.parentExists(s, path) else { throw FileSystemError(code: .notFound, path: path, message: "no such directory") }
            guard s.current[path] == nil else { throw FileSystemError(code: .alreadyExists, path: path, message: "file exists") }
            let inode = Inode()
            s.current[path] = inode
            return MemoryWritableFile(fs: self, inode: inode, path: path, epoch: s.epoch)
        }
    }

    public func openForAppend(_ path: String) throws(FileSystemError) -> WritableFile {
        let path = Self.normalize(path)
        return try state.withLock { (s) throws(FileSystemError) -> WritableFile in
            guard let inode = s.current[path] else { throw FileSystemError(code: .notFound, path: path, message: "no such file") }
            return MemoryWritableFile(fs: self, inode: inode, path: path, epoch: s.epoch)
        }
    }

    public func openForReading(_ path: String) throws(FileSystemError) -> ReadableFile {
        let path = Self.normalize(path)
        return try state.withLock { (s) throws(FileSystemError) -> ReadableFile in
            if s.crashed { throw FileSystemError(code: .crashed, path: path, message: "simulated crash") }
            guard let inode = s.current[path] else { throw FileSystemError(code: .notFound, path: path, message: "no such file") }
            return MemoryReadableFile(fs: self, inode: inode, path: path)
        }
    }

    public func listDirectory(_ path: String) throws(FileSystemError) -> [String] {
        let path = Self.normalize(path)
        return try state.withLock { (s) throws(FileSystemError) -> [String] in
            guard s.directories.contains(path) else { throw FileSystemError(code: .notFound, path: path, message: "no such directory") }
            var names = Set<String>()
            for p in s.current.keys where Path.directory(of: p) == path { names.insert(Path.name(of: p)) }
            for d in s.directories where d != path && Path.directory(of: d) == path { names.insert(Path.name(of: d)) }
            return names.sorted()
        }
    }

    public func fileExists(_ path: String) -> Bool {
        let path = Self.normalize(path)
        return state.withLock { $0.current[path] != nil || $0.directories.contains(path) }
    }

    public func fileSize(_ path: String) throws(FileSystemError) -> Int {
        let path = Self.normalize(path)
        return try state.withLock { (s) throws(FileSystemError) -> Int in
            guard let inode = s.current[path] else { throw FileSystemError(code: .notFound, path: path, message: "no such file") }
            return inode.data.count
        }
    }

    public func removeFile(_ path: String) throws(FileSystemError) {
        let path = Self.normalize(path)
        try mutating(path) { (s) throws(FileSystemError) in
            guard s.current.removeValue(forKey: path) != nil else {
                throw FileSystemError(code: .notFound, path: path, message: "no such file")
            }
        }
    }

    public func rename(_ source: String, to target: String) throws(FileSystemError) {
        let source = Self.normalize(source), target = Self.normalize(target)
        try mutating(source) { (s) throws(FileSystemError) in
            guard let inode = s.current.removeValue(forKey: source) else {
                throw FileSystemError(code: .notFound, path: source, message: "no such file")
            }
            s.current[target] = inode
        }
    }

    public func truncate(_ path: String, to size: Int) throws(FileSystemError) {
        let path = Self.normalize(path)
        try mutating(path) { (s) throws(FileSystemError) in
            guard let inode = s.current[path] else { throw FileSystemError(code: .notFound, path: path, message: "no such file") }
            if size < inode.data.count { inode.data.removeLast(inode.data.count - size) }
            inode.syncedLength = min(inode.syncedLength, inode.data.count)
        }
    }

    public func syncDirectory(_ path: String) throws(FileSystemError) {
        let path = Self.normalize(path)
        try mutating(path) { (s) throws(FileSystemError) in
            for p in s.durable.keys where Path.directory(of: p) == path && s.current[p] == nil {
                s.durable.removeValue(forKey: p)
            }
            for (p, inode) in s.current where Path.directory(of: p) == path { s.durable[p] = inode }
            s.syncs += 1
        }
    }

    // MARK: Handles

    fileprivate func append(_ inode: Inode, _ bytes: UnsafeRawBufferPointer, path: String, epoch: Int) throws(FileSystemError) {
        try state.withLock { (s) throws(FileSystemError) in
            guard s.epoch == epoch else { throw FileSystemError(code: .crashed, path: path, message: "handle from before a crash") }
            try Self.countOperation(&s, path)
            if let limit = s.noSpaceAfterBytes, s.bytesWritten + bytes.count > limit {
                throw FileSystemError(code: .noSpace, path: path, errno: 28, message: "write failed: No space left on device (simulated)")
            }
            s.bytesWritten += bytes.count
            inode.data.append(contentsOf: bytes)
        }
    }

    fileprivate func sync(_ inode: Inode, path: String, epoch: Int) throws(FileSystemError) {
        try state.withLock { (s) throws(FileSystemError) in
            guard s.epoch == epoch else { throw FileSystemError(code: .crashed, path: path, message: "handle from before a crash") }
            try Self.countOperation(&s, path)
            inode.syncedLength = inode.data.count
            s.syncs += 1
        }
    }

    fileprivate func read(_ inode: Inode, at offset: Int, into buffer: UnsafeMutableRawBufferPointer) -> Int {
        state.withLock { _ in
            guard offset < inode.data.count else { return 0 }
            let n = min(buffer.count, inode.data.count - offset)
            inode.data.withUnsafeBytes { raw in
                buffer.baseAddress!.copyMemory(from: raw.baseAddress! + offset, byteCount: n)
            }
            return n
        }
    }

    fileprivate func size(_ inode: Inode) -> Int { state.withLock { _ in inode.data.count } }
}

final class MemoryWritableFile: WritableFile, @unchecked Sendable {
    let fs: CrashableFileSystem
    let inode: CrashableFileSystem.Inode
    let path: String
    let epoch: Int

    init(fs: CrashableFileSystem, inode: CrashableFileSystem.Inode, path: String, epoch: Int) {
        self.fs = fs
        self.inode = inode
        self.path = path
        self.epoch = epoch
    }

    var size: Int { fs.size(inode) }
    func append(_ bytes: UnsafeRawBufferPointer) throws(FileSystemError) { try fs.append(inode, bytes, path: path, epoch: epoch) }
    func sync() throws(FileSystemError) { try fs.sync(inode, path: path, epoch: epoch) }
    func close() throws(FileSystemError) {}
}

final class MemoryReadableFile: ReadableFile, @unchecked Sendable {
    let fs: CrashableFileSystem
    let inode: CrashableFileSystem.Inode
    let path: String

    init(fs: CrashableFileSystem, inode: CrashableFileSystem.Inode, path: String) {
        self.fs = fs
        self.inode = inode
        self.path = path
    }

    var size: Int { fs.size(inode) }
    func read(at offset: Int, into buffer: UnsafeMutableRawBufferPointer) throws(FileSystemError) -> Int {
        guard buffer.count > 0 else { return 0 }
        return fs.read(inode, at: offset, into: buffer)
    }
    func close() {}
}
