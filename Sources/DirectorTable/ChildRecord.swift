/// One row of the `children` database: what a supervised child is doing right now.
public struct ChildRecord: Sendable, Hashable {
    /// The lifecycle state; the same vocabulary as the engine's.
    public enum State: String, Sendable, Hashable, CaseIterable {
        /// Spawned, not yet confirmed running.
        case starting
        /// Running.
        case running
        /// Asked to stop; waiting for the exit.
        case stopping
        /// Exited; a restart is scheduled at `nextRestartAt`.
        case backoff
        /// Exited; stays until an operator restarts it.
        case waiting
        /// Not running and not scheduled.
        case stopped
    }

    /// How the child's last process ended.
    public enum ExitReason: Sendable, Hashable, CustomStringConvertible {
        /// `exit(code)`.
        case code(Int32)
        /// Killed by a signal, named without the `SIG` prefix (`KILL`, `SEGV`).
        case signal(String)

        /// `code=1` or `signal=KILL`.
        public var description: String {
            switch self {
            case .code(let c): "code=\(c)"
            case .signal(let s): "signal=\(s)"
            }
        }
    }

    /// Why the last process ended: the words of `on_exit`'s `when: {cause: [...]}` (DESIGN
    /// §4, v2). Open-ended rather than an enum: a reader of a table a newer daemon wrote keeps
    /// a word it does not know instead of failing on the whole row.
    public struct ExitCause: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
        /// The word as stored (`exit`, `watchdog`, ...).
        public let rawValue: String
        /// A cause from its stored word.
        public init(rawValue: String) { self.rawValue = rawValue }
        /// `rawValue`.
        public var description: String { rawValue }

        /// It exited with a code, on its own.
        public static let exit = ExitCause(rawValue: "exit")
        /// It was killed by a signal (an operator's stop, a strategy, a crash, `kill`).
        public static let signal = ExitCause(rawValue: "signal")
        /// It never ran: the spawn failed, recorded as code 127.
        public static let spawnFailed = ExitCause(rawValue: "spawn_failed")
        /// Director stopped it: not ready within its `ready.timeout`.
        public static let readyTimeout = ExitCause(rawValue: "ready_timeout")
        /// Director stopped it after `health.failures` failed health checks in a row.
        public static let unhealthy = ExitCause(rawValue: "unhealthy")
        /// Director sent SIGABRT: no `WATCHDOG=1` within its `watchdog` interval.
        public static let watchdog = ExitCause(rawValue: "watchdog")
        /// The kernel's OOM killer killed a process in the child's cgroup.
        public static let oom = ExitCause(rawValue: "oom")

