// The errors partition logs, producers and the batch codec report. Each
// names what went wrong with numbers, the file and offset where there is one,
// and what a caller can do (docs/formats/record-batch.md, segment.md).
import RingtailCore

/// A partition log failure: what went wrong, where, and what to do about it.
public struct LogError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable {
        /// Bytes on disk do not match their checksum or cannot be decoded.
        case corruption
        /// A batch or file carries a format version (magic) this build does not know.
        case unsupportedVersion
        /// A batch sent to the log is malformed: bad CRC, counts or encoding.
        case invalidRecord
        /// A batch, key or value is larger than the configured limit.
        case recordTooLarge
        /// The batch uses a compression codec Ringtail does not implement (gzip, snappy).
        case unsupportedCompression
        /// A read or truncation asked for an offset outside the log.
        case offsetOutOfRange
        /// An idempotent producer's sequence number skipped ahead: a batch is missing.
        case outOfOrderSequence
        /// An idempotent producer used an epoch older than one the log has seen (it was fenced).
        case invalidProducerEpoch
        /// A follower's batch does not continue the log at its end offset.
        case nonContiguousAppend
        /// A caller passed a value the log cannot accept.
        case invalidArgument
        /// The file system failed (full disk, permissions, I/O error).
        case io
        /// The log was closed.
        case closed
    }

    public var code: Code
    public var message: String
    public var path: String?
    public var offset: Int?

    public init(code: Code, message: String, path: String? = nil, offset: Int? = nil) {
        self.code = code
        self.message = message
        self.path = path
        self.offset = offset
    }

    static func corruption(_ message: String, path: String, offset: Int) -> LogError {
        LogError(code: .corruption, message: message, path: path, offset: offset)
    }

    static func invalid(_ message: String) -> LogError { LogError(code: .invalidRecord, message: message) }

    static func io(_ error: FileSystemError) -> LogError {
        LogError(code: .io, message: error.description, path: error.path)
    }

    public var description: String {
        var text = "\(code.rawValue): \(message)"
        if let path { text += " [file \(path)" + (offset.map { " offset \($0)" } ?? "") + "]" }
        return text
    }
}

/// Size limits checked on every batch a log accepts, before anything is written.
public struct LogLimits: Sendable, Equatable {
    /// Bytes in one stored batch, header included (Kafka's `max.message.bytes`).
    public var batchBytesMax: Int = 1_048_588
    /// Bytes a compressed batch's records may inflate to; a guard against
    /// decompression bombs.
    public var decompressedBytesMax: Int = 64 * 1024 * 1024
    /// Records in one batch.
    public var batchRecordsMax: Int = 1_000_000
    /// Header keys, in bytes of UTF-8.
    public var headerKeyBytesMax: Int = 32_767

    public init() {}
}
