// The engine's vocabulary: events in, effects out.
//
// The runtime (DirectorRuntime) turns the outside world into `EngineEvent`s and executes the
// `Effect`s the engine returns. Nothing here performs I/O or reads a clock.

import DirectorManifest

/// A point on the monotonic clock, in nanoseconds from an arbitrary origin. The engine never
/// reads a clock: the caller passes `now` with every event, so tests drive time by hand.
public struct Instant: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// Nanoseconds since the clock's origin.
    public var nanoseconds: Int64

    /// Creates an instant.
    public init(nanoseconds: Int64) { self.nanoseconds = nanoseconds }

    /// The origin.
    public static let zero = Instant(nanoseconds: 0)

    /// `self + d`, saturating.
    public static func + (lhs: Instant, rhs: Duration) -> Instant {
        let (r, o) = lhs.nanoseconds.addingReportingOverflow(rhs.nanosecondsClamped)
        return Instant(nanoseconds: o ? .max : r)
    }

    /// The duration from `rhs` to `lhs`.
    public static func - (lhs: Instant, rhs: Instant) -> Duration {
        .nanoseconds(lhs.nanoseconds - rhs.nanoseconds)
    }

    /// Orders by time.
    public static func < (lhs: Instant, rhs: Instant) -> Bool { lhs.nanoseconds < rhs.nanoseconds }

    /// Milliseconds, for traces.
    public var description: String { "\(nanoseconds / 1_000_000)ms" }
}

extension Duration {
    /// The duration in nanoseconds, clamped to `Int64`.
    public var nanosecondsClamped: Int64 {
        let (s, a) = components
        let (ns, o1) = s.multipliedReportingOverflow(by: 1_000_000_000)
        if o1 { return s < 0 ? .min : .max }
        let (r, o2) = ns.addingReportingOverflow(a / 1_000_000_000)
        return o2 ? .max : r
    }
}

/// The lifecycle state of a child, as stored in the table.
public enum ChildState: String, Sendable, Hashable, CaseIterable {
    /// A spawn was requested; no pid yet.
    case starting
    /// The process runs.
    case running
    /// The stop signal was sent; waiting for the exit.
    case stopping
    /// Exited; a restart timer is armed, or (no timer, `nextRestartAt` nil) it waits for
    /// something else before it starts again: its group's restart plan, its group's restart
    /// by the parent after a `stop` decision, or the answer to `Effect.decideExit`.
    case backoff
    /// Exited; waits for an operator's restart (`wait` action, transient normal exit).
    case waiting
    /// Stopped by an operator or a strategy, not to be restarted on its own.
    case stopped
}

/// How a process ended.
public enum ChildExitStatus: Sendable, Hashable, CustomStringConvertible {
    /// `exit(code)`.
    case code(Int32)
    /// Killed by a signal.
    case signal(ProcessSignal)

    /// `exit` or `signal`.
    public var cause: ExitCause {
        switch self {
        case .code: .exit
        case .signal: .signal
        }
    }

    /// `code=N` or `signal=NAME`.
    public var description: String {
        switch self {
        case .code(let c): "code=\(c)"
        case .signal(let s): "signal=\(s.name)"
        }
    }
}

/// A timer the engine arms; the runtime fires it back as `EngineEvent.timerFired`.
public enum TimerID: Sendable, Hashable {
    /// Restart a child that is in `backoff`.
    case restart(ChildID)
    /// The shutdown timeout of a stopping child ran out: SIGKILL it.
    case shutdownTimeout(ChildID)
    /// A running child has run for `reset_after`: its restart count returns to 0.
    case resetRestarts(ChildID)
    /// A child with `ready:` was not ready within its `ready.timeout`: it is stopped, and its
    /// exit has cause `ready_timeout`.
    case readyTimeout(ChildID)
    /// Time for the child's next probe: a readiness poll (`ready: {tcp|http|exec}`) or a
    /// health check (`health:`).
    case probe(ChildID)
    /// A child with `watchdog:` sent no `WATCHDOG=1` in time: SIGABRT, exit cause `watchdog`.
    case watchdog(ChildID)
}

