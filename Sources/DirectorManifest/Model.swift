// The typed manifest: what a validated `jobs/*.yaml` directory means.
//
// These are plain values. The loader (`ManifestLoader`) builds them from YAML and applies
// every default in one place (`Defaults`); the engine (`DirectorCore`) only reads them.

/// A position in a manifest file, 1-based, as editors count.
public struct SourceLocation: Sendable, Hashable, CustomStringConvertible {
    /// The file path as given to the loader.
    public var file: String
    /// 1-based line.
    public var line: Int
    /// 1-based column.
    public var column: Int

    /// Creates a location.
    public init(file: String, line: Int, column: Int) {
        self.file = file
        self.line = line
        self.column = column
    }

    /// `FILE:LINE:COL`.
    public var description: String { "\(file):\(line):\(column)" }
}

/// A supervision strategy, with OTP's meaning.
public enum Strategy: String, Sendable, Hashable, CaseIterable {
    /// Only the child that exited is restarted.
    case oneForOne = "one_for_one"
    /// Every child of the group is stopped (reverse order) and started again (in order).
    case oneForAll = "one_for_all"
    /// The child that exited and every child declared after it are restarted.
    case restForOne = "rest_for_one"
}

/// OTP's restart type: what happens on an exit no `on_exit` rule matched.
public enum RestartType: String, Sendable, Hashable, CaseIterable {
    /// Always restart.
    case permanent
    /// Restart unless the exit was code 0; after code 0 the child waits.
    case transient
    /// Never restart; the child is deleted.
    case temporary
}

/// What to do with a child that exited (the Erlang library Director's `handle_exit` actions).
public enum ExitAction: String, Sendable, Hashable, CaseIterable {
    /// Start it again, after the rule's `after`, else the job's delay or backoff.
    case restart
    /// Keep it in the table, stopped, until an operator restarts it.
    case wait
    /// Remove it from the table.
    case delete
    /// Fail the group now (escalate to the parent).
    case stop
}

/// A POSIX signal, by number, with its conventional name (`TERM`, `KILL`, ...).
public struct ProcessSignal: Sendable, Hashable, CustomStringConvertible {
    /// The signal number on this platform (Linux numbering).
    public var number: Int32

    /// Creates a signal from its number.
    public init(number: Int32) { self.number = number }

    /// Parses `TERM`, `SIGTERM` or `term`; nil when unknown.
    public init?(name: String) {
        var upper = name.uppercased()
        if upper.hasPrefix("SIG") { upper.removeFirst(3) }
        guard let n = ProcessSignal.numbersByName[upper] else { return nil }
        self.number = n
    }

    /// The name without `SIG`, or the number when the signal has no common name.
    public var name: String { ProcessSignal.namesByNumber[number] ?? String(number) }

    /// The name without `SIG`.
    public var description: String { name }

    /// Every signal name this parser accepts, in number order.
    public static var knownNames: [String] {
        numbersByName.sorted { $0.value < $1.value }.map(\.key)
    }

    /// SIGTERM.
    public static let term = ProcessSignal(number: 15)
    /// SIGKILL.
    public static let kill = ProcessSignal(number: 9)
    /// SIGINT.
    public static let int = ProcessSignal(number: 2)
    /// SIGHUP.
    public static let hup = ProcessSignal(number: 1)
    /// SIGABRT (what a missed `watchdog` sends).
    public static let abrt = ProcessSignal(number: 6)

    // Linux x86_64/aarch64 numbering; Director is Linux-only.
    private static let numbersByName: [String: Int32] = [
        "HUP": 1, "INT": 2, "QUIT": 3, "ILL": 4, "TRAP": 5, "ABRT": 6, "BUS": 7, "FPE": 8,
        "KILL": 9, "USR1": 10, "SEGV": 11, "USR2": 12, "PIPE": 13, "ALRM": 14, "TERM": 15,
        "STKFLT": 16, "CHLD": 17, "CONT": 18, "STOP": 19, "TSTP": 20, "TTIN": 21, "TTOU": 22,
        "URG": 23, "XCPU": 24, "XFSZ": 25, "VTALRM": 26, "PROF": 27, "WINCH": 28, "IO": 29,
        "PWR": 30, "SYS": 31,
    ]
    private static let namesByNumber: [Int32: String] =
        Dictionary(uniqueKeysWithValues: numbersByName.map { ($0.value, $0.key) })
}

