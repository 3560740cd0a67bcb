// A node as a replica: applies mutations (client writes, read repairs,
// delivered hints) and serves slices of a partition, whole or as a digest.
import RingtailCore
import RingtailStorage
import RingtailWire
import RingtailCluster

extension ClusterNode {
    /// The local id of a table, read in place from its route (not copied out).
    func tableID(_ qualifiedName: String) -> TableID? {
        routes.index(forKey: qualifiedName).map { routes.values[$0].id }
    }

    func applyReplicaMutation(_ m: MutationMessage) -> MutationResponse {
        guard let table = tableID(m.table) else {
            statistics.mutationsFailed += 1
            return MutationResponse(id: m.id, failure: "unknown table \(m.table) on \(id)")
        }
        do {
            let update = try PartitionUpdate(decoding: m.update, limits: engine.options.limits)
            try engine.apply(Mutation(table: table, update: update))
        } catch {
            statistics.mutationsFailed += 1
            return MutationResponse(id: m.id, failure: "\(id): \(error.description)")
        }
        statistics.mutationsApplied += 1
        if m.hintCreatedAtMicros != nil { statistics.hintsReceived += 1 }
        return MutationResponse(id: m.id)
    }

    func serveRead(_ r: ReadRequest) -> ReadResponse {
        guard let table = tableID(r.table) else {
            return ReadResponse(id: r.id, payload: .failed("unknown table \(r.table) on \(id)"))
        }
        let slice = ClusteringRange(wireLower: r.lower, upper: r.upper)
        let data: PartitionUpdate?
        do {
            data = try engine.readRaw(table, key: r.key).map { $0.sliced(slice) }.flatMap { $0.isEmpty ? nil : $0 }
        } catch {
            return ReadResponse(id: r.id, payload: .failed("\(id): \(error.description)"))
        }
        statistics.readsServed += 1
        if r.digestOnly {
            return ReadResponse(id: r.id, payload: .digest((data ?? PartitionUpdate(key: r.key)).digest))
        }
        return ReadResponse(id: r.id, payload: .data(data?.encoded()))
    }

    /// Everything this replica holds for a partition (tombstones included),
    /// read directly from its storage: for checkers and operators.
    public func localPartition(table qualifiedName: String, key: [UInt8]) throws(StorageError) -> PartitionUpdate? {
        guard let table = tableID(qualifiedName) else {
            throw StorageError(code: .unknownTable, message: "no table \(qualifiedName) on \(id)")
        }
        return try engine.readRaw(table, key: key)
    }
}
