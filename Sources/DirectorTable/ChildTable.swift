/// One write to the table. The runtime collects the changes of one event-loop turn and
/// commits them together with `ChildTable.apply(_:)`.
public enum TableChange: Sendable, Hashable {
    /// Insert or replace a child's row (key: `record.id`).
    case upsertChild(ChildRecord)
    /// Remove a child's row; removing a missing row is fine.
    case deleteChild(id: String)
    /// Insert or replace a group's row (key: `record.key`).
    case upsertGroup(GroupRecord)
    /// Remove a group's row; removing a missing row is fine.
    case deleteGroup(path: String)
    /// Append an event; the table assigns its `seq`.
    case appendEvent(NewEvent)
    /// Set a `meta` value.
    case setMeta(MetaKey, JSONValue)
    /// Store a job's spec (an opaque JSON object) under its job key `group/job`.
    case putSpec(jobKey: String, spec: JSONValue)
    /// Remove a job's spec; removing a missing one is fine.
    case deleteSpec(jobKey: String)

    /// Sets `meta["daemon"]`.
    public static func setDaemon(_ info: DaemonInfo) -> TableChange { .setMeta(.daemon, info.json) }
    /// Sets `meta["reload"]`.
    public static func setReload(_ info: ReloadInfo) -> TableChange { .setMeta(.reload, info.json) }
}

/// OTP's `count_children`, adapted to Director.
public struct ChildCount: Sendable, Hashable {
    /// Job specs (rows of `specs`).
    public var specs: Int
    /// Children in state `running`.
    public var active: Int
    /// Groups (supervisors), the root included when the runtime stores it.
    public var supervisors: Int
    /// Children (rows of `children`), whatever their state.
    public var workers: Int

    /// Creates a count.
    public init(specs: Int, active: Int, supervisors: Int, workers: Int) {
        self.specs = specs
        self.active = active
        self.supervisors = supervisors
        self.workers = workers
    }
}

/// The table of supervised children, groups, events, metadata and job specs: Erlang
/// Director's `director_table` behaviour, adapted. `InMemoryTable` is the default for
/// embedding and tests; `LMDBTable` is what the daemon writes so other processes can read.
///
/// Writes go through `apply(_:)`, all or nothing. Reads see the last committed state.
/// Children are listed in key order (UTF-8 byte order of the id).
public protocol ChildTable: Sendable {
    /// How many events are kept; older ones are dropped in the same commit.
    var eventCapacity: Int { get }

    /// Commits `changes` atomically and in order. Returns the sequence numbers given to the
    /// `.appendEvent` changes, in order. On error nothing is written.
    @discardableResult
    func apply(_ changes: [TableChange]) throws(TableError) -> [UInt64]

    /// The child with this id.
    func child(id: String) throws(TableError) -> ChildRecord?
    /// The child whose live process has this pid.
    func child(pid: Int32) throws(TableError) -> ChildRecord?
    /// Children whose id is `prefix` or lies under it on whole path segments (`web/api`
    /// matches `web/api/0`, not `web/apix/0`); all children when `prefix` is nil or empty.
    func children(prefix: String?) throws(TableError) -> [ChildRecord]
    /// The number of children.
    func childCount() throws(TableError) -> Int
    /// Every group, in key order.
    func groups() throws(TableError) -> [GroupRecord]
    /// Events with `seq > since`, oldest first, at most `limit`.
    func events(since: UInt64, limit: Int) throws(TableError) -> [EventEntry]
    /// The highest sequence number ever assigned (0 before the first event).
    func lastEventSeq() throws(TableError) -> UInt64
    /// A `meta` value.
    func meta(_ key: MetaKey) throws(TableError) -> JSONValue?
    /// The spec stored for job key `group/job`.
    func spec(jobKey: String) throws(TableError) -> JSONValue?
    /// Every stored job key, in key order.
    func specKeys() throws(TableError) -> [String]
    /// OTP `count_children`.
    func count() throws(TableError) -> ChildCount
}