/// How a child's processes are started: an argv vector, or a string for `/bin/sh -c`.
public enum Command: Sendable, Hashable {
    /// `execve(argv[0], argv)` after a PATH lookup.
    case argv([String])
    /// `/bin/sh -c STRING`.
    case shell(String)
}

/// Exponential backoff between restarts: `initial * factor^(restarts)`, capped at `max`,
/// spread by ±`jitter` (a fraction, 0...1).
public struct Backoff: Sendable, Hashable {
    /// The first delay.
    public var initial: Duration
    /// The cap.
    public var max: Duration
    /// The growth per restart, ≥ 1.
    public var factor: Double
    /// The random spread as a fraction of the delay, 0...1.
    public var jitter: Double

    /// Creates a backoff.
    public init(initial: Duration, max: Duration, factor: Double = 2, jitter: Double = 0) {
        self.initial = initial
        self.max = max
        self.factor = factor
        self.jitter = jitter
    }
}

/// The condition of an `on_exit` rule. Every present field must hold; an absent field
/// holds always. `codes` and `signals` together match an exit that is either.
public struct ExitCondition: Sendable, Hashable {
    /// Exit codes that match (`code: [0, 2]`), or nil.
    public var codes: [Int32]?
    /// Terminating signals that match (`signal: [KILL, SEGV]`), or nil.
    public var signals: [ProcessSignal]?
    /// Matches when the child's restart count is at least this, or nil.
    public var minRestarts: Int?
    /// Exit causes that match (`cause: [ready_timeout]`: ``knownCauses``), or nil.
    public var causes: [String]? = nil

    /// The causes `when: {cause: ...}` accepts: `exit` (a code), `signal`, `spawn_failed`,
    /// `ready_timeout` (stopped for not being ready in time), `unhealthy` (stopped after
    /// `health.failures` failed checks in a row), `watchdog` (no `WATCHDOG=1` in time), `oom`
    /// (the kernel's OOM killer killed a process in the child's own cgroup).
    public static let knownCauses = ["exit", "signal", "spawn_failed", "ready_timeout", "unhealthy", "watchdog", "oom"]

    /// Creates a condition.
    public init(codes: [Int32]? = nil, signals: [ProcessSignal]? = nil, minRestarts: Int? = nil, causes: [String]? = nil) {
        self.codes = codes
        self.signals = signals
        self.minRestarts = minRestarts
        self.causes = causes
    }
}

/// One `on_exit` rule: the first rule whose condition holds decides.
public struct ExitRule: Sendable, Hashable {
    /// When the rule applies.
    public var when: ExitCondition
    /// What to do.
    public var action: ExitAction
    /// For `restart`: overrides the job's delay/backoff.
    public var after: Duration?
    /// Director's `{log, false}`: false hides this exit from the daemon log (the table still
    /// records it).
    public var log: Bool
    /// Where the rule was written, for `--trace` and errors.
    public var location: SourceLocation?

    /// Creates a rule.
    public init(
        when: ExitCondition, action: ExitAction, after: Duration? = nil, log: Bool = true,
        location: SourceLocation? = nil
    ) {
        self.when = when
        self.action = action
        self.after = after
        self.log = log
        self.location = location
    }
}

/// How long to wait after the stop signal before SIGKILL.
public enum ShutdownTimeout: Sendable, Hashable {
    /// Wait this long, then SIGKILL the process group. `.zero` kills at once.
    case after(Duration)
    /// Never SIGKILL; wait for the child however long it takes.
    case infinity
}

/// How a child is stopped.
public struct Shutdown: Sendable, Hashable {
    /// Sent to the child's process group first.
    public var signal: ProcessSignal
    /// Then SIGKILL after this.
    public var timeout: ShutdownTimeout

    /// Creates a shutdown policy.
    public init(signal: ProcessSignal = .term, timeout: ShutdownTimeout = .after(.seconds(5))) {
        self.signal = signal
        self.timeout = timeout
    }
}

/// Which lifecycle events of a child reach the daemon log.
public struct LogEvents: Sendable, Hashable {
    /// A process started.
    public var start: Bool
    /// A process exited.
    public var exit: Bool
    /// A restart was decided.
    public var restart: Bool
    /// A child was stopped (operator, shutdown, strategy).
    public var stop: Bool

