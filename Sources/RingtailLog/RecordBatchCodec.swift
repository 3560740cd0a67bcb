// Checking and decoding record batches. Anything a log stores arrived over
// the network, so every field is checked before it is trusted: the header's
// bounds and version, the CRC, and (on a leader) every record inside.
import RingtailCore

public enum RecordBatchCodec {
    /// Checks the header of the batch at `offset` in `raw`, whose readable
    /// bytes end at `end`: version, lengths, counts, codec and CRC. Returns
    /// the header; throws `.invalidRecord`, `.recordTooLarge`,
    /// `.unsupportedVersion` or `.unsupportedCompression`.
    public static func checkHeader(_ raw: UnsafeRawBufferPointer, at offset: Int, end: Int,
                                   limits: LogLimits) throws(LogError) -> RecordBatchHeader {
        typealias L = RecordBatchLayout
        guard end - offset >= L.headerBytes else {
            throw LogError.invalid("batch of \(end - offset) bytes is shorter than its \(L.headerBytes)-byte header")
        }
        let magic = raw.load(fromByteOffset: offset + L.magic, as: UInt8.self)
        guard magic == L.currentMagic else {
            throw LogError(code: .unsupportedVersion, message: "batch magic \(magic); this build reads magic \(L.currentMagic) (Kafka 0.11 and later)")
        }
        let header = RecordBatchHeader(raw, at: offset)
        guard header.batchLength >= Int32(L.headerBytes - L.lengthPrefixBytes) else {
            throw LogError.invalid("batch length \(header.batchLength) is shorter than a header")
        }
        guard header.totalBytes <= limits.batchBytesMax else {
            throw LogError(code: .recordTooLarge, message: "batch of \(header.totalBytes) bytes; the limit is \(limits.batchBytesMax)")
        }
        guard header.totalBytes <= end - offset else {
            throw LogError.invalid("batch of \(header.totalBytes) bytes runs past the \(end - offset) bytes given")
        }
        guard header.recordCount >= 1, header.recordCount <= limits.batchRecordsMax,
              Int64(header.lastOffsetDelta) == Int64(header.recordCount) - 1 else {
            throw LogError.invalid("batch counts \(header.recordCount) records with last offset delta \(header.lastOffsetDelta)")
        }
        guard let codec = header.compression else {
            throw LogError(code: .unsupportedCompression, message: "unknown compression code \(header.attributes & L.compressionMask)")
        }
        guard codec.isSupported else {
            throw LogError(code: .unsupportedCompression, message: "\(codec) batches are not supported; produce with lz4, zstd or none")
        }
        guard header.attributes & (L.transactionalBit | L.controlBit) == 0 else {
            throw LogError.invalid("transactional and control batches are not supported")
        }
        let computed = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[(offset + L.attributes)..<(offset + header.totalBytes)]))
        guard computed == header.crc else {
            throw LogError.invalid("batch CRC mismatch (stored \(Hex.word(header.crc)), computed \(Hex.word(computed)))")
        }
        return header
    }

    public static func checkHeader(_ bytes: [UInt8], at offset: Int = 0, limits: LogLimits = LogLimits()) throws(LogError) -> RecordBatchHeader {
        var result: Result<RecordBatchHeader, LogError>!
        bytes.withUnsafeBytes { raw in
            do throws(LogError) { result = .success(try checkHeader(raw, at: offset, end: raw.count, limits: limits)) }
            catch { result = .failure(error) }
        }
        return try result.get()
    }

    /// Decodes every record of the checked batch at `offset`. Throws
    /// `.invalidRecord` if the records do not match the header exactly
    /// (count, consecutive offset deltas, maximum timestamp, no trailing bytes).
    public static func records(in bytes: [UInt8], at offset: Int, header: RecordBatchHeader,
                               limits: LogLimits = LogLimits()) throws(LogError) -> [LogRecord] {
        typealias L = RecordBatchLayout
        let start = offset + L.headerBytes
        let end = offset + header.totalBytes
        let body: [UInt8]
        if header.compression == BatchCompression.none {
            body = Array(bytes[start..<end])
        } else {
            var result: Result<[UInt8], LogError>!
            bytes.withUnsafeBytes { raw in
                do throws(LogError) {
                    result = .success(try BatchCompressor.decompress(UnsafeRawBufferPointer(rebasing: raw[start..<end]),
                                                                     header.compression ?? .none, limit: limits.decompressedBytesMax))
                } catch { result = .failure(error) }
            }
            body = try result.get()
        }
        do {
            return try decodeRecords(body, header: header, limits: limits)
        } catch let error as DecodeError {
            throw LogError.invalid("records of the batch at offset \(header.baseOffset) do not decode: \(error)")
        } catch let error as LogError {
            throw error
        } catch {
            throw LogError.invalid("\(error)")
        }
    }

    private static func decodeRecords(_ body: [UInt8], header: RecordBatchHeader, limits: LogLimits) throws -> [LogRecord] {
        var reader = ByteReader(body)
        var out: [LogRecord] = []
        out.reserveCapacity(Int(header.recordCount))
        var maxTimestamp = Int64.min
        for index in 0..<Int(header.recordCount) {
            let length = try reader.readSignedVarint()
            guard length >= 0, length <= Int64(reader.remaining) else {
                throw DecodeError.lengthOutOfRange(offset: reader.offset, length: Int(clamping: length), limit: reader.remaining)
            }
            let recordEnd = reader.offset + Int(length)
            _ = try reader.readUInt8() // attributes
            let timestampDelta = try reader.readSignedVarint()
            let offsetDelta = try reader.readSignedVarint()
            guard offsetDelta == Int64(index) else {
                throw LogError.invalid("record \(index) has offset delta \(offsetDelta); deltas must be consecutive from 0")
            }
            let key = try optionalBytes(&reader, limit: recordEnd)
            let value = try optionalBytes(&reader, limit: recordEnd)
            let headerCount = try reader.readSignedVarint()
            guard headerCount >= 0, headerCount <= Int64(recordEnd - reader.offset) else {
                throw LogError.invalid("record \(index) claims \(headerCount) headers")
            }
            var headers: [RecordHeader] = []
            for _ in 0..<Int(headerCount) {
                guard let keyBytes = try optionalBytes(&reader, limit: recordEnd), keyBytes.count <= limits.headerKeyBytesMax,
                      let key = String(validating: keyBytes, as: UTF8.self) else {
                    throw LogError.invalid("record \(index) has a header key that is null, too long or not UTF-8")
                }
                headers.append(RecordHeader(key: key, value: try optionalBytes(&reader, limit: recordEnd)))
            }
            guard reader.offset == recordEnd else {
                throw LogError.invalid("record \(index) is \(length) bytes but its fields take \(reader.offset - recordEnd + Int(length))")
            }
            let (timestamp, overflow) = header.baseTimestamp.addingReportingOverflow(timestampDelta)
            guard !overflow else { throw LogError.invalid("record \(index) timestamp overflows") }
            maxTimestamp = max(maxTimestamp, timestamp)
            out.append(LogRecord(offset: header.baseOffset + Int64(index), timestamp: timestamp, key: key, value: value, headers: headers))
        }
        guard reader.isAtEnd else { throw LogError.invalid("\(reader.remaining) bytes follow the batch's last record") }
        guard maxTimestamp == header.maxTimestamp else {
            throw LogError.invalid("batch max timestamp \(header.maxTimestamp) differs from its records' \(maxTimestamp)")
        }
        return out
    }

    private static func optionalBytes(_ reader: inout ByteReader, limit: Int) throws -> [UInt8]? {
        let at = reader.offset
        let length = try reader.readSignedVarint()
        if length == -1 { return nil }
        guard length >= 0, length <= Int64(limit - reader.offset) else {
            throw DecodeError.lengthOutOfRange(offset: at, length: Int(clamping: length), limit: limit - reader.offset)
        }
        return try reader.readBytes(Int(length))
    }

    /// Sets the base offset and leader epoch of the batch at `offset`. Both
    /// lie outside the CRC, so the checksum stays valid.
    public static func assign(baseOffset: Int64, leaderEpoch: Int32, in bytes: inout [UInt8], at offset: Int = 0) {
        bytes.storeBigEndian(baseOffset, at: offset + RecordBatchLayout.baseOffset)
        bytes.storeBigEndian(leaderEpoch, at: offset + RecordBatchLayout.partitionLeaderEpoch)
    }

    /// Every batch in a buffer of consecutive batches, checked header by
    /// header; throws at the first bad one.
    public static func batches(in bytes: [UInt8], limits: LogLimits = LogLimits()) throws(LogError) -> [(header: RecordBatchHeader, position: Int)] {
        var out: [(header: RecordBatchHeader, position: Int)] = []
        var position = 0
        while position < bytes.count {
            let header = try checkHeader(bytes, at: position, limits: limits)
            out.append((header, position))
            position += header.totalBytes
        }
        return out
    }

    /// Every record in a buffer of consecutive batches (what a fetch returns).
    public static func records(in bytes: [UInt8], limits: LogLimits = LogLimits()) throws(LogError) -> [LogRecord] {
        var out: [LogRecord] = []
        for (header, position) in try batches(in: bytes, limits: limits) {
            out += try records(in: bytes, at: position, header: header, limits: limits)
        }
        return out
    }
}