        /// `exit` or `signal`: the code or signal alone says it all.
        public var isPlain: Bool { self == .exit || self == .signal }
    }

    /// The last exit, when it happened and why.
    public struct LastExit: Sendable, Hashable {
        /// How it ended.
        public var reason: ExitReason
        /// When.
        public var at: UnixMillis
        /// Why; the daemon always writes it, nil in a row an older daemon wrote.
        public var cause: ExitCause?

        /// Creates a last-exit value.
        public init(_ reason: ExitReason, at: UnixMillis, cause: ExitCause? = nil) {
            self.reason = reason
            self.at = at
            self.cause = cause
        }
    }

    /// `group/job/instance`, also the key.
    public var id: String
    /// The group path (`web`, `web/cache`).
    public var group: String
    /// The job name.
    public var job: String
    /// The instance number.
    public var instance: Int
    /// The lifecycle state.
    public var state: State
    /// The live process id, or nil.
    public var pid: Int32?
    /// The process group id (the child leads its own group), or nil.
    public var pgid: Int32?
    /// The process start time in clock ticks since boot (`/proc/PID/stat` field 22), which
    /// proves after a daemon crash that `pid` is still the same process.
    public var startTicks: UInt64?
    /// When the current process started.
    public var startedAt: UnixMillis?
    /// The restart count.
    public var restarts: Int
    /// How the previous process ended.
    public var lastExit: LastExit?
    /// When a scheduled restart is due (state `backoff`).
    public var nextRestartAt: UnixMillis?
    /// The job spec's stable hash (16 hex digits).
    public var specHash: String
    /// When this row was last written.
    public var updatedAt: UnixMillis
    /// The daemon (node) that supervises this child, on a table several daemons share
    /// (DESIGN §4.1); nil in tables written before nodes existed, and stored only when set.
    public var node: String?
    /// The current process is ready (DESIGN §2 `ready:`; a child without `ready:` is ready
    /// once running); nil in tables written before readiness was recorded.
    public var ready: Bool? = nil
    /// The last `STATUS=` the child sent over sd_notify, or nil.
    public var status: String? = nil

    /// Creates a record.
    public init(
        id: String, group: String, job: String, instance: Int, state: State, pid: Int32? = nil, pgid: Int32? = nil,
        startTicks: UInt64? = nil, startedAt: UnixMillis? = nil, restarts: Int = 0, lastExit: LastExit? = nil,
        nextRestartAt: UnixMillis? = nil, specHash: String = "", updatedAt: UnixMillis, node: String? = nil,
        ready: Bool? = nil, status: String? = nil
    ) {
        self.ready = ready
        self.status = status
        self.id = id
        self.group = group
        self.job = job
        self.instance = instance
        self.state = state
        self.pid = pid
        self.pgid = pgid
        self.startTicks = startTicks
        self.startedAt = startedAt
        self.restarts = restarts
        self.lastExit = lastExit
        self.nextRestartAt = nextRestartAt
        self.specHash = specHash
        self.updatedAt = updatedAt
        self.node = node
    }

    /// The record as the table stores it, fields in documented order.
    public var json: JSONValue {
        var fields: [(String, JSONValue)] = [
            ("id", .string(id)),
            ("group", .string(group)),
            ("job", .string(job)),
            ("instance", .int(Int64(instance))),
            ("state", .string(state.rawValue)),
            ("pid", pid.jsonInt),
            ("pgid", pgid.jsonInt),
            ("start_ticks", startTicks.map { .int(Int64(clamping: $0)) } ?? .null),
            ("started_at", startedAt.jsonTime),
            ("restarts", .int(Int64(restarts))),
            ("last_exit", lastExit?.json ?? .null),
            ("next_restart_at", nextRestartAt.jsonTime),
            ("spec_hash", .string(specHash)),
            ("updated_at", .string(RFC3339.format(updatedAt))),
        ]
        // An addition: absent unless set, so a table without nodes reads as it always did.
        if let node { fields.append(("node", .string(node))) }
        // Additions too, present only when known, so older rows and readers are unchanged.
        if let ready { fields.append(("ready", .bool(ready))) }
        if let status { fields.append(("status", .string(status))) }
        return .object(fields)
    }

    /// Decodes a stored record; the error names the offending field.
    public init(json: JSONValue) throws(TableError) {
        let f = try RecordFields(json, record: "child")
        id = try f.string("id")
        group = try f.string("group")
        job = try f.string("job")
        guard let n = Int(exactly: try f.int("instance")), n >= 0 else { throw f.fail("instance", "must be ≥ 0") }
        instance = n
        state = try f.enumeration("state", State.self)
        pid = try f.optionalInt32("pid")
        pgid = try f.optionalInt32("pgid")
        if let t = try f.optionalInt("start_ticks") {
            guard t >= 0 else { throw f.fail("start_ticks", "must be ≥ 0") }
            startTicks = UInt64(t)
        } else {
            startTicks = nil
        }
        startedAt = try f.optionalTime("started_at")
        guard let r = Int(exactly: try f.int("restarts")), r >= 0 else { throw f.fail("restarts", "must be ≥ 0") }
        restarts = r
        let exit = try f.value("last_exit")
        lastExit = exit.isNull ? nil : try LastExit(json: exit)
        nextRestartAt = try f.optionalTime("next_restart_at")
        specHash = try f.string("spec_hash")
        updatedAt = try f.time("updated_at")
        node = try f.optionalString("node")
        ready = try f.optionalBool("ready")
        status = try f.optionalString("status")
    }
}

extension ChildRecord.LastExit {
    /// `{"code":1,"at":...,"cause":"unhealthy"}` or `{"signal":"KILL","at":...,"cause":"signal"}`;
    /// `cause` last (DESIGN §4: `{code}` or `{signal}` plus `at`, v2 plus `cause`), and only
    /// when known.
    public var json: JSONValue {
        var fields: [(String, JSONValue)]
        switch reason {
        case .code(let c): fields = [("code", .int(Int64(c)))]
        case .signal(let s): fields = [("signal", .string(s))]
        }
        fields.append(("at", .string(RFC3339.format(at))))
        if let cause { fields.append(("cause", .string(cause.rawValue))) }
        return .object(fields)
    }

    /// Decodes `{code, at}` or `{signal, at}`, with `cause` when present.
    public init(json: JSONValue) throws(TableError) {
        let f = try RecordFields(json, record: "child.last_exit")
        switch (f.optionalValue("code"), f.optionalValue("signal")) {
        case (.some, nil): reason = .code(try f.int32("code"))
        case (nil, .some): reason = .signal(try f.string("signal"))
        default: throw f.fail("code", "exactly one of 'code' or 'signal' is required")
        }
        at = try f.time("at")
        switch try f.optionalString("cause") {
        case nil: cause = nil
        case let word? where !word.isEmpty: cause = ChildRecord.ExitCause(rawValue: word)
        default: throw f.fail("cause", "expected a non-empty string")
        }
    }

    /// The LAST EXIT cell of `director ps` without its age: `code=1`, `signal=KILL`, and the
    /// cause after it when it says more than that (`signal=ABRT (watchdog)`,
    /// `code=127 (spawn_failed)`).
    public var summary: String {
        guard let cause, !cause.isPlain else { return reason.description }
        return "\(reason) (\(cause))"
    }
}