/// Everything fully resolved that the runtime needs to start one child: templates are
/// already expanded.
public struct LaunchSpec: Sendable, Hashable {
    /// The child.
    public var id: ChildID
    /// argv; for a shell command `["/bin/sh", "-c", text]`.
    public var argv: [String]
    /// Working directory.
    public var cwd: String
    /// Variables added to the daemon's environment, `DIRECTOR_*` included.
    public var env: [EnvVar]
    /// The job's log filters, applied by the runtime to the child's output.
    public var log: LogPolicy
    /// The job's `user`, `group`, `umask` and `rlimits`, applied in the child before exec.
    public var identity: ProcessIdentity = ProcessIdentity()
    /// The job's `ready:` (the runtime sets `NOTIFY_SOCKET` for `notify` and gives the child
    /// a pipe on fd N for `fd: N`), or nil.
    public var ready: ReadySpec? = nil
    /// The job's `limits`: written into the child's cgroup before it starts, where the
    /// daemon's cgroups have the controllers.
    public var limits: CgroupLimits = CgroupLimits()
    /// The job's `watchdog:` (the runtime sets `NOTIFY_SOCKET`, `WATCHDOG_USEC` and
    /// `WATCHDOG_PID`), or nil.
    public var watchdog: Duration? = nil

    /// Creates a launch spec.
    public init(
        id: ChildID, argv: [String], cwd: String, env: [EnvVar], log: LogPolicy, identity: ProcessIdentity = ProcessIdentity()
    ) {
        self.id = id
        self.argv = argv
        self.cwd = cwd
        self.env = env
        self.log = log
        self.identity = identity
    }
}

/// An operator's command (control socket, CLI).
public enum OperatorCommand: Sendable, Hashable {
    /// Stop children; they stay in the table as `stopped`.
    case stop([ChildID])
    /// Restart children (running ones are stopped first; waiting or stopped ones start);
    /// resets their restart count.
    case restart([ChildID])
    /// Delete children that are stopped or waiting (OTP: delete only a stopped child).
    case delete([ChildID])
    /// Resize a job's pool: `group/job` key and the new size.
    case scale(job: String, instances: Int)
    /// Start children that are not running (stopped, waiting, or waiting out a delay);
    /// running ones are left alone. A child of a group the root gave up starts that whole
    /// group again, with a fresh restart window (`director start GROUP`).
    case start([ChildID])
    /// Stop the whole tree in reverse order and exit 0.
    case shutdown
    /// Restart children one instance at a time per job (`director restart --rolling`): a
    /// spare instance is started and must be ready before an old one is stopped, within the
    /// job's `update.max_surge` and `update.max_unavailable` (1 and 0 unless the job says
    /// otherwise). Children without a process start at once, as with `restart`.
    case rollingRestart([ChildID])
}

