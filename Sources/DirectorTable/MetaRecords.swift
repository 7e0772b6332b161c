/// The keys of the `meta` database.
public enum MetaKey: String, Sendable, Hashable, CaseIterable {
    /// The table format version, the JSON string `"1"`.
    case format
    /// The daemon that writes the table: `DaemonInfo`.
    case daemon
    /// The outcome of the last reload: `ReloadInfo`.
    case reload
    /// Operator decisions that survive a daemon restart until the job's manifest changes:
    /// `OperatorDecisions` (children stopped, pools scaled), each with the job's spec hash.
    case decisions
    /// The daemons (nodes) writing the table, DESIGN §4.1: `{NAME: NodeInfo}`, each member
    /// written only by its node (`TableChange.mergeMeta`).
    case nodes
}

/// The table format this library writes and reads.
public let tableFormatVersion = "1"

/// `meta["daemon"]`: who writes the table.
public struct DaemonInfo: Sendable, Hashable {
    /// The daemon's process id.
    public var pid: Int32
    /// When it started.
    public var startedAt: UnixMillis
    /// The jobs directory it supervises.
    public var jobs: String
    /// Director's version.
    public var version: String

    /// Creates the record.
    public init(pid: Int32, startedAt: UnixMillis, jobs: String, version: String) {
        self.pid = pid
        self.startedAt = startedAt
        self.jobs = jobs
        self.version = version
    }

    /// `{pid, started_at, jobs, version}`.
    public var json: JSONValue {
        .object([
            ("pid", .int(Int64(pid))), ("started_at", .string(RFC3339.format(startedAt))),
            ("jobs", .string(jobs)), ("version", .string(version)),
        ])
    }

    /// Decodes the record; the error names the offending field.
    public init(json: JSONValue) throws(TableError) {
        let f = try RecordFields(json, record: "meta.daemon")
        pid = try f.int32("pid")
        startedAt = try f.time("started_at")
        jobs = try f.string("jobs")
        version = try f.string("version")
    }
}

/// `meta["reload"]`: the outcome of the last reload.
public struct ReloadInfo: Sendable, Hashable {
    /// Counts reloads since the daemon started (1 is the first load).
    public var generation: Int
    /// When it happened.
    public var at: UnixMillis
    /// True when the new manifests were applied.
    public var ok: Bool
    /// Validation errors (`file:line:col: message`) when `ok` is false.
    public var errors: [String]
    /// The rolling updates this reload began (`update: rolling`), kept up to date as they
    /// go: written only when there are some, so a reload without one reads as before.
    public var rolls: [RollInfo]

    /// Creates the record.
    public init(generation: Int, at: UnixMillis, ok: Bool, errors: [String] = [], rolls: [RollInfo] = []) {
        self.generation = generation
        self.at = at
        self.ok = ok
        self.errors = errors
        self.rolls = rolls
    }

    /// `{generation, at, ok, errors}`, plus `rolls` when there are some.
    public var json: JSONValue {
        var members: [(String, JSONValue)] = [
            ("generation", .int(Int64(generation))), ("at", .string(RFC3339.format(at))),
            ("ok", .bool(ok)), ("errors", .array(errors.map { .string($0) })),
        ]
        if !rolls.isEmpty { members.append(("rolls", .array(rolls.map(\.json)))) }
        return .object(members)
    }

    /// Decodes the record; the error names the offending field.
    public init(json: JSONValue) throws(TableError) {
        let f = try RecordFields(json, record: "meta.reload")
        guard let g = Int(exactly: try f.int("generation")), g >= 0 else { throw f.fail("generation", "must be ≥ 0") }
        generation = g
        at = try f.time("at")
        ok = try f.bool("ok")
        guard let list = try f.value("errors").arrayValue else { throw f.fail("errors", "expected an array") }
        var out: [String] = []
        for (i, e) in list.enumerated() {
            guard let s = e.stringValue else { throw f.fail("errors[\(i)]", "expected a string") }
            out.append(s)
        }
        errors = out
        var rolls: [RollInfo] = []
        if let value = json["rolls"] {
            guard let items = value.arrayValue else { throw f.fail("rolls", "expected an array") }
            for (i, item) in items.enumerated() {
                guard let job = item["job"]?.stringValue, let state = item["state"]?.stringValue,
                    let detail = item["detail"]?.stringValue
                else { throw f.fail("rolls[\(i)]", "expected {job, state, detail} strings") }
                rolls.append(RollInfo(job: job, state: state, detail: detail))
            }
        }
        self.rolls = rolls
    }
}

/// One rolling update begun by a reload, in `meta.reload.rolls`.
public struct RollInfo: Sendable, Hashable {
    /// The job key, `group/job`.
    public var job: String
    /// `rolling`, `done` or `stopped`.
    public var state: String
    /// The last event's detail: for `stopped`, why (`new instance web/api/4 was not ready
    /// within 5000ms; 4 old instance(s) keep running`).
    public var detail: String

    /// Creates one.
    public init(job: String, state: String, detail: String) {
        self.job = job
        self.state = state
        self.detail = detail
    }

    /// `{job, state, detail}`.
    public var json: JSONValue {
        .object([("job", .string(job)), ("state", .string(state)), ("detail", .string(detail))])
    }
}
