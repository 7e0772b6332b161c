import DirectorTable

/// An operator command for one node, carried through `director_commands` (DESIGN §9):
/// `director restart ID --cluster URL --node NAME` inserts it, the owning node's mirror takes
/// it and carries it out through its own supervisor, and answers in `result`.
public struct ClusterCommand: Sendable, Hashable {
    /// The row's sequence number.
    public var seq: Int64
    /// `start`, `stop` or `restart`.
    public var op: String
    /// The child ids or prefixes, as the control socket takes them.
    public var ids: [String]

    /// A command.
    public init(seq: Int64, op: String, ids: [String]) {
        self.seq = seq
        self.op = op
        self.ids = ids
    }

    /// The ops a node carries out.
    public static let ops: Set<String> = ["start", "stop", "restart"]

    /// `op` as stored: `{"op": …, "ids": […]}`.
    public var opJSON: JSONValue { .object([("op", .string(op)), ("ids", .array(ids.map(JSONValue.string)))]) }

    /// Reads a stored `op`.
    init(seq: Int64, json: JSONValue) {
        self.init(seq: seq, op: json["op"]?.stringValue ?? "", ids: (json["ids"]?.arrayValue ?? []).compactMap(\.stringValue))
    }

    /// What a node answers, stored in `result` with the control socket's shape:
    /// `{"ok": true, "result": […]}` or `{"ok": false, "error": {"code", "message"}}`.
    public struct Outcome: Sendable, Hashable {
        /// True when the command was carried out.
        public var ok: Bool
        /// The ids it concerned (when ok).
        public var ids: [String]
        /// The error's code (when not ok), e.g. `not_found`.
        public var code: String?
        /// The error's message (when not ok).
        public var message: String?

        /// Carried out, for these ids.
        public static func done(_ ids: [String]) -> Outcome { Outcome(ok: true, ids: ids, code: nil, message: nil) }
        /// Refused or failed.
        public static func failed(_ code: String, _ message: String) -> Outcome { Outcome(ok: false, ids: [], code: code, message: message) }

        /// The stored form.
        public var json: JSONValue {
            if ok { return .object([("ok", .bool(true)), ("result", .array(ids.map(JSONValue.string)))]) }
            return .object([("ok", .bool(false)), ("error", .object([("code", .string(code ?? "error")), ("message", .string(message ?? ""))]))])
        }

        /// Reads a stored `result`.
        public init(json: JSONValue) {
            ok = json["ok"]?.boolValue ?? false
            ids = (json["result"]?.arrayValue ?? []).compactMap(\.stringValue)
            code = json["error"]?["code"]?.stringValue
            message = json["error"]?["message"]?.stringValue
        }

        init(ok: Bool, ids: [String], code: String?, message: String?) {
            self.ok = ok
            self.ids = ids
            self.code = code
            self.message = message
        }
    }
}