/// What the engine is told.
public enum EngineEvent: Sendable, Hashable {
    /// The runtime spawned the child requested by `Effect.spawn`.
    case started(ChildID, pid: Int32)
    /// The spawn requested for the child failed (ENOENT, EACCES, bad cwd): treated as an exit
    /// with code 127 and this reason.
    case spawnFailed(ChildID, reason: String)
    /// A child's process exited (reaped by the runtime).
    case exited(ChildID, pid: Int32, status: ChildExitStatus)
    /// A timer armed with `Effect.armTimer` fired.
    case timerFired(TimerID)
    /// An operator's command.
    case command(OperatorCommand)
    /// A new, validated manifest (hot reload): apply the minimal difference.
    case reload(Manifest)
    /// The answer to `Effect.decideExit`: what to do with the child of question number
    /// `question` (`ExitQuestion.number`). `ExitQuestion.answer(_:)` builds it. An answer to
    /// a question that no longer stands (the child was restarted, stopped, covered by a
    /// restart plan or removed meanwhile, the tree is shutting down, or it was answered
    /// already) is ignored.
    ///
    /// Indirect: only an engine built with `ExitVerdictSource.asked` gets these, so the
    /// payload is boxed rather than every event growing from 49 to 88 bytes.
    indirect case exitDecided(ChildID, ExitDecision, question: UInt64)
    /// The child's process `pid` (or a process of its process group) said it is ready
    /// (sd_notify `READY=1`). Ignored for an old pid, a child already ready, or a job
    /// without `ready:`.
    case ready(ChildID, pid: Int32)
    /// The child's process `pid` sent `STATUS=text` (shown in `ps` and the table).
    /// Indirect, so that `EngineEvent` keeps its size.
    indirect case status(ChildID, pid: Int32, text: String)
    /// As `exited`, and the kernel's OOM killer killed a process in the child's own cgroup
    /// while it ran: the exit's cause is `oom` (`when: {cause: [oom]}`). Indirect, so that
    /// `EngineEvent` keeps its size.
    indirect case exitedOutOfMemory(ChildID, pid: Int32, status: ChildExitStatus)
    /// The process `pid` of a spawn that returned before the child's execve (the runtime does
    /// not wait for it) never ran the program: its execve, chdir or descriptor setup failed
    /// and it exited 127. Handled as `spawnFailed` for that process: an exit with code 127,
    /// cause `spawn_failed` and this reason. Ignored for an old pid.
    indirect case execFailed(ChildID, pid: Int32, reason: String)
    /// The child's process `pid` sent another sd_notify key (`WATCHDOG=1`, `RELOADING=1`, ...).
    indirect case notified(ChildID, pid: Int32, Notification)
    /// The probe asked for by `Effect.probe` ended.
    indirect case probed(ChildID, pid: Int32, ProbeOutcome)
}

/// Kinds of recorded lifecycle events (the table's `events.kind`).
public enum EventKind: String, Sendable, Hashable, CaseIterable {
    /// A process started.
    case start
    /// A process exited.
    case exit
    /// A restart was decided (possibly delayed).
    case restart
    /// A child was stopped.
    case stop
    /// A child was deleted from the table.
    case delete
    /// A child is waiting for an operator.
    case wait
    /// A spawn failed.
    case spawnFailed = "spawn_failed"
    /// A group exceeded its intensity or a `stop` rule fired.
    case groupFailed = "group_failed"
    /// The root gave a group up (`--root-failure give-up`): its children are stopped until
    /// an operator starts it again or a reload changes it.
    case groupGivenUp = "group_given_up"
    /// A group given up was started again.
    case groupStarted = "group_started"
    /// A pool was resized.
    case scale
    /// A manifest reload was applied.
    case reload
    /// The tree is shutting down.
    case shutdown
    /// A child with `ready:` said it is ready.
    case ready
    /// A child is not ready (any more) and is being stopped: not ready in time
    /// (`ready_timeout`), unhealthy (`unhealthy`), or silent past its watchdog (`watchdog`);
    /// `EventFields.reason` says which.
    case notReady = "not_ready"
    /// A rolling update of a job began (subject: the job key).
    case roll
    /// A rolling update replaced every instance it had to.
    case rollDone = "roll_done"
    /// A rolling update stopped before the end (a new instance failed readiness, the job
    /// changed or was resized): the old instances not yet replaced keep running.
    case rollStopped = "roll_stopped"
}

/// How much an event matters to an operator: the daemon's log level for it.
public enum Severity: String, Sendable, Hashable, CaseIterable, Comparable {
    /// Lifecycle as intended: starts, exits the engine asked for, normal exits, restarts.
    case info
    /// Something Director handled but an operator may want to know: a crash.
    case warning
    /// Something failed: a spawn, a group, a group given up.
    case error

