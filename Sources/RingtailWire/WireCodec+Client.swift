// Bodies of client requests and responses, in the grammar of
// docs/formats/wire.md (client traffic).
import RingtailCore

extension WireCodec {
    static func encodeClientRequest(_ m: ClientRequest, _ w: inout ByteWriter) {
        w.writeVarint(m.id)
        switch m.operation {
        case .write(let table, let update, let consistency):
            w.writeUInt8(0)
            writeString(table, &w)
            writeString(consistency, &w)
            w.writeLengthPrefixed(update)
        case .read(let read):
            w.writeUInt8(1)
            writeString(read.table, &w)
            writeString(read.consistency, &w)
            w.writeLengthPrefixed(read.key)
            writeBound(read.lower, &w)
            writeBound(read.upper, &w)
            w.writeVarint(read.limit)
            w.writeUInt8(read.descending ? 1 : 0)
        case .createKeyspace(let bytes):
            w.writeUInt8(2)
            w.writeLengthPrefixed(bytes)
        case .createTable(let bytes):
            w.writeUInt8(3)
            w.writeLengthPrefixed(bytes)
        case .dropKeyspace(let name):
            w.writeUInt8(4)
            writeString(name, &w)
        case .dropTable(let name):
            w.writeUInt8(5)
            writeString(name, &w)
        case .admin(let command, let argument):
            w.writeUInt8(6)
            writeString(command, &w)
            writeString(argument, &w)
        case .log(let bytes):
            w.writeUInt8(7)
            w.writeLengthPrefixed(bytes)
        }
    }

    static func decodeClientRequest(_ r: inout ByteReader, _ limits: Limits) throws -> ClientRequest {
        let id = try r.readVarint()
        let at = r.offset
        let operation: ClientOperation
        switch try r.readUInt8() {
        case 0:
            let table = try readString(&r, limits)
            let consistency = try readString(&r, limits)
            operation = .write(table: table, update: try r.readLengthPrefixed(limit: limits.frameBytesMax), consistency: consistency)
        case 1:
            let table = try readString(&r, limits)
            let consistency = try readString(&r, limits)
            let key = try r.readLengthPrefixed(limit: limits.frameBytesMax)
            let lower = try readBound(&r)
            let upper = try readBound(&r)
            let limit = try r.readVarint()
            let descending = try readFlag(&r, "descending flag")
            operation = .read(ClientRead(table: table, key: key, lower: lower, upper: upper, limit: limit,
                                         descending: descending, consistency: consistency))
        case 2: operation = .createKeyspace(try r.readLengthPrefixed(limit: limits.frameBytesMax))
        case 3: operation = .createTable(try r.readLengthPrefixed(limit: limits.frameBytesMax))
        case 4: operation = .dropKeyspace(try readString(&r, limits))
        case 5: operation = .dropTable(try readString(&r, limits))
        case 6:
            let command = try readString(&r, limits)
            operation = .admin(command: command, argument: try readString(&r, limits))
        case 7: operation = .log(try r.readLengthPrefixed(limit: limits.frameBytesMax))
        case let tag: throw DecodeError.unknownTag(offset: at, tag: tag, what: "client operation")
        }
        return ClientRequest(id: id, operation: operation)
    }

    static func encodeClientResponse(_ m: ClientResponse, _ w: inout ByteWriter) {
        w.writeVarint(m.id)
        switch m.reply {
        case .ok:
            w.writeUInt8(0)
        case .rows(nil):
            w.writeUInt8(1)
        case .rows(let bytes?):
            w.writeUInt8(2)
            w.writeLengthPrefixed(bytes)
        case .error(let e):
            w.writeUInt8(3)
            w.writeUInt8(e.kind)
            writeString(e.consistency, &w)
            w.writeVarint(e.numbers.count)
            for n in e.numbers { w.writeSignedVarint(n) }
            w.writeUInt8(e.isWrite ? 1 : 0)
            writeString(e.message, &w)
        case .document(let bytes):
            w.writeUInt8(4)
            w.writeLengthPrefixed(bytes)
        case .log(let bytes):
            w.writeUInt8(5)
            w.writeLengthPrefixed(bytes)
        }
    }

    static func decodeClientResponse(_ r: inout ByteReader, _ limits: Limits) throws -> ClientResponse {
        let id = try r.readVarint()
        let at = r.offset
        let reply: ClientReply
        switch try r.readUInt8() {
        case 0: reply = .ok
        case 1: reply = .rows(nil)
        case 2: reply = .rows(try r.readLengthPrefixed(limit: limits.frameBytesMax))
        case 3:
            let kind = try r.readUInt8()
            let consistency = try readString(&r, limits)
            var numbers: [Int64] = []
            for _ in 0..<(try r.readLength(limit: 16)) { numbers.append(try r.readSignedVarint()) }
            let isWrite = try readFlag(&r, "write flag")
            reply = .error(WireRequestError(kind: kind, consistency: consistency, numbers: numbers, isWrite: isWrite,
                                            message: try readString(&r, limits)))
        case 4: reply = .document(try r.readLengthPrefixed(limit: limits.frameBytesMax))
        case 5: reply = .log(try r.readLengthPrefixed(limit: limits.frameBytesMax))
        case let tag: throw DecodeError.unknownTag(offset: at, tag: tag, what: "client reply")
        }
        return ClientResponse(id: id, reply: reply)
    }
}
