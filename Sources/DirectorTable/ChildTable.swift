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
    /// Change part of a `meta` value, read and written inside the commit, so that daemons
    /// sharing a table never overwrite one another's part (DESIGN §4.1): `merge.applied(to:)`
    /// of the stored value (nil when absent) is stored.
    case mergeMeta(MetaKey, MetaMerge)

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
/// Any other storage can be plugged in by conforming to this protocol (docs/table.md,
/// "Writing a table backend"); `DirectorTableTesting.ChildTableConformance` checks it.
///
/// It refines `ChildTableReader` (whose guarantees hold here too) with the one write,
/// `apply(_:)`, and the two reads only the writer needs. Writes go through `apply(_:)`, all
/// or nothing. Reads see the last committed state.
public protocol ChildTable: ChildTableReader {
    /// How many events are kept; older ones are dropped in the same commit that appends.
    var eventCapacity: Int { get }

    /// Commits `changes` atomically and in order. Returns the sequence numbers given to the
    /// `.appendEvent` changes, in order. On error nothing is written.
    ///
    /// An implementation must:
    /// - check every key first (`TableKey.validate(_:)`: 1–511 bytes, a spec is a JSON
    ///   object) and reject the whole batch on a bad one;
    /// - apply the changes in order (an upsert then a delete of one row leaves no row);
    /// - number appended events `lastEventSeq() + 1, + 2, ...`, never reusing a number, also
    ///   after trimming or reopening;
    /// - keep only the newest `eventCapacity` events once the batch is applied;
    /// - make the whole batch visible to readers at once, or none of it on error.
    @discardableResult
    func apply(_ changes: [TableChange]) throws(TableError) -> [UInt64]

    /// The child whose live process has this pid (the runtime's lookup on every exit).
    func child(pid: Int32) throws(TableError) -> ChildRecord?
    /// The number of children.
    func childCount() throws(TableError) -> Int
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
}

/// The rules for keys, shared by every table so they behave alike. Public for backends
/// written outside this package: they must reject, order and match keys exactly as the
/// built-in tables do, and the conformance suite checks that they do.
public enum TableKey {
    /// The most bytes a key may have (LMDB's default maximum key size; every table keeps the
    /// same limit so that a batch accepted by one is accepted by all).
    public static let maxBytes = 511

    /// Throws `.invalidKey` unless `key` has 1–`maxBytes` UTF-8 bytes; `what` names the kind
    /// of key in the message.
    static func validate(_ key: String, _ what: String) throws(TableError) {
        let n = key.utf8.count
        guard n > 0, n <= maxBytes else {
            throw TableError(.invalidKey, "\(what) key must be 1–\(maxBytes) bytes, got \(n): \"\(key.prefix(40))\"")
        }
    }

    /// Checks every key of a batch before anything is written: `.invalidKey` for an empty or
    /// too long key, `.invalidRecord` for a spec that is not a JSON object. A table that
    /// calls this first can then apply the batch knowing nothing in it will be rejected.
    public static func validate(_ changes: [TableChange]) throws(TableError) {
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
            case .appendEvent, .setMeta, .mergeMeta: break
            }
        }
    }

    /// `prefix` without trailing slashes; empty means everything.
    public static func normalizedPrefix(_ prefix: String?) -> String {
        var p = Substring(prefix ?? "")
        while p.hasSuffix("/") { p = p.dropLast() }
        return String(p)
    }

    /// True when `id` is `prefix` or lies under it on whole segments (`web/api` takes
    /// `web/api/0`, not `web/apix/0`). `prefix` must come from `normalizedPrefix(_:)`.
    public static func id(_ id: String, isUnder prefix: String) -> Bool {
        if prefix.isEmpty { return true }
        guard id.utf8.starts(with: prefix.utf8) else { return false }
        let rest = id.utf8.dropFirst(prefix.utf8.count)
        return rest.isEmpty || rest.first == UInt8(ascii: "/")
    }

    /// The order of keys in every list: UTF-8 bytes, a shorter key before its extensions
    /// (LMDB's default order).
    public static func precedes(_ a: String, _ b: String) -> Bool {
        a.utf8.lexicographicallyPrecedes(b.utf8)
    }
}
