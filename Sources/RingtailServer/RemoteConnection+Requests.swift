// Requests every client of a node makes the same way, shared by the CLI,
// the typed NetworkClient and the fault suite: the cluster schema as the
// node knows it, and the rows of a read in the order it asked for.
import Foundation
import RingtailCore
import RingtailStorage
import RingtailWire
import RingtailCluster

extension RemoteConnection {
    /// The cluster schema as the node knows it (the `schema` operator command).
    public func schema(timeout: Duration = .seconds(30)) async throws -> ClusterSchema {
        guard case .document(let json) = try await request(.admin(command: "schema", argument: ""), timeout: timeout) else {
            throw ConnectionError("\(endpoint) did not answer the schema request with a document")
        }
        let report = try JSONDecoder().decode(SchemaReport.self, from: Data(json))
        guard let bytes = Data(base64Encoded: report.encoded) else {
            throw ConnectionError("\(endpoint) sent a schema that is not base64")
        }
        return try ClusterSchema(decoding: Array(bytes))
    }

    /// The rows a read answers, in the order it asked for: the node applies
    /// the order and the limit, but a partition's encoding keeps rows in
    /// clustering order. A refusal is thrown as the node's `RequestError`.
    public func rows(_ read: ClientRead, timeout: Duration = .seconds(30)) async throws -> [Row] {
        switch try await request(.read(read), timeout: timeout) {
        case .rows(nil):
            return []
        case .rows(let bytes?):
            let rows = try PartitionUpdate(decoding: bytes).rows
            return read.descending ? rows.reversed() : rows
        case .error(let e):
            throw e.requestError
        default:
            throw ConnectionError("\(endpoint) answered a read with something other than rows")
        }
    }
}
