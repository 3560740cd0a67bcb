// Read repair's pure half: a digest of what a replica returned, and the
// difference between the resolved (last-write-wins merged) version of a
// partition and one replica's version: exactly what that replica lacks.
import RingtailCore

extension PartitionUpdate {
    /// A 64-bit digest of this version (cells, tombstones, timestamps). Equal
    /// versions have equal digests; a mismatch makes the coordinator fetch
    /// full data (a collision would hide a difference with chance ~2^-64).
    public var digest: UInt64 {
        var copy = self
        copy.rangeTombstones.sort { compareBytes(PartitionCodec.boundKey($0), PartitionCodec.boundKey($1)) < 0 }
        let bytes = copy.encoded()
        return bytes.withUnsafeBytes { Murmur3.hash128($0, seed: 0x52_54_44_47).0 }
    }

    /// The digest of `decoded`, read from `bytes` (its encoding) without
    /// re-encoding when that encoding is the canonical one `digest` hashes
    /// (range tombstones in bound order, as a replica sends them); nil if not.
    public static func digest(ofEncoded bytes: [UInt8], decoded: PartitionUpdate) -> UInt64? {
        let rts = decoded.rangeTombstones
        if rts.count > 1 {
            for i in 1..<rts.count where compareBytes(PartitionCodec.boundKey(rts[i - 1]), PartitionCodec.boundKey(rts[i])) > 0 {
                return nil
            }
        }
        return bytes.withUnsafeBytes { Murmur3.hash128($0, seed: 0x52_54_44_47).0 }
    }

    /// What `replica` lacks compared with `self` (the resolved version of the
    /// same partition): nil if nothing. Merging the result into `replica`
    /// gives `self` whenever `self` is the merge of `replica` with others.
    public func repair(for replica: PartitionUpdate) -> PartitionUpdate? {
        precondition(key == replica.key, "repair across partitions")
        var out = PartitionUpdate(key: key)
        if deletion.supersedes(replica.deletion) { out.deletion = deletion }
        out.rangeTombstones = rangeTombstones.filter { !replica.rangeTombstones.contains($0) }
        var j = 0
        for row in rows {
            while j < replica.rows.count && compareBytes(replica.rows[j].clustering, row.clustering) < 0 { j += 1 }
            let theirs = j < replica.rows.count && replica.rows[j].clustering == row.clustering ? replica.rows[j] : nil
            guard let theirs else {
                out.rows.append(row)
                continue
            }
            var missing = Row(clustering: row.clustering, cells: [])
            if row.deletion.supersedes(theirs.deletion) { missing.deletion = row.deletion }
            var k = 0
            for cell in row.cells {
                while k < theirs.cells.count && compareBytes(theirs.cells[k].column, cell.column) < 0 { k += 1 }
                let same = k < theirs.cells.count && theirs.cells[k].column == cell.column
                if !same || cell.wins(over: theirs.cells[k]) { missing.cells.append(cell) }
            }
            if !missing.deletion.isLive || !missing.cells.isEmpty { out.rows.append(missing) }
        }
        return out.isEmpty ? nil : out
    }
}

extension PartitionCodec {
    /// A sort key for range tombstones (digests must not depend on their order).
    static func boundKey(_ rt: RangeTombstone) -> [UInt8] {
        var w = ByteWriter()
        encode(rt, base: 0, into: &w)
        return w.bytes
    }
}
