/// One row of the `events` database: a lifecycle event, numbered by the table.
public struct EventEntry: Sendable, Hashable {
    /// The sequence number: assigned by the table, strictly increasing, never reused (also
    /// across daemon restarts). The first event is 1.
    public var seq: UInt64
    /// When it happened.
    public var at: UnixMillis
    /// What it is about: a child id, a group path, or `""` for the daemon itself.
    public var id: String
    /// `start`, `exit`, `restart`, `stop`, `delete`, `wait`, `spawn_failed`, `group_failed`,
    /// `scale`, `reload`, `shutdown` (the engine's vocabulary; kept open as a string).
    public var kind: String
    /// A short human-readable explanation (`code=1`, `pid=123`).
    public var detail: String
    /// The daemon (node) that recorded it, on a table several daemons share (DESIGN §4.1);
    /// nil in tables written before nodes existed, and stored only when set.
    public var node: String?

    /// Creates an entry.
    public init(seq: UInt64, at: UnixMillis, id: String, kind: String, detail: String, node: String? = nil) {
        self.seq = seq
        self.at = at
        self.id = id
        self.kind = kind
        self.detail = detail
        self.node = node
    }

    /// The entry as the table stores it.
    public var json: JSONValue {
        var fields: [(String, JSONValue)] = [
            ("seq", .int(Int64(clamping: seq))),
            ("at", .string(RFC3339.format(at))),
            ("id", .string(id)),
            ("kind", .string(kind)),
            ("detail", .string(detail)),
        ]
        if let node { fields.append(("node", .string(node))) }
        return .object(fields)
    }

    /// Decodes a stored entry; the error names the offending field.
    public init(json: JSONValue) throws(TableError) {
        let f = try RecordFields(json, record: "event")
        let s = try f.int("seq")
        guard s > 0 else { throw f.fail("seq", "must be > 0") }
        seq = UInt64(s)
        at = try f.time("at")
        id = try f.string("id")
        kind = try f.string("kind")
        detail = try f.string("detail")
        node = try f.optionalString("node")
    }
}

/// An event to append; the table gives it its `seq`.
public struct NewEvent: Sendable, Hashable {
    /// When it happened.
    public var at: UnixMillis
    /// A child id, a group path, or `""` for the daemon.
    public var id: String
    /// The kind (`start`, `exit`, ...).
    public var kind: String
    /// A short explanation.
    public var detail: String
    /// The daemon (node) recording it; nil on a table without nodes.
    public var node: String?

    /// Creates an event to append.
    public init(at: UnixMillis, id: String, kind: String, detail: String = "", node: String? = nil) {
        self.at = at
        self.id = id
        self.kind = kind
        self.detail = detail
        self.node = node
    }

    /// The stored entry once the table numbered it.
    public func numbered(_ seq: UInt64) -> EventEntry {
        EventEntry(seq: seq, at: at, id: id, kind: kind, detail: detail, node: node)
    }
}
