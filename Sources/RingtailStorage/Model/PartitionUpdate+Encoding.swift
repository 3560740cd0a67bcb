// A public, self-contained encoding of a partition update (the commit log's
// body encoding, timestamps absolute): for hints now, and the wire later.
import RingtailCore

extension PartitionUpdate {
    /// Encodes the update (key, deletions, rows) as in docs/formats/commit-log.md.
    public func encoded() -> [UInt8] {
        var w = ByteWriter(capacity: 64 + key.count + rows.count * 48)
        PartitionCodec.encode(self, base: 0, into: &w)
        return w.bytes
    }

    /// Decodes `encoded()` output; bad input is an error, never a trap.
    public init(decoding bytes: [UInt8], limits: StorageLimits = StorageLimits()) throws(StorageError) {
        var r = ByteReader(bytes)
        do throws(DecodeError) {
            var update = try PartitionCodec.decodeUpdate(&r, base: 0, limits: limits)
            guard r.isAtEnd else { throw .invalid(offset: r.offset, reason: "\(r.remaining) trailing bytes") }
            update.normalize()
            self = update
        } catch {
            throw StorageError(code: .invalidArgument, message: "partition update does not decode: \(error)")
        }
    }
}
