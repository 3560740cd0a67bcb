// What a client is told when a request does not succeed, with the numbers
// that explain it (Cassandra's Unavailable, Timeout and Failure answers).
import RingtailCore

/// Why a coordinator could not complete a request.
public enum RequestError: Error, Hashable, Sendable, CustomStringConvertible {
    /// Too few replicas alive (by this coordinator's failure detector) to
    /// meet the level; answered at once, nothing was sent.
    case unavailable(level: ConsistencyLevel, required: Int, alive: Int)
    /// The level was not met within the request timeout. `received`
    /// replicas answered; the write may still have been applied by some.
    case timeout(level: ConsistencyLevel, received: Int, required: Int, isWrite: Bool)
    /// Replicas answered with errors, so the level can no longer be met.
    case failure(level: ConsistencyLevel, received: Int, failures: Int, required: Int, isWrite: Bool, reason: String)
    /// The request makes no sense: unknown keyspace or table, a level the
    /// keyspace cannot use, malformed data.
    case invalidRequest(String)
    /// The coordinator went away (crashed or was stopped) before answering.
    case coordinatorLost

    public var description: String {
        switch self {
        case .unavailable(let level, let required, let alive):
            return "Unavailable: \(level) needs \(required) live replica(s), \(alive) alive"
        case .timeout(let level, let received, let required, let isWrite):
            return "\(isWrite ? "Write" : "Read") timeout at \(level): \(received) of \(required) required replica(s) answered"
        case .failure(let level, let received, let failures, let required, let isWrite, let reason):
            return "\(isWrite ? "Write" : "Read") failure at \(level): \(received) answered, \(failures) failed, \(required) required (\(reason))"
        case .invalidRequest(let message):
            return "Invalid request: \(message)"
        case .coordinatorLost:
            return "The coordinator stopped before answering"
        }
    }
}