    /// Orders by importance.
    public static func < (l: Severity, r: Severity) -> Bool {
        allCases.firstIndex(of: l)! < allCases.firstIndex(of: r)!
    }
}

/// Why a process ended, as far as the engine knows (the table's `last_exit.cause`).
public enum ExitCause: String, Sendable, Hashable, CaseIterable {
    /// It exited with a code.
    case exit
    /// It was killed by a signal.
    case signal
    /// It never ran: the spawn failed (treated as code 127).
    case spawnFailed = "spawn_failed"
    /// The engine stopped it because it was not ready within its `ready.timeout`.
    case readyTimeout = "ready_timeout"
    /// The kernel's OOM killer killed a process in the child's own cgroup during this
    /// process's life (`memory.events` `oom_kill` grew), where the memory controller is there.
    case oom
    /// The engine stopped it after `health.failures` failed health checks in a row.
    case unhealthy
    /// The engine sent SIGABRT because no `WATCHDOG=1` came within its `watchdog` interval.
    case watchdog
}

/// The structured part of an event: what the text `detail` says, as data, so that log lines
/// (text or JSON) and metrics are rendered from it instead of parsed from text.
public struct EventFields: Sendable, Hashable {
    /// The process concerned.
    public var pid: Int32?
    /// How the process ended (exit events).
    public var status: ChildExitStatus?
    /// Why it ended.
    public var cause: ExitCause?
    /// True when the engine asked for the exit (a stop, a strategy, a shutdown): not a crash.
    public var requested: Bool?
    /// The restart count after a restart decision.
    public var restarts: Int?
    /// The delay before a decided restart.
    public var delay: Duration?
    /// The index in `on_exit` of the rule that decided, nil when the restart type did.
    public var ruleIndex: Int?
    /// The signal sent (stop events).
    public var signal: ProcessSignal?
    /// A short machine-readable reason, e.g. `intensity`, `stop_rule`, `strategy`.
    public var reason: String?

    /// Creates fields; every one is optional.
    public init(
        pid: Int32? = nil, status: ChildExitStatus? = nil, cause: ExitCause? = nil, requested: Bool? = nil,
        restarts: Int? = nil, delay: Duration? = nil, ruleIndex: Int? = nil, signal: ProcessSignal? = nil,
        reason: String? = nil
    ) {
        self.pid = pid
        self.status = status
        self.cause = cause
        self.requested = requested
        self.restarts = restarts
        self.delay = delay
        self.ruleIndex = ruleIndex
        self.signal = signal
        self.reason = reason
    }
}

/// One lifecycle event: recorded in the table always, written to the daemon log when `log`.
public struct EventRecord: Sendable, Hashable {
    /// The child id, group path, or empty for the root.
    public var subject: String
    /// What happened.
    public var kind: EventKind
    /// Human detail, e.g. `pid=123 code=1` (the table's `detail`).
    public var detail: String
    /// False when the job's `log.events` or a rule's `log: false` hides it.
    public var log: Bool
    /// How much it matters: the engine decides, the runtime picks the log level from it.
    public var severity: Severity
    /// The same facts as `detail`, as data.
    public var fields: EventFields

    /// Creates a record.
    public init(
        subject: String, kind: EventKind, detail: String, log: Bool = true, severity: Severity = .info,
        fields: EventFields = EventFields()
    ) {
        self.subject = subject
        self.kind = kind
        self.detail = detail
        self.log = log
        self.severity = severity
        self.fields = fields
    }
}

