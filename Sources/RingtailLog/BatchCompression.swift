// Compression of a record batch's records, as Kafka does it: the records
// section after the 61-byte header is one LZ4 frame (independent 64 KiB
// blocks, no checksums of its own: the batch CRC covers the stored bytes) or
// one Zstandard frame. Kafka's gzip and snappy codes are recognised and
// refused with a clear error.
import CLZ4
import CZstd

/// The compression codec in bits 0-2 of a batch's attributes (Kafka's codes).
public enum BatchCompression: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    case none = 0
    case gzip = 1
    case snappy = 2
    case lz4 = 3
    case zstd = 4

    /// Whether this build can write and read it.
    public var isSupported: Bool { self == .none || self == .lz4 || self == .zstd }

    public var description: String {
        switch self {
        case .none: "none"
        case .gzip: "gzip"
        case .snappy: "snappy"
        case .lz4: "lz4"
        case .zstd: "zstd"
        }
    }

    /// Parses "none", "lz4" or "zstd" (the codecs a producer may choose).
    public init?(name: String) {
        switch name.lowercased() {
        case "none", "": self = .none
        case "lz4": self = .lz4
        case "zstd": self = .zstd
        default: return nil
        }
    }
}

enum BatchCompressor {
    /// Compresses `input` as one frame. Never fails for a supported codec.
    static func compress(_ input: [UInt8], _ codec: BatchCompression, zstdLevel: Int32 = 3) -> [UInt8] {
        switch codec {
        case .lz4:
            var prefs = LZ4F_preferences_t()
            prefs.frameInfo.blockSizeID = LZ4F_max64KB
            prefs.frameInfo.blockMode = LZ4F_blockIndependent
            let bound = LZ4F_compressFrameBound(input.count, &prefs)
            var out = [UInt8](repeating: 0, count: bound)
            let n = input.withUnsafeBytes { src in
                out.withUnsafeMutableBytes { dst in
                    LZ4F_compressFrame(dst.baseAddress, bound, src.baseAddress, input.count, &prefs)
                }
            }
            precondition(LZ4F_isError(n) == 0, "LZ4F_compressFrame failed within its own bound")
            out.removeLast(bound - n)
            return out
        case .zstd:
            let bound = ZSTD_compressBound(input.count)
            var out = [UInt8](repeating: 0, count: bound)
            let n = input.withUnsafeBytes { src in
                out.withUnsafeMutableBytes { dst in
                    ZSTD_compress(dst.baseAddress, bound, src.baseAddress, input.count, zstdLevel)
                }
            }
            precondition(ZSTD_isError(n) == 0, "ZSTD_compress failed within its own bound")
            out.removeLast(bound - n)
            return out
        case .none:
            return input
        case .gzip, .snappy:
            preconditionFailure("\(codec) is not supported for writing")
        }
    }

    /// Decompresses one frame into at most `limit` bytes. Throws
    /// `.invalidRecord` for bytes that are not a complete frame and
    /// `.recordTooLarge` past the limit.
    static func decompress(_ input: UnsafeRawBufferPointer, _ codec: BatchCompression, limit: Int) throws(LogError) -> [UInt8] {
        switch codec {
        case .none: return Array(input)
        case .lz4: return try decompressLZ4(input, limit: limit)
        case .zstd: return try decompressZstd(input, limit: limit)
        case .gzip, .snappy:
            throw LogError(code: .unsupportedCompression, message: "\(codec) batches are not supported; produce with lz4, zstd or none")
        }
    }

    private static func decompressLZ4(_ input: UnsafeRawBufferPointer, limit: Int) throws(LogError) -> [UInt8] {
        var context: OpaquePointer?
        guard LZ4F_isError(LZ4F_createDecompressionContext(&context, UInt32(LZ4F_VERSION))) == 0, let context else {
            throw LogError(code: .io, message: "could not create an LZ4 decompression context")
        }
        defer { LZ4F_freeDecompressionContext(context) }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        var consumed = 0
        while true {
            var sourceSize = input.count - consumed
            var targetSize = chunk.count
            let hint = chunk.withUnsafeMutableBytes { dst in
                LZ4F_decompress(context, dst.baseAddress, &targetSize, input.baseAddress.map { $0 + consumed }, &sourceSize, nil)
            }
            if LZ4F_isError(hint) != 0 {
                throw LogError.invalid("LZ4 frame does not decode: \(String(cString: LZ4F_getErrorName(hint)))")
            }
            consumed += sourceSize
            out.append(contentsOf: chunk[0..<targetSize])
            if out.count > limit {
                throw LogError(code: .recordTooLarge, message: "LZ4 batch inflates past \(limit) bytes")
            }
            if hint == 0 {
                guard consumed == input.count else { throw LogError.invalid("\(input.count - consumed) bytes follow the LZ4 frame") }
                return out
            }
            if sourceSize == 0 && targetSize == 0 && consumed == input.count {
                throw LogError.invalid("LZ4 frame is cut short")
            }
        }
    }

    private static func decompressZstd(_ input: UnsafeRawBufferPointer, limit: Int) throws(LogError) -> [UInt8] {
        guard let stream = ZSTD_createDStream() else { throw LogError(code: .io, message: "could not create a Zstd stream") }
        defer { ZSTD_freeDStream(stream) }
        ZSTD_initDStream(stream)
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        var source = ZSTD_inBuffer(src: input.baseAddress, size: input.count, pos: 0)
        while true {
            var produced = 0
            let result = chunk.withUnsafeMutableBytes { dst in
                var target = ZSTD_outBuffer(dst: dst.baseAddress, size: dst.count, pos: 0)
                let r = ZSTD_decompressStream(stream, &target, &source)
                produced = target.pos
                return r
            }
            if ZSTD_isError(result) != 0 {
                throw LogError.invalid("Zstd frame does not decode: \(String(cString: ZSTD_getErrorName(result)))")
            }
            out.append(contentsOf: chunk[0..<produced])
            if out.count > limit {
                throw LogError(code: .recordTooLarge, message: "Zstd batch inflates past \(limit) bytes")
            }
            if result == 0 {
                guard source.pos == source.size else { throw LogError.invalid("\(source.size - source.pos) bytes follow the Zstd frame") }
                return out
            }
            if source.pos == source.size && produced < chunk.count {
                throw LogError.invalid("Zstd frame is cut short")
            }
        }
    }
}
