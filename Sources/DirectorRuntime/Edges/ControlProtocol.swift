import DirectorTable

/// One request on the control socket (DESIGN §5), parsed from a JSON line such as
/// `{"op":"restart","ids":["web/api/1"]}` or `{"op":"scale","job":"web/api","instances":8}`.
///
/// `ids` are child ids or id prefixes (`web/api` means every instance); the supervisor resolves
/// them.
package enum ControlRequest: Sendable, Hashable {
    /// Stop children (they stay in the table).
    case stop(ids: [String])
    /// Start children that are not running; a group given up by the root starts again.
    case start(ids: [String])
    /// Restart children.
    case restart(ids: [String])
    /// Restart children one instance at a time per job (`"rolling": true`).
    case rollingRestart(ids: [String])
    /// Delete stopped or waiting children.
    case delete(ids: [String])
    /// Resize a pool: `group/job` and the new size (≥ 0).
    case scale(job: String, instances: Int)
    /// Re-read the jobs directory.
    case reload
    /// Stop the tree and exit.
    case shutdown

    /// Parses one request line. Malformed JSON gives `bad_json` (a key twice in one object
    /// and numbers beyond a double's range included: the reader refuses them); valid JSON
    /// that is not a request (unknown op, missing or mistyped field) gives `bad_request`.
    package static func parse(line: [UInt8]) -> Result<ControlRequest, ControlFailure> {
        let value: JSONValue
        do { value = try JSONValue.parse(bytes: line) } catch {
            return .failure(ControlFailure(.badJSON, error.description))
        }
        return parse(value)
    }

    /// Parses a request object.
    package static func parse(_ value: JSONValue) -> Result<ControlRequest, ControlFailure> {
        guard case .object = value else { return .failure(ControlFailure(.badRequest, "a request is a JSON object")) }
        guard let op = value["op"]?.stringValue else {
            return .failure(ControlFailure(.badRequest, "missing \"op\" (start, stop, restart, delete, scale, reload, shutdown)"))
        }
        switch op {
        case "start", "stop", "restart", "delete":
            guard let list = value["ids"]?.arrayValue, !list.isEmpty else {
                return .failure(ControlFailure(.badRequest, "\(op) needs \"ids\": a non-empty array of child ids"))
            }
            var ids: [String] = []
            for item in list {
                guard let id = item.stringValue, !id.isEmpty else {
                    return .failure(ControlFailure(.badRequest, "\"ids\" must hold non-empty strings"))
                }
                ids.append(id)
            }
            switch op {
            case "start": return .success(.start(ids: ids))
            case "stop": return .success(.stop(ids: ids))
            case "restart":
                switch value["rolling"] {
                case nil, .bool(false)?: return .success(.restart(ids: ids))
                case .bool(true)?: return .success(.rollingRestart(ids: ids))
                default: return .failure(ControlFailure(.badRequest, "\"rolling\" must be true or false"))
                }
            default: return .success(.delete(ids: ids))
            }
        case "scale":
            guard let job = value["job"]?.stringValue, !job.isEmpty else {
                return .failure(ControlFailure(.badRequest, "scale needs \"job\": \"group/job\""))
            }
            guard let n = value["instances"]?.intValue, n >= 0, n <= Int64(Int32.max) else {
                return .failure(ControlFailure(.badRequest, "scale needs \"instances\": an integer ≥ 0"))
            }
            return .success(.scale(job: job, instances: Int(n)))
        case "reload": return .success(.reload)
        case "shutdown": return .success(.shutdown)
        default:
            return .failure(ControlFailure(.badRequest, "unknown op \"\(op)\" (start, stop, restart, delete, scale, reload, shutdown)"))
        }
    }

    /// The request as JSON (what `ControlClient` sends).
    package var json: JSONValue {
        switch self {
        case .start(let ids): .object([("op", .string("start")), ("ids", .array(ids.map(JSONValue.string)))])
        case .stop(let ids): .object([("op", .string("stop")), ("ids", .array(ids.map(JSONValue.string)))])
        case .restart(let ids): .object([("op", .string("restart")), ("ids", .array(ids.map(JSONValue.string)))])
        case .rollingRestart(let ids):
            .object([("op", .string("restart")), ("ids", .array(ids.map(JSONValue.string))), ("rolling", .bool(true))])
        case .delete(let ids): .object([("op", .string("delete")), ("ids", .array(ids.map(JSONValue.string)))])
        case .scale(let job, let n): .object([("op", .string("scale")), ("job", .string(job)), ("instances", .int(Int64(n)))])
        case .reload: .object([("op", .string("reload"))])
        case .shutdown: .object([("op", .string("shutdown"))])
        }
    }
}

/// A refused request: a stable code and a message for people.
package struct ControlFailure: Error, Sendable, Hashable, CustomStringConvertible {
    /// A stable error code, sent as `error.code`.
    package struct Code: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
        /// The code's text.
        package var rawValue: String
        /// Creates a code (the engine's codes such as `not_found` pass through as is).
        package init(rawValue: String) { self.rawValue = rawValue }
        /// The text.
        package var description: String { rawValue }

        /// The line is not valid JSON.
        package static let badJSON = Code(rawValue: "bad_json")
        /// Valid JSON, but not a valid request.
        package static let badRequest = Code(rawValue: "bad_request")
        /// The line exceeds the maximum length; the connection is closed.
        package static let lineTooLong = Code(rawValue: "line_too_long")
        /// No such child or job.
        package static let notFound = Code(rawValue: "not_found")
        /// The daemon is stopping.
        package static let shuttingDown = Code(rawValue: "shutting_down")
        /// The request would make more children in all than `director run --max-children`.
        package static let tooManyChildren = Code(rawValue: "too_many_children")
        /// The daemon cannot take another client now (every slot busy, or no file descriptor
        /// to spare); the connection is closed after this reply.
        package static let busy = Code(rawValue: "busy")
    }

    /// The code.
    package var code: Code
    /// For people.
    package var message: String

    /// Creates a failure.
    package init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// `code: message`.
    package var description: String { "\(code): \(message)" }
}

/// The answer to one request: `{"ok":true,"result":...}` or
/// `{"ok":false,"error":{"code":"...","message":"..."}}`.
package enum ControlReply: Sendable, Hashable {
    /// Done, with a result (e.g. the affected ids).
    case ok(JSONValue)
    /// Refused.
    case failure(ControlFailure)

    /// The reply as one JSON line, without the newline.
    package func serialized() -> String {
        switch self {
        case .ok(let result):
            JSONValue.object([("ok", .bool(true)), ("result", result)]).serialized()
        case .failure(let f):
            JSONValue.object([
                ("ok", .bool(false)),
                ("error", .object([("code", .string(f.code.rawValue)), ("message", .string(f.message))])),
            ]).serialized()
        }
    }

    /// Parses a reply line (the client side).
    package static func parse(line: String) -> ControlReply? {
        guard let value = try? JSONValue.parse(line), let ok = value["ok"]?.boolValue else { return nil }
        if ok { return .ok(value["result"] ?? .null) }
        guard let code = value["error"]?["code"]?.stringValue else { return nil }
        let message = value["error"]?["message"]?.stringValue ?? ""
        return .failure(ControlFailure(ControlFailure.Code(rawValue: code), message))
    }
}
