import DirectorManifest

// One child's life: spawn, started, stop, exit, timers.
extension Engine {
    /// Asks the runtime for a process: the child becomes `starting`.
    mutating func spawn(_ id: ChildID) {
        // The one place processes are requested: never a second one for a live child.
        guard var rec = childRecords[id], !rec.isLive else { return }
        stopWaitingForReady(id)
        if !failedGroups.isEmpty && failedGroups.contains(rec.groupKey) {
            // Its group was given up: nothing in it runs until the group is started again.
            detachFromPlan(&rec)
            rec.state = .stopped
            rec.givenUp = true
            childRecords[id] = rec
            publish(rec)
            return
        }
        if rec.remembered != nil { forget(&rec) }
        rec.givenUp = false
        rec.state = .starting
        rec.pid = nil
        rec.startedAt = nil
        rec.nextRestartAt = nil
        rec.heldBy = nil
        rec.stopIntent = nil
        childRecords[id] = rec
        emit(.spawn(rec.launch))
        publish(rec)
    }

    mutating func onStarted(_ id: ChildID, pid: Int32) {
        guard var rec = childRecords[id], rec.state == .starting else { return }  // stale
        rec.state = .running
        rec.pid = pid
        rec.startedAt = now
        record(id.description, .start, "pid=\(pid)", log: rec.spec.log.events.start, fields: EventFields(pid: pid))
        if rec.stopIntent != nil {
            // It was asked to stop while its spawn was in flight: stop it now.
            childRecords[id] = rec
            beginStop(id)
            return
        }
        startReadiness(&rec)
        if rec.restarts > 0 {
            rec.resetTimerArmed = true
            emit(.armTimer(.resetRestarts(id), at: now + rec.spec.resetAfter))
        }
        childRecords[id] = rec
        publish(rec)
    }

    mutating func onSpawnFailed(_ id: ChildID, reason: String) {
        guard let rec = childRecords[id], rec.state == .starting else { return }
        record(
            id.description, .spawnFailed, reason, log: true, severity: .error,
            fields: EventFields(status: .code(127), cause: .spawnFailed, reason: reason))
        processEnded(id, status: .code(127), reportExit: false)
    }

    /// A spawn the runtime did not wait for failed in the child, after `.started`. The process
    /// never ran the job's program, so it is handled exactly as a spawn that failed at once:
    /// without a pid (an asked verdict's question has none, and no `exit` event follows).
    mutating func onExecFailed(_ id: ChildID, pid: Int32, reason: String) {
        guard var rec = childRecords[id], rec.pid == pid, rec.state == .running || rec.state == .stopping
        else { return }  // stale
        record(
            id.description, .spawnFailed, reason, log: true, severity: .error,
            fields: EventFields(pid: pid, status: .code(127), cause: .spawnFailed, reason: reason))
        rec.pid = nil
        childRecords[id] = rec
        processEnded(id, status: .code(127), reportExit: false)
    }

    mutating func onExited(_ id: ChildID, pid: Int32, status: ChildExitStatus, cause: ExitCause? = nil) {
        guard let rec = childRecords[id], rec.pid == pid, rec.state == .running || rec.state == .stopping
        else { return }  // unknown child or an old process: stale
        processEnded(id, status: status, reportExit: true, observedCause: cause)
    }

