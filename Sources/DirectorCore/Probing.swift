import DirectorManifest

// The vocabulary of probes and sd_notify keys between the engine and the runtime: the engine
// decides when a probe runs and what its result means, the runtime runs it without blocking.

/// Why a probe runs.
public enum ProbePurpose: String, Sendable, Hashable {
    /// Polled until the child is ready (`ready: {tcp|http|exec}`).
    case ready
    /// Repeated while the child is ready (`health:`).
    case health
}

/// One probe the engine asks for (`Effect.probe`).
public struct ProbeRequest: Sendable, Hashable {
    /// The child.
    public var id: ChildID
    /// Its process; the result is for this process only.
    public var pid: Int32
    /// What to check, templates expanded for the child.
    public var probe: Probe
    /// A probe that has not succeeded within this has failed.
    public var timeout: Duration
    /// Readiness or health.
    public var purpose: ProbePurpose
    /// Numbers the engine's probes of this child: a result names it, so a late result of an
    /// earlier probe is ignored.
    public var number: UInt64

    /// Creates a request.
    public init(id: ChildID, pid: Int32, probe: Probe, timeout: Duration, purpose: ProbePurpose, number: UInt64) {
        self.id = id
        self.pid = pid
        self.probe = probe
        self.timeout = timeout
        self.purpose = purpose
        self.number = number
    }

    /// The event reporting this probe's result.
    public func result(ok: Bool, detail: String = "") -> EngineEvent {
        .probed(id, pid: pid, ProbeOutcome(number: number, ok: ok, detail: detail))
    }
}

/// How a probe ended (`EngineEvent.probed`).
public struct ProbeOutcome: Sendable, Hashable {
    /// `ProbeRequest.number` of the probe.
    public var number: UInt64
    /// It succeeded.
    public var ok: Bool
    /// Why it failed, for people: `connection refused`, `HTTP 503`, `exit code 1`, `timed out`.
    public var detail: String

    /// Creates an outcome.
    public init(number: UInt64, ok: Bool, detail: String = "") {
        self.number = number
        self.ok = ok
        self.detail = detail
    }
}

/// sd_notify keys beyond `READY=1` and `STATUS=` (`EngineEvent.notified`).
public enum Notification: Sendable, Hashable {
    /// `WATCHDOG=1`: the child is alive; its watchdog starts over.
    case watchdog
    /// `WATCHDOG=trigger`: the child asks to be treated as if its watchdog ran out.
    case watchdogTrigger
    /// `WATCHDOG_USEC=N`: the child's watchdog interval is now N µs (0 turns it off).
    case watchdogInterval(Duration)
    /// `RELOADING=1`: not ready until the next `READY=1`.
    case reloading
    /// `STOPPING=1`: the child is shutting down on its own; it is not ready any more.
    case stopping
    /// `RESTART_RESET=1`: the child's restart count (and so its backoff) returns to 0.
    case restartReset
}

/// Per child with probes: the number of its current probe, whether a probe timer or a probe
/// is outstanding, and the failures in a row. Kept beside the records, not in them, so that
/// children without probes cost nothing.
struct ProbeState: Sendable, Hashable {
    var number: UInt64 = 0
    var inFlight = false
    var timerArmed = false
    var attempts = 0
    var failures = 0
    var lastFailure = ""
}