    /// Creates the switches; all on by default.
    public init(start: Bool = true, exit: Bool = true, restart: Bool = true, stop: Bool = true) {
        self.start = start
        self.exit = exit
        self.restart = restart
        self.stop = stop
    }
}

/// A compiled regular expression with its source text (kept for equality, diffing and
/// printing: compiled regexes do not compare).
public struct LinePattern: @unchecked Sendable, Hashable {
    /// The pattern as written.
    public let source: String
    // `Regex` is immutable once built; matching does not mutate it, so sharing is safe.
    private let regex: Regex<AnyRegexOutput>

    /// Compiles `source`; throws the compiler's message when it is not a valid regex.
    public init(_ source: String) throws {
        self.source = source
        self.regex = try Regex(source)
    }

    /// True when the pattern matches anywhere in `line`.
    public func matches(_ line: Substring) -> Bool {
        (try? regex.firstMatch(in: line)) != nil
    }

    /// Compares the source text.
    public static func == (lhs: LinePattern, rhs: LinePattern) -> Bool { lhs.source == rhs.source }
    /// Hashes the source text.
    public func hash(into hasher: inout Hasher) { hasher.combine(source) }
}

/// Which lines of one output stream pass: a line passes when `include` is empty or one
/// of its patterns matches, and none of `exclude` matches.
public struct LineFilter: Sendable, Hashable {
    /// Lines must match one of these (when not empty).
    public var include: [LinePattern]
    /// Lines matching one of these are dropped.
    public var exclude: [LinePattern]

    /// Creates a filter; the empty filter passes every line.
    public init(include: [LinePattern] = [], exclude: [LinePattern] = []) {
        self.include = include
        self.exclude = exclude
    }

    /// Decides one line.
    public func passes(_ line: Substring) -> Bool {
        if !include.isEmpty && !include.contains(where: { $0.matches(line) }) { return false }
        return !exclude.contains(where: { $0.matches(line) })
    }
}

/// A job's `log` section.
public struct LogPolicy: Sendable, Hashable {
    /// Lifecycle events.
    public var events: LogEvents
    /// The stdout filter.
    public var stdout: LineFilter
    /// The stderr filter.
    public var stderr: LineFilter
    /// False for `stdout: false`: the child's stdout is /dev/null, not a pipe to the
    /// supervisor (nothing is logged, filtered or written to a file for it, and the
    /// supervisor holds no descriptor for it).
    public var capturesStdout: Bool
    /// False for `stderr: false`, as `capturesStdout`.
    public var capturesStderr: Bool
    /// Also write the lines that pass the filters to `<state>/logs/<id>.log` (`log.file`;
    /// only a supervisor with a state directory writes files).
    public var file: Bool
    /// Rotate a child's file when a line would take it past this many bytes (`log.max_size`).
    public var maxSize: Int
    /// Rotated files kept per child, `<id>.log.1` (newest) to `<id>.log.<keep>` (`log.keep`).
    public var keep: Int

    /// 10 MiB: `log.max_size` when the manifest says nothing.
    public static let defaultMaxSize = 10 << 20
    /// 5: `log.keep` when the manifest says nothing.
    public static let defaultKeep = 5

    /// Creates a log policy; by default everything is logged, to a file too.
    public init(
        events: LogEvents = LogEvents(), stdout: LineFilter = LineFilter(), stderr: LineFilter = LineFilter(),
        file: Bool = true, maxSize: Int = LogPolicy.defaultMaxSize, keep: Int = LogPolicy.defaultKeep,
        capturesStdout: Bool = true, capturesStderr: Bool = true
    ) {
        self.events = events
        self.stdout = stdout
        self.stderr = stderr
        self.capturesStdout = capturesStdout
        self.capturesStderr = capturesStderr
        self.file = file
        self.maxSize = maxSize
        self.keep = keep
    }
}