    /// The child's process is gone (exited, or never spawned): apply the stop intent when the
    /// engine asked for it, else the exit rules (`.rules`) or ask what to do (`.asked`).
    /// `observedCause`: what the runtime saw besides the status (`oom`).
    private mutating func processEnded(_ id: ChildID, status: ChildExitStatus, reportExit: Bool, observedCause: ExitCause? = nil) {
        guard var rec = childRecords[id] else { return }
        let pid = rec.pid
        let wasReady = rec.ready
        rec.pid = nil
        rec.state = .stopped  // no process any more; every path below sets the final state
        if rec.shutdownTimerArmed {
            rec.shutdownTimerArmed = false
            emit(.cancelTimer(.shutdownTimeout(id)))
        }
        if rec.resetTimerArmed {
            rec.resetTimerArmed = false
            emit(.cancelTimer(.resetRestarts(id)))
        }
        endReadiness(&rec)
        // Stopped by the engine for a failure of the child's own (not ready in time): decided
        // by the rules like a crash, with that cause.
        var cause = reportExit ? observedCause ?? status.cause : .spawnFailed
        if case .failed(let failure) = rec.stopIntent {
            cause = failure
            rec.stopIntent = nil
        }
        // The cause the rules decide by is the one the table shows: an operator reading
        // `watchdog` in `ps` sees why `when: {cause: [watchdog]}` matched.
        rec.lastExit = (status, now, cause)
        let exitDetail = pid.map { "pid=\($0) \(status)" } ?? "\(status)"
        var fields = EventFields(pid: pid, status: status, cause: cause)
        if let intent = rec.stopIntent {
            rec.stopIntent = nil
            childRecords[id] = rec
            fields.requested = true
            // Asked for: an ordinary part of a stop, whatever the code or signal.
            if reportExit { record(id.description, .exit, exitDetail, log: rec.spec.log.events.exit, fields: fields) }
            afterIntendedExit(id, intent: intent)
            return
        }
        var revertTo: SharedSpec?
        if !rolls.isEmpty {
            switch rollProcessFailed(rec, pid: pid, wasReady: wasReady, status: status, cause: cause) {
            case .spare:
                // A roll's spare: the roll stops, and the spare leaves rather than restarts.
                childRecords[id] = rec
                if reportExit {
                    record(id.description, .exit, exitDetail, log: rec.spec.log.events.exit, severity: .warning, fields: fields)
                }
                removeChild(id)
                return
            case .replacement(let old): revertTo = old
            case .none: break
            }
        }
        let decision = ExitDecision.decide(job: rec.spec, status: status, restarts: rec.restarts, cause: cause)
        // A failed replacement is decided by its own rules, and what they restart is the old
        // spec that served.
        if let revertTo { rec.setSpec(revertTo) }
        if !rolls.isEmpty { renewOnCrash(&rec, pid: pid) }
        if exitVerdicts == .asked {
            ask(&rec, pid: pid, status: status, proposed: decision)
            return
        }
        childRecords[id] = rec
        if reportExit { recordCrashExit(rec, detail: exitDetail, status: status, fields: fields, decision: decision) }
        afterCrash(id, decision: decision)
    }

    /// The `.exit` event of an exit nobody asked for: logged when the job's `log.events` and
    /// the decision both say so, with the deciding rule's index.
    private mutating func recordCrashExit(
        _ rec: ChildRecord, detail: String, status: ChildExitStatus, fields: EventFields, decision: ExitDecision
    ) {
        var fields = fields
        fields.requested = false
        fields.ruleIndex = decision.ruleIndex
        record(
            rec.id.description, .exit, detail, log: rec.spec.log.events.exit && decision.log,
            severity: status == .code(0) ? .info : .warning, fields: fields)
    }

    // MARK: Exits decided outside the engine (`ExitVerdictSource.asked`)

    /// Asks what to do about an exit nobody asked for. The child has no process and waits in
    /// `backoff` without a timer: like a child held by a restart plan, it is exited and will
    /// most likely start again, operators and strategies treat it as they treat any child
    /// between processes (`stopped` would mean an operator's decision, which a strategy
    /// leaves alone and a daemon restart keeps). Whatever acts on it meanwhile (an operator,
    /// a restart plan, a give-up, the shutdown, a reload, a scale-down) goes through
    /// `detachFromPlan`, which ends the wait, and the late answer is ignored.
    ///
    /// The exit's `.exit` event waits for the answer, whose `log` and rule index it carries;
    /// a spawn failure's `spawnFailed` event was recorded already, as under `.rules`.
    private mutating func ask(_ rec: inout ChildRecord, pid: Int32?, status: ChildExitStatus, proposed: ExitDecision) {
        rec.state = .backoff
        childRecords[rec.id] = rec
        questionsAsked += 1
        let question = ExitQuestion(
            number: questionsAsked, id: rec.id, jobKey: rec.id.jobKey, pid: pid, status: status,
            restarts: rec.restarts, proposed: proposed)
        openQuestions[rec.id] = question
        publish(rec)
        emit(.decideExit(question))
    }

    /// The answer to an open question: recorded and acted on exactly as the rules' decision
    /// would have been. Any other answer (unknown child, a question that no longer stands, a
    /// second answer) is ignored.
    mutating func onExitDecided(_ id: ChildID, _ decision: ExitDecision, question number: UInt64) {
        guard !openQuestions.isEmpty, let question = openQuestions[id], question.number == number else { return }
        openQuestions[id] = nil
        // Whatever else ends the wait removes the question first; this only guards that rule.
        guard let rec = childRecords[id], rec.state == .backoff, rec.heldBy == nil, rec.nextRestartAt == nil,
            shutdownStatus == nil
        else { return }
        var decision = decision
        if let index = decision.ruleIndex, !rec.spec.onExit.indices.contains(index) {
            decision.ruleIndex = nil  // no such rule: the event must not name one
        }
        // A question without a pid is a failed spawn, which has no `.exit` event (its
        // `spawnFailed` event says it), as under `.rules`.
        if let pid = question.pid {
            recordCrashExit(
                rec, detail: "pid=\(pid) \(question.status)", status: question.status,
                fields: EventFields(pid: pid, status: question.status, cause: question.status.cause), decision: decision)
        }
        afterCrash(id, decision: decision)
    }