/// A child's state as the table stores it.
public struct ChildSnapshot: Sendable, Hashable {
    /// The id.
    public var id: ChildID
    /// The state.
    public var state: ChildState
    /// The live pid (also the process group id), or nil.
    public var pid: Int32?
    /// When the current process started.
    public var startedAt: Instant?
    /// The restart count.
    public var restarts: Int
    /// The last exit, when it happened and why (the table's `last_exit`, with its `cause`).
    public var lastExit: (status: ChildExitStatus, at: Instant, cause: ExitCause)?
    /// When a restart is due (state `backoff`).
    public var nextRestartAt: Instant?
    /// The job spec's stable hash (`JobSpec.stableHash`).
    public var specHash: String
    /// The current process is ready: it said so (`ready:`), or it runs and its job has no
    /// `ready:`.
    public var ready: Bool = false
    /// The last `STATUS=` the child sent (sd_notify), or nil.
    public var status: String? = nil

    /// Creates a snapshot.
    public init(
        id: ChildID, state: ChildState, pid: Int32? = nil, startedAt: Instant? = nil, restarts: Int = 0,
        lastExit: (status: ChildExitStatus, at: Instant, cause: ExitCause)? = nil, nextRestartAt: Instant? = nil, specHash: String = "",
        ready: Bool = false, status: String? = nil
    ) {
        self.ready = ready
        self.status = status
        self.id = id
        self.state = state
        self.pid = pid
        self.startedAt = startedAt
        self.restarts = restarts
        self.lastExit = lastExit
        self.nextRestartAt = nextRestartAt
        self.specHash = specHash
    }

    /// Compares every field.
    public static func == (l: ChildSnapshot, r: ChildSnapshot) -> Bool {
        l.id == r.id && l.state == r.state && l.pid == r.pid && l.startedAt == r.startedAt
            && l.restarts == r.restarts && l.lastExit?.status == r.lastExit?.status
            && l.lastExit?.at == r.lastExit?.at && l.lastExit?.cause == r.lastExit?.cause && l.nextRestartAt == r.nextRestartAt && l.specHash == r.specHash
            && l.ready == r.ready && l.status == r.status
    }

    /// Hashes the id and state.
    public func hash(into h: inout Hasher) {
        h.combine(id)
        h.combine(state)
        h.combine(pid)
    }
}

/// The state of a group (a supervisor), as the table stores it.
public enum GroupState: String, Sendable, Hashable {
    /// Children are supervised.
    case running
    /// The group is stopping or restarting as a whole.
    case restarting
    /// Stopped.
    case stopped
    /// Given up by the root (`--root-failure give-up`): every child is stopped until an
    /// operator starts the group again or a reload changes it.
    case failed
}

/// A group's state as the table stores it.
public struct GroupSnapshot: Sendable, Hashable {
    /// `web` or `web/cache`; empty for the root.
    public var path: String
    /// The strategy.
    public var strategy: Strategy
    /// Allowed restarts ...
    public var intensity: Int
    /// ... within this window.
    public var period: Duration
    /// Restarts counted in the current window.
    public var restartsInPeriod: Int
    /// The state.
    public var state: GroupState

    /// Creates a snapshot.
    public init(path: String, strategy: Strategy, intensity: Int, period: Duration, restartsInPeriod: Int, state: GroupState) {
        self.path = path
        self.strategy = strategy
        self.intensity = intensity
        self.period = period
        self.restartsInPeriod = restartsInPeriod
        self.state = state
    }
}