/// A job: one child spec, run as `instances` children.
public struct JobSpec: Sendable, Hashable {
    /// Unique within its group.
    public var name: String
    /// What to run; may hold templates, expanded per instance with `expand(_:instance:)`.
    public var command: Command
    /// Pool size, ≥ 0.
    public var instances: Int
    /// Working directory (absolute after loading); may hold templates.
    public var cwd: String
    /// Added to the daemon's environment, in declaration order; values may hold templates.
    public var env: [EnvVar]
    /// OTP restart type.
    public var restart: RestartType
    /// Fixed delay before a restart (ignored when `backoff` is set).
    public var delay: Duration
    /// Exponential backoff instead of `delay`.
    public var backoff: Backoff?
    /// Running this long resets the restart count.
    public var resetAfter: Duration
    /// Ordered rules; the first match wins.
    public var onExit: [ExitRule]
    /// How instances are stopped.
    public var shutdown: Shutdown
    /// What is logged.
    public var log: LogPolicy
    /// Where `name:` was written.
    public var location: SourceLocation?
    /// `user`, `group`, `umask`, `rlimits`: applied in the child before exec.
    public var identity: ProcessIdentity = ProcessIdentity()
    /// `env_file`: variables read at load time, below `env` (a name in both takes `env`'s value).
    public var envFile: EnvFile? = nil
    /// `ready:`: nil means ready once spawned.
    public var ready: ReadySpec? = nil
    /// `health:`: a probe repeated while the child runs; nil means none.
    public var health: HealthSpec? = nil
    /// `watchdog:`: the child must send `WATCHDOG=1` at least this often; nil means none.
    public var watchdog: Duration? = nil
    /// `update`: how a change of the process replaces running instances (all at once, or
    /// rolling).
    public var update: UpdatePolicy = UpdatePolicy()
    /// `limits`: cgroup v2 memory, cpu and pids limits of each child's cgroup.
    public var limits: CgroupLimits = CgroupLimits()

    /// Creates a job spec with the documented defaults for everything but name and command.
    public init(
        name: String, command: Command, instances: Int = 1, cwd: String = ".", env: [EnvVar] = [],
        restart: RestartType = .permanent, delay: Duration = .zero, backoff: Backoff? = nil,
        resetAfter: Duration = .seconds(60), onExit: [ExitRule] = [], shutdown: Shutdown = Shutdown(),
        log: LogPolicy = LogPolicy(), location: SourceLocation? = nil,
        identity: ProcessIdentity = ProcessIdentity(), envFile: EnvFile? = nil, ready: ReadySpec? = nil,
        health: HealthSpec? = nil, watchdog: Duration? = nil, update: UpdatePolicy = UpdatePolicy(),
        limits: CgroupLimits = CgroupLimits()
    ) {
        self.name = name
        self.command = command
        self.instances = instances
        self.cwd = cwd
        self.env = env
        self.restart = restart
        self.delay = delay
        self.backoff = backoff
        self.resetAfter = resetAfter
        self.onExit = onExit
        self.shutdown = shutdown
        self.log = log
        self.location = location
        self.identity = identity
        self.envFile = envFile
        self.ready = ready
        self.health = health
        self.watchdog = watchdog
        self.update = update
        self.limits = limits
    }

    /// True when `other` differs in a key that defines the running process (command, env,
    /// the env file's contents, cwd, user, group, umask, rlimits, limits, ready, watchdog,
    /// shutdown): such a change restarts the job's instances on reload (`ready` decides the
    /// child's environment or fds, and whether it holds back its siblings; `watchdog` is
    /// exported in its environment; `log: {stdout: false}` decides the child's fds 1 and 2).
    /// `health` is policy: it applies in place; `update` is policy too: it says how they
    /// restart; so are the other `log` keys (filters, events, files).
    public func processDiffers(from other: JobSpec) -> Bool {
        command != other.command || env != other.env || cwd != other.cwd || shutdown != other.shutdown
            || identity != other.identity || envFile != other.envFile || ready != other.ready
            || watchdog != other.watchdog || limits != other.limits
            || log.capturesStdout != other.log.capturesStdout || log.capturesStderr != other.log.capturesStderr
    }
}

/// One environment variable of a job.
public struct EnvVar: Sendable, Hashable {
    /// The name.
    public var name: String
    /// The value; may hold templates.
    public var value: String

    /// Creates a variable.
    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}

/// A child of a group: a job (a pool of processes) or a nested group.
public enum GroupChild: Sendable, Hashable {
    /// A job.
    case job(JobSpec)
    /// A nested supervisor.
    case group(GroupSpec)

    /// The job or group name.
    public var name: String {
        switch self {
        case .job(let j): j.name
        case .group(let g): g.name
        }
    }
}

