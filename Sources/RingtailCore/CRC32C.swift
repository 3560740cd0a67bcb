// CRC32C (Castagnoli) checksums for commit log records, SSTable blocks and
// manifests. Backed by the SSE4.2 instruction where the CPU has it.
import CRingtailSupport

/// CRC32C over byte buffers. `CRC32C.checksum("123456789") == 0xE3069283`.
public enum CRC32C {
    /// Checksum of `bytes`, optionally continuing from a previous checksum.
    @inlinable
    public static func checksum(_ bytes: UnsafeRawBufferPointer, continuing crc: UInt32 = 0) -> UInt32 {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return crc }
        return ringtail_crc32c(crc, base, bytes.count)
    }

    @inlinable
    public static func checksum(_ bytes: [UInt8], continuing crc: UInt32 = 0) -> UInt32 {
        bytes.withUnsafeBytes { checksum($0, continuing: crc) }
    }

    @inlinable
    public static func checksum(_ bytes: ArraySlice<UInt8>, continuing crc: UInt32 = 0) -> UInt32 {
        bytes.withUnsafeBytes { checksum($0, continuing: crc) }
    }

    /// The software path only; tests compare it with the hardware path.
    public static func softwareChecksum(_ bytes: [UInt8], continuing crc: UInt32 = 0) -> UInt32 {
        bytes.withUnsafeBytes { raw in
            guard let base = raw.baseAddress, raw.count > 0 else { return crc }
            return ringtail_crc32c_software(crc, base, raw.count)
        }
    }
}
