// Compression of SSTable data blocks with LZ4 or Zstandard (Debian's
// liblz4 and libzstd). A block that does not shrink is stored raw.
import CLZ4
import CZstd

enum BlockCompressor {
    static let tagNone: UInt8 = 0
    static let tagLZ4: UInt8 = 1
    static let tagZstd: UInt8 = 2

    /// Returns the stored bytes and the compression tag actually used.
    static func compress(_ input: [UInt8], _ compression: Compression) -> ([UInt8], UInt8) {
        switch compression {
        case .none:
            return (input, tagNone)
        case .lz4:
            let bound = Int(LZ4_compressBound(Int32(input.count)))
            var out = [UInt8](repeating: 0, count: bound)
            let n = input.withUnsafeBytes { src in
                out.withUnsafeMutableBytes { dst in
                    LZ4_compress_default(src.baseAddress!.assumingMemoryBound(to: CChar.self),
                                         dst.baseAddress!.assumingMemoryBound(to: CChar.self),
                                         Int32(input.count), Int32(bound))
                }
            }
            guard n > 0, Int(n) < input.count else { return (input, tagNone) }
            out.removeLast(bound - Int(n))
            return (out, tagLZ4)
        case .zstd(let level):
            let bound = ZSTD_compressBound(input.count)
            var out = [UInt8](repeating: 0, count: bound)
            let n = input.withUnsafeBytes { src in
                out.withUnsafeMutableBytes { dst in
                    ZSTD_compress(dst.baseAddress!, bound, src.baseAddress!, input.count, level)
                }
            }
            guard ZSTD_isError(n) == 0, n < input.count else { return (input, tagNone) }
            out.removeLast(bound - n)
            return (out, tagZstd)
        }
    }

    /// Decompresses `input` (stored with `tag`) into exactly `length`
    /// bytes, or with LZ4 into only its first `prefix` bytes when that is
    /// fewer (the block's checksum covers the stored bytes, so the rest
    /// need not be decoded to trust the prefix). Returns nil if the bytes
    /// do not decode to that length.
    static func decompress(_ input: UnsafeRawBufferPointer, tag: UInt8, length: Int, prefix: Int = .max) -> [UInt8]? {
        switch tag {
        case tagNone:
            return input.count == length ? Array(input) : nil
        case tagLZ4:
            guard length > 0 else { return input.count == 0 ? [] : nil }
            let want = max(0, min(prefix, length))
            guard want > 0 else { return [] }
            var ok = false
            // No zero-fill: only the bytes LZ4 wrote count as initialized.
            let out = [UInt8](unsafeUninitializedCapacity: want) { dst, initialized in
                let src = input.baseAddress!.assumingMemoryBound(to: CChar.self)
                let n = dst.withMemoryRebound(to: CChar.self) { d in
                    want == length
                        ? LZ4_decompress_safe(src, d.baseAddress!, Int32(input.count), Int32(length))
                        : LZ4_decompress_safe_partial(src, d.baseAddress!, Int32(input.count), Int32(want), Int32(want))
                }
                initialized = max(0, Int(n))
                ok = n == Int32(want)
            }
            return ok ? out : nil
        case tagZstd:
            guard length > 0 else { return input.count == 0 ? [] : nil }
            var ok = false
            let out = [UInt8](unsafeUninitializedCapacity: length) { dst, initialized in
                let n = ZSTD_decompress(dst.baseAddress!, length, input.baseAddress!, input.count)
                ok = ZSTD_isError(n) == 0 && n == length
                initialized = ok ? length : 0
            }
            return ok ? out : nil
        default:
            return nil
        }
    }
}