    private mutating func afterIntendedExit(_ id: ChildID, intent: StopIntent) {
        guard var rec = childRecords[id] else { return }
        switch intent {
        case .park:
            rec.state = .stopped
            childRecords[id] = rec
            publish(rec)
        case .restart(let resetCount):
            if resetCount { rec.restarts = 0 }
            childRecords[id] = rec
            spawn(id)
        case .remove:
            removeChild(id)
        case .plan(let groupKey) where groupKey == rec.groupKey && rec.spec.restart == .temporary:
            // OTP: a temporary child stopped by its own group's strategy is not restarted but
            // removed. (Covered by a parent's plan, its group restarts whole: it starts again.)
            childRecords[id] = rec
            let strategy = groupRecords[groupKey]?.strategy.rawValue ?? "restart"
            record(
                id.description, .delete,
                "temporary child stopped by the \(strategy) restart of \(groupKey), not restarted",
                log: rec.spec.log.events.stop, fields: EventFields(reason: "temporary"))
            removeChild(id)
            releasePlanSlot(groupKey)
        case .plan(let groupKey):
            rec.state = .backoff
            rec.heldBy = groupKey
            childRecords[id] = rec
            publish(rec)
            releasePlanSlot(groupKey)
        case .shutdown:
            if isRetired(rec) {
                removeChild(id)
            } else {
                rec.state = .stopped
                childRecords[id] = rec
                publish(rec)
            }
            liveDuringShutdown -= 1
            if liveDuringShutdown <= 0 { finishShutdown() }
        case .giveUp:
            rec.state = .stopped
            rec.givenUp = true
            childRecords[id] = rec
            publish(rec)
        case .failed:
            break  // decided as a crash in `processEnded`, never here
        }
    }

    /// The exit nobody asked for: the rules decide.
    private mutating func afterCrash(_ id: ChildID, decision: ExitDecision) {
        guard var rec = childRecords[id] else { return }
        switch decision.action {
        case .wait:
            rec.state = .waiting
            childRecords[id] = rec
            record(id.description, .wait, "waiting for an operator", log: decision.log, fields: EventFields(ruleIndex: decision.ruleIndex))
            remember(id, .waiting)
            publish(rec)
        case .delete:
            record(id.description, .delete, "deleted by exit rule", log: decision.log, fields: EventFields(ruleIndex: decision.ruleIndex))
            removeChild(id)
        case .stop:
            // Held without a timer: the group's restart by its parent starts it again.
            rec.state = .backoff
            childRecords[id] = rec
            publish(rec)
            failGroup(rec.groupKey, reason: "\(id) exited and its rule says stop", code: "stop_rule")
        case .restart:
            let delay = BackoffSchedule.delay(
                job: rec.spec, ruleAfter: decision.after, restarts: rec.restarts, random: &random)
            rec.restarts += 1
            rec.state = .backoff
            childRecords[id] = rec
            record(
                id.description, .restart, "restarts=\(rec.restarts) delay=\(Self.format(delay))",
                log: rec.spec.log.events.restart && decision.log,
                fields: EventFields(restarts: rec.restarts, delay: delay, ruleIndex: decision.ruleIndex))
            if recordRestart(in: rec.groupKey) {
                publish(rec)
                failGroup(rec.groupKey, reason: "restart intensity exceeded", code: "intensity")
                return
            }
            let strategy = groupRecords[rec.groupKey]?.strategy ?? .oneForOne
            if strategy == .oneForOne {
                if delay <= .zero { spawn(id) } else { armRestart(id, delay: delay) }
                return
            }
            publish(rec)
            let members = affectedMembers(of: rec.groupKey, trigger: .child(id))
            cover(rec.groupKey, members: members, trigger: .child(id))
            if delay > .zero {
                // The trigger's own delay holds back the whole plan.
                armRestart(id, delay: delay)
                groupRecords[rec.groupKey]?.planPending? += 1
            }
        }
    }

    /// Puts a child in `backoff` with a restart timer.
    mutating func armRestart(_ id: ChildID, delay: Duration) {
        guard var rec = childRecords[id] else { return }
        rec.state = .backoff
        rec.nextRestartAt = now + delay
        childRecords[id] = rec
        emit(.armTimer(.restart(id), at: now + delay))
        publish(rec)
    }