/// What the engine asks the runtime to do. Effects are executed in order.
public enum Effect: Sendable, Hashable {
    /// Start a process for the child, then report `.started` or `.spawnFailed`.
    case spawn(LaunchSpec)
    /// Send a signal to the child's process group (`kill(-pgid, sig)`). The runtime reports
    /// the eventual exit as `.exited`.
    case signal(ChildID, pid: Int32, ProcessSignal)
    /// Arm (or re-arm) a timer.
    case armTimer(TimerID, at: Instant)
    /// Cancel a timer; cancelling one that is not armed is fine.
    case cancelTimer(TimerID)
    /// Upsert the child's table row.
    case childChanged(ChildSnapshot)
    /// Remove the child's table row.
    case childRemoved(ChildID)
    /// Upsert a group's table row.
    case groupChanged(GroupSnapshot)
    /// Remove a group's table row.
    case groupRemoved(String)
    /// Record (and maybe log) a lifecycle event.
    case event(EventRecord)
    /// The tree is stopped: the daemon exits with this status (0 after shutdown, 1 when the
    /// root failed).
    case exit(status: Int32)
    /// Only with `ExitVerdictSource.asked`: a child's process ended on its own (a crash, an
    /// exit nobody asked for, or a failed spawn) and something outside the engine decides
    /// what follows. The child waits in `backoff` without a timer until the runtime feeds
    /// `EngineEvent.exitDecided` (at once or later; `question.answer(question.proposed)`
    /// keeps the manifest's rules).
    case decideExit(ExitQuestion)
    /// Run one probe against a child and report `EngineEvent.probed`. The runtime never
    /// blocks on it, and drops it (reporting nothing) when the child's process ends first.
    case probe(ProbeRequest)
}

/// Who decides about an exit nobody asked for (a crash, an exit of the child's own accord, a
/// failed spawn). Exits the engine asked for (an operator's stop or restart, a restart plan,
/// a scale-down, a reload, the shutdown, a group given up) always follow their intent and are
/// never asked about: they are not crashes.
public enum ExitVerdictSource: Sendable, Hashable {
    /// The engine decides at once with `ExitDecision.decide`: the job's `on_exit` rules,
    /// else its restart type.
    case rules
    /// The engine asks with `Effect.decideExit` and acts on the answer,
    /// `EngineEvent.exitDecided` (the Erlang library Director's `handle_exit`; an embedding
    /// program's `SupervisorDelegate`). The rules' decision comes with the question as its
    /// default.
    case asked
}

/// What `Effect.decideExit` asks: a child's process ended on its own; what now?
public struct ExitQuestion: Sendable, Hashable {
    /// Identifies this question among every question the engine asked (1, 2, 3, ...); the
    /// answer names it, so an answer to an earlier exit of the same child cannot be taken
    /// for the answer to a later one.
    public var number: UInt64
    /// The child.
    public var id: ChildID
    /// Its job's key (`web/api`).
    public var jobKey: String
    /// The process that ended; nil when the spawn failed (no process ever ran).
    public var pid: Int32?
    /// How it ended; `.code(127)` for a failed spawn.
    public var status: ChildExitStatus
    /// The child's restart count before this exit (what `on_exit`'s `restarts` compares).
    public var restarts: Int
    /// What the job's `on_exit` rules, else its restart type, decide: the delegate's default.
    public var proposed: ExitDecision

    /// Creates a question.
    public init(
        number: UInt64, id: ChildID, jobKey: String, pid: Int32?, status: ChildExitStatus, restarts: Int,
        proposed: ExitDecision
    ) {
        self.number = number
        self.id = id
        self.jobKey = jobKey
        self.pid = pid
        self.status = status
        self.restarts = restarts
        self.proposed = proposed
    }

    /// The event that answers this question with `decision`.
    public func answer(_ decision: ExitDecision) -> EngineEvent {
        .exitDecided(id, decision, question: number)
    }
}

/// The engine's answer to an operator command.
public enum CommandReply: Sendable, Hashable {
    /// Done; the ids affected.
    case ok([ChildID])
    /// Refused, with a stable code (`not_found`, `not_stopped`, `bad_request`,
    /// `shutting_down`) and a message for people.
    case error(code: String, message: String)
}

/// Summary of an applied reload (recorded as a `reload` event).
public struct ReloadSummary: Sendable, Hashable {
    /// Children started for new jobs or groups.
    public var started: Int = 0
    /// Children stopped because their job or group is gone.
    public var stopped: Int = 0
    /// Children restarted because their job's process-defining keys changed.
    public var restarted: Int = 0
    /// Jobs whose `instances` changed.
    public var scaled: Int = 0
    /// Jobs or groups whose policy changed in place.
    public var updatedInPlace: Int = 0
    /// Jobs whose instances roll (`update: rolling`); their instances count in `restarted`.
    public var rolling: Int = 0

