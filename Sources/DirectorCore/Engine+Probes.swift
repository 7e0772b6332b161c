import DirectorManifest

// Probes (`ready: {tcp|http|exec}` and `health:`): the engine decides when each runs and what
// its result means; the runtime runs it (Effect.probe) and reports the result
// (EngineEvent.probed). One probe timer per child at a time: readiness polls until the first
// success, then health checks every `interval`.
extension Engine {
    /// The first readiness poll comes this long after the spawn, then twice as long after each
    /// failure, up to `readyPollMax`: a server that binds within milliseconds is seen within
    /// milliseconds, one that takes a minute costs a poll a second.
    static let readyPollInitial: Duration = .milliseconds(10)
    static let readyPollMax: Duration = .seconds(1)
    /// One readiness poll that takes longer has failed (bounded by `ready.timeout`).
    static let readyPollTimeout: Duration = .seconds(1)

    /// The job's readiness probe, when its `ready:` is one.
    static func readinessProbe(_ spec: JobSpec) -> Probe? {
        if case .probe(let p) = spec.ready?.check { return p }
        return nil
    }

    /// Arms the child's probe timer.
    mutating func scheduleProbe(_ id: ChildID, after delay: Duration) {
        var state = probes[id] ?? ProbeState()
        state.timerArmed = true
        probes[id] = state
        emit(.armTimer(.probe(id), at: now + delay))
    }

    /// Starts health checks for a child that has just become ready.
    mutating func startHealth(_ rec: ChildRecord) {
        guard let health = rec.spec.health else { return }
        scheduleProbe(rec.id, after: health.interval)
    }

    /// The probe timer fired: ask for a readiness poll while the child's ready timeout runs,
    /// else a health check.
    mutating func onProbeTimer(_ id: ChildID) {
        guard var state = probes[id], state.timerArmed else { return }
        state.timerArmed = false
        probes[id] = state
        guard let rec = childRecords[id], rec.state == .running, rec.stopIntent == nil, let pid = rec.pid else { return }
        let request: (Probe, Duration, ProbePurpose)
        if rec.readyTimerArmed, let probe = Self.readinessProbe(rec.spec), let ready = rec.spec.ready {
            request = (probe, min(Self.readyPollTimeout, ready.timeout), .ready)
        } else if let health = rec.spec.health {
            request = (health.probe, health.timeout, .health)
        } else {
            return  // the spec changed in place (a reload dropped `health:`)
        }
        state.number += 1
        state.inFlight = true
        probes[id] = state
        emit(.probe(ProbeRequest(
            id: id, pid: pid, probe: request.0.expanded(for: id), timeout: request.1, purpose: request.2, number: state.number)))
    }

    /// A probe's result; a result for another process, an earlier probe, or a child being
    /// stopped is ignored.
    mutating func onProbed(_ id: ChildID, pid: Int32, _ outcome: ProbeOutcome) {
        guard var state = probes[id], state.inFlight, state.number == outcome.number,
            let rec = childRecords[id], rec.pid == pid, rec.state == .running, rec.stopIntent == nil
        else { return }
        state.inFlight = false
        probes[id] = state
        if rec.readyTimerArmed, Self.readinessProbe(rec.spec) != nil {
            if outcome.ok {
                onReady(id, pid: pid)
                return
            }
            state.attempts += 1
            probes[id] = state
            scheduleProbe(id, after: Self.readyPollDelay(afterFailures: state.attempts))
            return
        }
        guard let health = rec.spec.health else { return }
        if outcome.ok {
            state.failures = 0
        } else {
            state.failures += 1
            state.lastFailure = outcome.detail
        }
        probes[id] = state
        if state.failures >= health.failures {
            becameUnhealthy(id, failures: state.failures, last: state.lastFailure)
        } else {
            scheduleProbe(id, after: health.interval)
        }
    }

    /// `readyPollInitial * 2^failures`, capped at `readyPollMax`.
    static func readyPollDelay(afterFailures failures: Int) -> Duration {
        var delay = readyPollInitial
        for _ in 0..<min(failures, 16) where delay < readyPollMax { delay *= 2 }
        return min(delay, readyPollMax)
    }

    /// `failures` health checks failed in a row: a `not_ready` event, and the child is
    /// stopped with its `shutdown`; the exit goes to `on_exit` with cause `unhealthy`.
    private mutating func becameUnhealthy(_ id: ChildID, failures: Int, last: String) {
        guard var rec = childRecords[id], let pid = rec.pid else { return }
        rec.ready = false
        childRecords[id] = rec
        let why = last.isEmpty ? "" : " (last: \(last))"
        record(id.description, .notReady, "pid=\(pid) unhealthy: \(failures) health checks failed in a row\(why)", log: true,
            severity: .warning, fields: EventFields(pid: pid, cause: .unhealthy, reason: "unhealthy"))
        publish(rec)
        requestStop(id, intent: .failed(.unhealthy))
    }

    /// The process ended: its probe timer no longer applies.
    mutating func endProbes(_ id: ChildID) {
        guard !probes.isEmpty, let state = probes.removeValue(forKey: id) else { return }
        if state.timerArmed { emit(.cancelTimer(.probe(id))) }
    }
}
