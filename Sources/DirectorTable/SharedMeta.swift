// The parts of `meta` that daemons sharing one table (DESIGN §4.1) each own a piece of:
// `meta.nodes` (one member per node) and `meta.decisions` (the entries under each node's
// groups). A daemon's writes are computed from the value stored at commit time, inside the
// write transaction, so two daemons committing one after the other both keep their part.

/// `meta["nodes"][NAME]`: one daemon writing a shared table, and how to reach it.
public struct NodeInfo: Sendable, Hashable {
    /// The node's name (`director run --node`, default the host name).
    public var node: String
    /// The daemon's process id.
    public var pid: Int32
    /// Its state directory (lock, control socket, logs): the node is live while a process
    /// holds `<state_directory>/director.lock`.
    public var stateDirectory: String
    /// Its control socket (`<state_directory>/control.sock`).
    public var socket: String
    /// When it started.
    public var startedAt: UnixMillis
    /// Its jobs directory ("" for a tree built in code).
    public var jobs: String
    /// Director's version.
    public var version: String

    /// Creates the record.
    public init(node: String, pid: Int32, stateDirectory: String, socket: String, startedAt: UnixMillis, jobs: String, version: String) {
        self.node = node
        self.pid = pid
        self.stateDirectory = stateDirectory
        self.socket = socket
        self.startedAt = startedAt
        self.jobs = jobs
        self.version = version
    }

    /// `{pid, state_directory, socket, started_at, jobs, version}` (the name is the key).
    public var json: JSONValue {
        .object([
            ("pid", .int(Int64(pid))), ("state_directory", .string(stateDirectory)), ("socket", .string(socket)),
            ("started_at", .string(RFC3339.format(startedAt))), ("jobs", .string(jobs)), ("version", .string(version)),
        ])
    }

    /// Decodes the member `node` of `meta.nodes`; the error names the offending field.
    public init(node: String, json: JSONValue) throws(TableError) {
        let f = try RecordFields(json, record: "meta.nodes.\(node)")
        self.node = node
        pid = try f.int32("pid")
        stateDirectory = try f.string("state_directory")
        socket = try f.string("socket")
        startedAt = try f.time("started_at")
        jobs = try f.string("jobs")
        version = try f.string("version")
    }

    /// Every node of a stored `meta.nodes` (nil: none), in name order; malformed members are
    /// skipped, so one bad member never hides the others.
    public static func all(_ value: JSONValue?) -> [NodeInfo] {
        guard case .object(let members)? = value else { return [] }
        return members.compactMap { try? NodeInfo(node: $0.0, json: $0.1) }.sorted { TableKey.precedes($0.node, $1.node) }
    }
}

/// A change to part of a `meta` value (`TableChange.mergeMeta`), applied to the value stored
/// when the change commits.
public enum MetaMerge: Sendable, Hashable {
    /// Sets one node's member of `meta.nodes`, keeping the others.
    case node(NodeInfo)
    /// Replaces the decisions under `groups` (top-level or nested group paths, on whole
    /// segments) with `decisions`, keeping the entries of every other group (another node's).
    case decisions(OperatorDecisions, groups: [String])

    /// What to store, given the stored value (nil when absent).
    public func applied(to stored: JSONValue?) -> JSONValue {
        switch self {
        case .node(let info):
            var members: [(String, JSONValue)] = []
            if case .object(let old)? = stored { members = old.filter { $0.0 != info.node } }
            members.append((info.node, info.json))
            members.sort { TableKey.precedes($0.0, $1.0) }
            return .object(members)
        case .decisions(let mine, let groups):
            let owned = groups.map { TableKey.normalizedPrefix($0) }
            func isMine(_ key: String) -> Bool { owned.contains { TableKey.id(key, isUnder: $0) } }
            var merged = stored.map(OperatorDecisions.init(json:)) ?? OperatorDecisions()
            // Entries of `mine` outside `groups` are not this node's to write.
            merged.stopped = merged.stopped.filter { !isMine($0.key) }.merging(mine.stopped.filter { isMine($0.key) }) { $1 }
            merged.waiting = merged.waiting.filter { !isMine($0.key) }.merging(mine.waiting.filter { isMine($0.key) }) { $1 }
            merged.scaled = merged.scaled.filter { !isMine($0.key) }.merging(mine.scaled.filter { isMine($0.key) }) { $1 }
            return merged.json
        }
    }
}