    /// Creates an empty summary.
    public init() {}
}

/// What the root does when a group fails more often than the root's intensity allows.
public enum RootFailurePolicy: String, Sendable, Hashable, CaseIterable {
    /// Give that group up: its children are stopped, its state is `failed`, every other group
    /// keeps running; `start` of the group (or a reload that changes it) starts it again
    /// with a fresh window. Each top-level group is counted on its own.
    case giveUp = "give-up"
    /// OTP's behaviour: the root fails, the whole tree stops and the daemon exits with 1.
    case exit
}

/// Options of the root supervisor.
public struct RootPolicy: Sendable, Hashable {
    /// Group failures allowed within `period` before the root fails.
    public var intensity: Int
    /// The window.
    public var period: Duration
    /// What the root does when `intensity` is exceeded.
    public var onFailure: RootFailurePolicy

    /// Creates the root policy; defaults from `Defaults`, and `giveUp`.
    public init(
        intensity: Int = Defaults.rootIntensity, period: Duration = Defaults.rootPeriod,
        onFailure: RootFailurePolicy = .giveUp
    ) {
        self.intensity = intensity
        self.period = period
        self.onFailure = onFailure
    }
}

/// State carried over from a previous daemon run (read from the table on start): operator
/// decisions, and children left waiting, that survive a restart until the job's manifest
/// changes; plus the counters and last exits of the previous run's rows.
///
/// The engine is the one place that decides what carries over: `Engine.carryOver` is the
/// decision part of this value, kept up to date as the tree changes; the runtime stores it
/// and gives it back, with the rows' counters, to the next daemon.
public struct RestoredState: Sendable, Hashable {
    /// Children an operator stopped, with the spec hash their job had then.
    public var stopped: [ChildID: String]
    /// Children left waiting for an operator (a `wait` rule, a transient normal exit), with
    /// the spec hash their job had then.
    public var waiting: [ChildID: String]
    /// Pools an operator scaled: job key → (instances, spec hash then).
    public var scaled: [String: ScaledPool]
    /// Restart counts of the previous run, kept so counters do not start over.
    public var restarts: [ChildID: Int]
    /// Last exits of the previous run, shown again for children that do not start (stopped
    /// or waiting), in this run's clock.
    public var lastExits: [ChildID: LastExit]

    /// An operator-chosen pool size.
    public struct ScaledPool: Sendable, Hashable {
        /// The size the operator chose.
        public var instances: Int
        /// The job's spec hash when it was chosen.
        public var specHash: String
        /// Creates one.
        public init(instances: Int, specHash: String) {
            self.instances = instances
            self.specHash = specHash
        }
    }

    /// A process's end, as the table's `last_exit` stores it.
    public struct LastExit: Sendable, Hashable {
        /// How it ended.
        public var status: ChildExitStatus
        /// When, on the engine's clock.
        public var at: Instant
        /// Why it ended; nil for a row written before causes were recorded (or with a cause
        /// this version does not know), which the engine reads as `status.cause`.
        public var cause: ExitCause?
        /// Creates one.
        public init(status: ChildExitStatus, at: Instant, cause: ExitCause? = nil) {
            self.status = status
            self.at = at
            self.cause = cause
        }
    }

    /// Creates restored state.
    public init(
        stopped: [ChildID: String] = [:], waiting: [ChildID: String] = [:], scaled: [String: ScaledPool] = [:],
        restarts: [ChildID: Int] = [:], lastExits: [ChildID: LastExit] = [:]
    ) {
        self.stopped = stopped
        self.waiting = waiting
        self.scaled = scaled
        self.restarts = restarts
        self.lastExits = lastExits
    }
}