/// A group: a supervisor with a strategy over its children.
public struct GroupSpec: Sendable, Hashable {
    /// Unique among its siblings; `[A-Za-z0-9_.-]+`.
    public var name: String
    /// How siblings are affected when one exits.
    public var strategy: Strategy
    /// Restarts allowed within `period` before the group fails.
    public var intensity: Int
    /// The sliding window for `intensity`.
    public var period: Duration
    /// Jobs and nested groups in declaration order.
    public var children: [GroupChild]
    /// The file the group came from (top-level groups), for errors and diffing.
    public var file: String?
    /// Where the group was declared.
    public var location: SourceLocation?

    /// Creates a group with the documented defaults.
    public init(
        name: String, strategy: Strategy = .oneForOne, intensity: Int = Defaults.intensity,
        period: Duration = Defaults.period, children: [GroupChild] = [], file: String? = nil,
        location: SourceLocation? = nil
    ) {
        self.name = name
        self.strategy = strategy
        self.intensity = intensity
        self.period = period
        self.children = children
        self.file = file
        self.location = location
    }
}

/// A whole validated jobs directory: the root's groups in file-name order.
public struct Manifest: Sendable, Hashable {
    /// Top-level groups, in file-name order.
    public var groups: [GroupSpec]

    /// Creates a manifest.
    public init(groups: [GroupSpec]) { self.groups = groups }

    /// Number of children (instances) across every job, nested groups included; saturated
    /// at `Int.max` rather than trapping on a manifest built in code with huge pools (a
    /// loaded manifest has at most its `maxChildren`).
    public var childCount: Int {
        func add(_ a: Int, _ b: Int) -> Int {
            let (sum, overflow) = a.addingReportingOverflow(b)
            return overflow ? .max : sum
        }
        func count(_ g: GroupSpec) -> Int {
            g.children.reduce(0) { acc, c in
                switch c {
                case .job(let j): add(acc, j.instances)
                case .group(let n): add(acc, count(n))
                }
            }
        }
        return groups.reduce(0) { add($0, count($1)) }
    }
}

/// Every default of the manifest language, in one place.
public enum Defaults {
    /// Group restart intensity when `intensity:` is absent.
    public static let intensity = 3
    /// Group period when `period:` is absent.
    public static let period: Duration = .seconds(60)
    /// Root intensity unless `director run --intensity`.
    public static let rootIntensity = 3
    /// Root period unless `director run --period`.
    public static let rootPeriod: Duration = .seconds(60)
    /// `reset_after` when absent.
    public static let resetAfter: Duration = .seconds(60)
    /// Shutdown timeout when absent.
    public static let shutdownTimeout: Duration = .seconds(5)
}

/// A child's id: `group/job/instance`, nested group names included (`web/cache/redis/0`).
public struct ChildID: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The group path from the top-level group down (`["web", "cache"]`).
    public var groupPath: [String]
    /// The job name.
    public var job: String
    /// The instance number, 0-based.
    public var instance: Int

    /// Creates an id.
    public init(groupPath: [String], job: String, instance: Int) {
        self.groupPath = groupPath
        self.job = job
        self.instance = instance
    }

    /// Parses `a/b/job/3`; nil when it has fewer than three parts or no numeric instance.
    public init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard parts.count >= 3, let n = Int(parts[parts.count - 1]), n >= 0,
            !parts.contains(where: \.isEmpty)
        else { return nil }
        self.groupPath = Array(parts[0..<(parts.count - 2)])
        self.job = parts[parts.count - 2]
        self.instance = n
    }

    /// `group/job` without the instance: the job's key.
    public var jobKey: String {
        var key = ""
        appendJobKey(to: &key)
        return key
    }
    /// The group path joined with `/`.
    public var group: String { groupPath.joined(separator: "/") }
    /// `group/job/instance`.
    public var description: String {
        // Built in place: ids are made for every log line, table row and event, and joining
        // a new array `groupPath + [job]` first cost twice as much (a restart storm's profile).
        var text = ""
        appendJobKey(to: &text)
        text += "/"
        text += String(instance)
        return text
    }

    private func appendJobKey(to text: inout String) {
        for part in groupPath {
            text += part
            text += "/"
        }
        text += job
    }

    /// Orders by text, then instance number, so `api/10` follows `api/9`.
    public static func < (lhs: ChildID, rhs: ChildID) -> Bool {
        if lhs.groupPath != rhs.groupPath { return lhs.groupPath.lexicographicallyPrecedes(rhs.groupPath) }
        if lhs.job != rhs.job { return lhs.job < rhs.job }
        return lhs.instance < rhs.instance
    }
}