extension ChildTable {
    /// Upserts one child.
    public func upsert(_ child: ChildRecord) throws(TableError) { try apply([.upsertChild(child)]) }
    /// Deletes one child.
    public func deleteChild(id: String) throws(TableError) { try apply([.deleteChild(id: id)]) }
    /// Upserts one group.
    public func upsert(_ group: GroupRecord) throws(TableError) { try apply([.upsertGroup(group)]) }
    /// Deletes one group.
    public func deleteGroup(path: String) throws(TableError) { try apply([.deleteGroup(path: path)]) }
    /// Appends one event and returns its sequence number.
    @discardableResult
    public func append(_ event: NewEvent) throws(TableError) -> UInt64 { try apply([.appendEvent(event)])[0] }
    /// Sets one meta value.
    public func setMeta(_ key: MetaKey, _ value: JSONValue) throws(TableError) { try apply([.setMeta(key, value)]) }
    /// Stores one spec.
    public func putSpec(jobKey: String, _ spec: JSONValue) throws(TableError) { try apply([.putSpec(jobKey: jobKey, spec: spec)]) }
    /// Deletes one spec.
    public func deleteSpec(jobKey: String) throws(TableError) { try apply([.deleteSpec(jobKey: jobKey)]) }

    /// Every child.
    public func children() throws(TableError) -> [ChildRecord] { try children(prefix: nil) }
    /// Every event still kept with `seq > since`.
    public func events(since: UInt64) throws(TableError) -> [EventEntry] { try events(since: since, limit: .max) }

    /// `meta["daemon"]`, decoded.
    public func daemonInfo() throws(TableError) -> DaemonInfo? {
        guard let v = try meta(.daemon) else { return nil }
        return try DaemonInfo(json: v)
    }

    /// `meta["reload"]`, decoded.
    public func reloadInfo() throws(TableError) -> ReloadInfo? {
        guard let v = try meta(.reload) else { return nil }
        return try ReloadInfo(json: v)
    }
}

/// The rules for keys, shared by every table so they behave alike.
enum TableKey {
    /// LMDB's default maximum key size.
    static let maxBytes = 511

    static func validate(_ key: String, _ what: String) throws(TableError) {
        let n = key.utf8.count
        guard n > 0, n <= maxBytes else {
            throw TableError(.invalidKey, "\(what) key must be 1–\(maxBytes) bytes, got \(n): \"\(key.prefix(40))\"")
        }
    }

    /// Checks every key of a batch before anything is written.
    static func validate(_ changes: [TableChange]) throws(TableError) {
        for change in changes {
            switch change {
            case .upsertChild(let c): try validate(c.id, "child")
            case .deleteChild(let id): try validate(id, "child")
            case .upsertGroup(let g): try validate(g.key, "group")
            case .deleteGroup(let p): try validate(p.isEmpty ? GroupRecord.rootKey : p, "group")
            case .putSpec(let k, let spec):
                try validate(k, "spec")
                guard case .object = spec else { throw TableError(.invalidRecord, "spec \(k): expected a JSON object") }
            case .deleteSpec(let k): try validate(k, "spec")
            case .appendEvent, .setMeta: break
            }
        }
    }

    /// `prefix` without trailing slashes; empty means everything.
    static func normalizedPrefix(_ prefix: String?) -> String {
        var p = Substring(prefix ?? "")
        while p.hasSuffix("/") { p = p.dropLast() }
        return String(p)
    }

    /// True when `id` is `prefix` or lies under it on whole segments.
    static func id(_ id: String, isUnder prefix: String) -> Bool {
        if prefix.isEmpty { return true }
        guard id.utf8.starts(with: prefix.utf8) else { return false }
        let rest = id.utf8.dropFirst(prefix.utf8.count)
        return rest.isEmpty || rest.first == UInt8(ascii: "/")
    }

    /// LMDB's default key order: bytes, then length.
    static func precedes(_ a: String, _ b: String) -> Bool {
        a.utf8.lexicographicallyPrecedes(b.utf8)
    }
}