    mutating func onTimer(_ timer: TimerID) {
        switch timer {
        case .restart(let id):
            guard var rec = childRecords[id], rec.state == .backoff, rec.nextRestartAt != nil else { return }
            rec.nextRestartAt = nil
            if let groupKey = rec.heldBy {
                childRecords[id] = rec
                publish(rec)
                releasePlanSlot(groupKey)
            } else {
                childRecords[id] = rec
                spawn(id)
            }
        case .shutdownTimeout(let id):
            guard var rec = childRecords[id], rec.state == .stopping, rec.shutdownTimerArmed, let pid = rec.pid
            else { return }
            rec.shutdownTimerArmed = false
            childRecords[id] = rec
            emit(.signal(id, pid: pid, .kill))
            record(
                id.description, .stop, "shutdown timeout: pid=\(pid) signal=KILL", log: rec.spec.log.events.stop,
                severity: .warning, fields: EventFields(pid: pid, signal: .kill, reason: "shutdown_timeout"))
        case .readyTimeout(let id):
            onReadyTimeout(id)
        case .probe(let id):
            onProbeTimer(id)
        case .watchdog(let id):
            onWatchdogTimer(id)
        case .resetRestarts(let id):
            guard var rec = childRecords[id], rec.state == .running, rec.resetTimerArmed,
                let started = rec.startedAt, now - started >= rec.spec.resetAfter
            else { return }
            rec.resetTimerArmed = false
            rec.restarts = 0
            childRecords[id] = rec
            publish(rec)
        }
    }

    // MARK: Stopping

    /// Asks a live child to stop for `intent` (deferred until `.started` while `starting`).
    /// Keeps restart-plan counts right when the intent moves the child between plans.
    mutating func requestStop(_ id: ChildID, intent: StopIntent) {
        guard var rec = childRecords[id], rec.isLive else { return }
        let previous = rec.stopIntent
        if previous == intent { return }
        rec.stopIntent = intent
        childRecords[id] = rec
        if case .plan(let old) = previous { releasePlanSlot(old) }
        if case .plan(let new) = intent { groupRecords[new]?.planPending? += 1 }
        if rec.state == .running { beginStop(id) }
    }

    /// Sends the stop signal per the job's shutdown policy; the child becomes `stopping`.
    mutating func beginStop(_ id: ChildID) {
        guard var rec = childRecords[id], rec.state == .running, let pid = rec.pid else { return }
        rec.state = .stopping
        if rec.resetTimerArmed {
            rec.resetTimerArmed = false
            emit(.cancelTimer(.resetRestarts(id)))
        }
        let shutdown = rec.spec.shutdown
        // A missed watchdog sends SIGABRT (a hung program leaves a core dump), then SIGKILL
        // after the shutdown timeout, as systemd's WatchdogSignal= does.
        let watchdog = rec.stopIntent == .failed(.watchdog)
        let signal: ProcessSignal
        switch shutdown.timeout {
        case .after(let timeout) where timeout <= .zero && !watchdog:
            signal = .kill
        case .after(let timeout):
            signal = watchdog ? .abrt : shutdown.signal
            rec.shutdownTimerArmed = true
            emit(.signal(id, pid: pid, signal))
            emit(.armTimer(.shutdownTimeout(id), at: now + timeout))
        case .infinity:
            signal = watchdog ? .abrt : shutdown.signal
        }
        if !rec.shutdownTimerArmed { emit(.signal(id, pid: pid, signal)) }
        childRecords[id] = rec
        record(id.description, .stop, "pid=\(pid) signal=\(signal)", log: rec.spec.log.events.stop, fields: EventFields(pid: pid, signal: signal))
        publish(rec)
    }

    /// Takes a child out of the table (its process is already gone).
    mutating func removeChild(_ id: ChildID) {
        guard var rec = childRecords[id] else { return }
        detachFromPlan(&rec)
        forget(&rec)
        childRecords[id] = nil
        emit(.childRemoved(id))
        let jobKey = id.jobKey
        if var job = jobRecords[jobKey] {
            // Shrink the slot range past trailing holes so walks stay short.
            while job.slots > job.size,
                childRecords[ChildID(groupPath: id.groupPath, job: id.job, instance: job.slots - 1)] == nil
            {
                job.slots -= 1
            }
            jobRecords[jobKey] = job
        }
    }

    /// Frees a non-live child from a restart plan, its restart timer and an open exit
    /// question (whose answer is then ignored).
    mutating func detachFromPlan(_ rec: inout ChildRecord) {
        if !openQuestions.isEmpty { openQuestions[rec.id] = nil }
        stopWaitingForReady(rec.id)
        if rec.nextRestartAt != nil {
            rec.nextRestartAt = nil
            emit(.cancelTimer(.restart(rec.id)))
            if let groupKey = rec.heldBy { releasePlanSlot(groupKey) }
        }
        rec.heldBy = nil
    }

    /// True for a child whose job or instance no longer belongs to the manifest.
    func isRetired(_ rec: ChildRecord) -> Bool {
        guard let job = jobRecords[rec.id.jobKey] else { return true }
        return rec.id.instance >= job.size
    }

    static func format(_ d: Duration) -> String {
        let ms = d.nanosecondsClamped / 1_000_000
        return "\(ms)ms"
    }
}
