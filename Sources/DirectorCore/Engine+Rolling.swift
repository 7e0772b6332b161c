import DirectorManifest

// Rolling updates (`update: rolling`, `director restart --rolling`): a pool's instances are
// replaced a few at a time, so that it never has fewer ready instances than its size minus
// `max_unavailable`.
//
// Ids. A child's id is its slot (`web/api/3`), and its process reads the slot from its
// templates and `DIRECTOR_INSTANCE`, its cgroup and log file are named after it: two
// processes cannot share one id. So the extra capacity of a roll is `max_surge` *spare*
// instances numbered after the pool (`web/api/10` and up for a pool of 10), real children with
// the new spec, in the table like any other. With spares ready, the roll restarts the old
// instances in place (stop the old process, start the new one in its slot), as many at a
// time as the spares and `max_unavailable` cover, each waiting for the replacement to be ready
// before the next; once every slot runs the new spec and has been ready, the spares are
// stopped and leave the table. At every moment the ready instances are at least the pool's
// size minus `max_unavailable`; the pool ends as `web/api/0..9`, each with its own slot.
//
// Failure. A new process that exits before it is ready (not ready within `ready.timeout`, a
// crash, a failed spawn), or a spare that exits at all, stops the roll: the spares leave, the
// old instances not yet replaced keep running their old spec, and a `roll_stopped` event says
// why. A slot whose replacement failed is decided by its `on_exit` as usual and goes back to
// its old spec (its old process is gone already; what its rules restart is the one that
// served); the spares keep serving until it is ready again, so the pool keeps its size.
// `director restart --rolling` (or another reload) starts a new roll.

/// One job's rolling update in progress.
struct Roll: Sendable {
    let jobKey: String
    let groupPath: [String]
    let jobName: String
    /// The spec the instances roll to.
    var target: SharedSpec
    /// Slots still running their old process, in the order they roll.
    var pending: [Int]
    /// Slots asked to restart into `target` whose new process has not been ready yet, in
    /// the order they were asked.
    var renewing: [Renewal] = []
    /// The spare instances' numbers (after the pool).
    var spares: [Int] = []
    let maxUnavailable: Int
    /// An operator's roll resets the renewed instances' restart counts, as `restart` does.
    let resetCount: Bool
    /// `reload` or `operator`, in the events.
    let trigger: String
    /// Set when a new instance failed: the roll stops when it is next settled.
    var failure: (reason: String, code: String)?
    /// The roll has stopped (its `roll_stopped` recorded) and only covers `covering` now.
    var stopped = false
    /// Slots whose replacement failed, back on their old spec: the spares keep serving until
    /// these serve again (or are not wanted any more), so the pool keeps its size.
    var covering: [Int] = []
    /// Slots to replace when the roll began, and how many have been.
    let total: Int
    var renewed = 0

    func id(_ instance: Int) -> ChildID { ChildID(groupPath: groupPath, job: jobName, instance: instance) }
}

/// A slot being replaced: the pid of its old process then (nil: it had none), so that the
/// old process's own end is not taken for a failure of the new one, and its old spec, which
/// it goes back to when the new one fails.
struct Renewal: Sendable {
    let instance: Int
    let oldPid: Int32?
    let oldSpec: SharedSpec
}

/// What the end of a process means to a roll (`Engine.rollProcessFailed`).
enum RollFailure {
    /// Nothing: not a roll's new process.
    case none
    /// A spare: removed, never restarted.
    case spare
    /// A slot's replacement, before it was ready: the slot goes back to this spec.
    case replacement(SharedSpec)
}

extension Engine {
    /// Starts rolling `instances` (running slots of `jobKey`, in this order) to `target`. A
    /// roll of the job already in progress stops first (its spares leave; what it renewed is
    /// rolled again when it does not run `target`).
    mutating func beginRoll(
        _ jobKey: String, instances: [Int], target: SharedSpec, policy: UpdatePolicy, resetCount: Bool, trigger: String
    ) {
        if rolls[jobKey] != nil { stopRoll(jobKey, reason: "replaced by a new roll (\(trigger))", code: "replaced") }
        guard !instances.isEmpty, var job = jobRecords[jobKey], let groupPath = ChildID(jobKey + "/0")?.groupPath else { return }
        // Both 0 cannot be written in a manifest; a spec built in code gets one unavailable
        // rather than a roll that never moves.
        let surge = max(0, policy.maxSurge)
        let unavailable = surge == 0 ? max(1, policy.maxUnavailable) : max(0, policy.maxUnavailable)
        var roll = Roll(
            jobKey: jobKey, groupPath: groupPath, jobName: job.spec.name, target: target, pending: instances,
            maxUnavailable: unavailable, resetCount: resetCount, trigger: trigger, total: instances.count)
        let groupKey = groupPath.joined(separator: "/")
        var next = job.slots
        for _ in 0..<min(surge, instances.count) {
            // The first number past every instance that exists: lingering scaled-down ones,
            // and a leaving instance of the job's earlier self (removed and added back by
            // reloads while it exits), which `slots` does not cover.
            while childRecords[roll.id(next)] != nil { next += 1 }
            let id = roll.id(next)
            childRecords[id] = ChildRecord(id: id, groupKey: groupKey, shared: target)
            roll.spares.append(next)
            next += 1
            job.slots = next
        }
        jobRecords[jobKey] = job
        let spareText = roll.spares.isEmpty ? "no spare" : "spare " + roll.spares.map { roll.id($0).description }.joined(separator: ",")
        record(
            jobKey, .roll,
            "\(instances.count) instance(s), max_surge=\(surge) max_unavailable=\(unavailable), \(spareText) (\(trigger))",
            fields: EventFields(reason: trigger))
        rolls[jobKey] = roll
        for n in roll.spares { spawn(roll.id(n)) }
    }

    /// Moves every roll on as far as its budget allows (called before effects are returned,
    /// like `settlePlans`). During the shutdown rolls are dropped: spares are instances past
    /// the pool, which the shutdown stops and removes.
    mutating func settleRolls() {
        guard !rolls.isEmpty else { return }
        if shutdownStatus != nil {
            for key in rolls.keys.sorted() where rolls[key]?.stopped == false {
                record(key, .rollStopped, "the tree is shutting down", log: false, fields: EventFields(reason: "shutdown"))
            }
            rolls = [:]
            return
        }
        for key in rolls.keys.sorted() { advanceRoll(key) }
    }

    private mutating func advanceRoll(_ key: String) {
        guard var roll = rolls[key] else { return }
        guard let job = jobRecords[key] else {
            stopRoll(key, reason: "the job was removed", code: "removed")
            return
        }
        let groupKey = roll.groupPath.joined(separator: "/")
        if !failedGroups.isEmpty && failedGroups.contains(groupKey) {
            stopRoll(key, reason: "its group was given up", code: "given_up")
            return
        }
        if roll.failure == nil && !roll.stopped {
            for n in roll.spares {
                let rec = childRecords[roll.id(n)]
                if let rec, case .failed(let cause) = rec.stopIntent {
                    // Stopped by the engine for a failure of its own (not ready in time).
                    let what = cause == .readyTimeout
                        ? "was not ready within \(Self.format(rec.spec.ready?.timeout ?? .zero))" : "failed (\(cause.rawValue))"
                    roll.failure = ("new instance \(rec.id) \(what)", cause == .readyTimeout ? "not_ready" : cause.rawValue)
                    break
                }
                guard let rec, rec.isLive, rec.stopIntent == nil else {
                    roll.failure = ("spare \(roll.id(n)) was stopped", "spare_stopped")
                    break
                }
            }
        }
        if let failure = roll.failure {
            cover(&roll, failure: failure, job: job)
            return
        }

        // Slots whose old process went its own way meanwhile: nothing of theirs to keep.
        var stillPending: [Int] = []
        for n in roll.pending {
            let id = roll.id(n)
            guard var rec = childRecords[id], n < job.size else { continue }
            let oldProcessServes = rec.state == .running && rec.ready && rec.stopIntent == nil
            if oldProcessServes {
                stillPending.append(n)
                continue
            }
            let oldSpec = rec.shared
            rec.setSpec(roll.target)
            childRecords[id] = rec
            publish(rec)
            switch rec.state {
            case .stopped, .waiting:
                continue  // no process wanted; it starts with the new spec when it starts
            case .backoff:
                roll.renewing.append(Renewal(instance: n, oldPid: nil, oldSpec: oldSpec))  // its next process is the new one
            case .starting, .running, .stopping:
                switch rec.stopIntent {
                case nil:
                    // Not ready: it serves nothing, so replacing it now costs nothing.
                    roll.renewing.append(Renewal(instance: n, oldPid: rec.pid, oldSpec: oldSpec))
                    requestStop(id, intent: .restart(resetCount: roll.resetCount))
                case .restart, .plan, .failed:
                    roll.renewing.append(Renewal(instance: n, oldPid: rec.pid, oldSpec: oldSpec))  // restarts anyway, as the new spec
                case .park, .remove, .giveUp, .shutdown:
                    continue
                }
            }
        }
        roll.pending = stillPending

        // Replacements that are ready, or that will not be wanted any more.
        roll.renewing = roll.renewing.filter { renewal in
            let n = renewal.instance
            guard let rec = childRecords[roll.id(n)], n < job.size else { return false }
            switch rec.stopIntent {
            case .park, .remove, .giveUp, .shutdown: return false
            default: break
            }
            switch rec.state {
            case .stopped, .waiting: return false
            case .running where rec.ready && rec.stopIntent == nil && rec.specHash == roll.target.hash:
                roll.renewed += 1
                return false
            default: return true
            }
        }

        // The budget: ready processes (pool and spares) against the floor.
        var wanted = 0
        var ready = 0
        for n in 0..<job.size {
            guard let rec = childRecords[roll.id(n)] else { continue }
            if Self.servesTraffic(rec) { ready += 1 }
            switch rec.stopIntent {
            case .park, .remove, .giveUp, .shutdown: continue
            default: break
            }
            if rec.state != .stopped && rec.state != .waiting { wanted += 1 }
        }
        for n in roll.spares where childRecords[roll.id(n)].map(Self.servesTraffic) == true { ready += 1 }
        let floor = max(0, wanted - roll.maxUnavailable)
        while let n = roll.pending.first, ready - 1 >= floor {
            roll.pending.removeFirst()
            let id = roll.id(n)
            guard var rec = childRecords[id] else { continue }
            let oldSpec = rec.shared
            rec.setSpec(roll.target)
            childRecords[id] = rec
            publish(rec)
            roll.renewing.append(Renewal(instance: n, oldPid: rec.pid, oldSpec: oldSpec))
            ready -= 1
            record(
                id.description, .restart, "rolling update (\(roll.total - roll.pending.count) of \(roll.total))",
                log: rec.spec.log.events.restart, fields: EventFields(reason: "rolling"))
            requestStop(id, intent: .restart(resetCount: roll.resetCount))
        }

        guard roll.pending.isEmpty && roll.renewing.isEmpty else {
            rolls[key] = roll
            return
        }
        rolls[key] = nil
        retireSpares(roll)
        record(key, .rollDone, "\(roll.renewed) of \(roll.total) instance(s) replaced (\(roll.trigger))",
            fields: EventFields(reason: roll.trigger))
    }

    /// Running, ready, and not asked to stop: counts toward the pool's capacity.
    private static func servesTraffic(_ rec: ChildRecord) -> Bool {
        rec.state == .running && rec.ready && rec.stopIntent == nil
    }

    /// Ends the roll of `key` before its end: its spares leave, the old instances it has not
    /// replaced keep running their old spec.
    mutating func stopRoll(_ key: String, reason: String, code: String) {
        guard let roll = rolls.removeValue(forKey: key) else { return }
        retireSpares(roll)
        guard !roll.stopped else { return }  // said already; it was only covering
        record(
            key, .rollStopped, "\(reason); \(roll.pending.count) old instance(s) keep running",
            severity: .error, fields: EventFields(reason: code))
    }

    /// A new instance failed: the roll stops (`roll_stopped`, once). Slots whose replacement
    /// failed went back to their old spec (`processEnded`); while one of them is wanted but
    /// does not serve yet, the spares that serve stay, so the pool keeps its size; then they
    /// leave and the roll is gone.
    private mutating func cover(_ roll: inout Roll, failure: (reason: String, code: String), job: JobRecord) {
        func wantedButNotServing(_ n: Int) -> Bool {
            guard n < job.size, let rec = childRecords[roll.id(n)], !Self.servesTraffic(rec) else { return false }
            switch rec.stopIntent {
            case .park, .remove, .giveUp, .shutdown: return false
            default: return rec.state != .stopped && rec.state != .waiting
            }
        }
        roll.covering = roll.covering.filter(wantedButNotServing)
        let sparesServe = !roll.spares.isEmpty
            && roll.spares.allSatisfy { n in childRecords[roll.id(n)].map { $0.isLive && $0.stopIntent == nil } == true }
        if !roll.stopped {
            roll.stopped = true
            var detail = "\(failure.reason); \(roll.pending.count) old instance(s) keep running"
            if sparesServe && !roll.covering.isEmpty {
                let spares = roll.spares.map { roll.id($0).description }.joined(separator: ",")
                let slots = roll.covering.map { roll.id($0).description }.joined(separator: ",")
                detail += "; \(spares) serve(s) until \(slots) (back on the old spec) is ready"
            }
            record(roll.jobKey, .rollStopped, detail, severity: .error, fields: EventFields(reason: failure.code))
            roll.pending = []
            roll.renewing = []
        }
        guard sparesServe && !roll.covering.isEmpty else {
            rolls[roll.jobKey] = nil
            retireSpares(roll)
            return
        }
        rolls[roll.jobKey] = roll
    }

    private mutating func retireSpares(_ roll: Roll) {
        for n in roll.spares.reversed() {
            let id = roll.id(n)
            guard let rec = childRecords[id] else { continue }
            if rec.isLive {
                if rec.stopIntent != .shutdown { requestStop(id, intent: .remove) }
            } else {
                removeChild(id)
            }
        }
    }

    /// The process of `rec` ended without being asked to: when it was a roll's new process
    /// (a spare, or a slot's replacement before it was ready), the roll fails. A spare is
    /// then removed by the caller (spares are never restarted); a slot goes back to its old
    /// spec (`.replacement`), so that what its rules restart is the process that served.
    /// `pid` is the process that ended, nil for a failed spawn.
    mutating func rollProcessFailed(
        _ rec: ChildRecord, pid: Int32?, wasReady: Bool, status: ChildExitStatus, cause: ExitCause
    ) -> RollFailure {
        let key = rec.id.jobKey
        guard var roll = rolls[key] else { return .none }
        let n = rec.id.instance
        let isSpare = roll.spares.contains(n)
        // Stopped already, covering: a spare still never restarts.
        if roll.stopped { return isSpare ? .spare : .none }
        let renewal = wasReady ? nil : roll.renewing.firstIndex { $0.instance == n && (pid == nil || pid != $0.oldPid) }
        guard isSpare || renewal != nil else { return .none }
        if roll.failure == nil {
            let what: String
            switch cause {
            case .readyTimeout: what = "was not ready within \(Self.format(rec.spec.ready?.timeout ?? .zero))"
            case .spawnFailed: what = "could not be spawned"
            default: what = wasReady ? "exited (\(status))" : "exited before it was ready (\(status))"
            }
            roll.failure = ("new instance \(rec.id) \(what)", cause == .readyTimeout ? "not_ready" : cause.rawValue)
        }
        guard let index = renewal, !isSpare else {
            rolls[key] = roll
            return .spare
        }
        let oldSpec = roll.renewing.remove(at: index).oldSpec
        roll.covering.append(n)
        rolls[key] = roll
        return .replacement(oldSpec)
    }

    /// An old instance the roll has not reached ended on its own (its exit already decided by
    /// its old rules): its next process is the new spec, and a failure of that one stops the
    /// roll.
    mutating func renewOnCrash(_ rec: inout ChildRecord, pid: Int32?) {
        let key = rec.id.jobKey
        guard var roll = rolls[key], let index = roll.pending.firstIndex(of: rec.id.instance) else { return }
        roll.pending.remove(at: index)
        roll.renewing.append(Renewal(instance: rec.id.instance, oldPid: pid, oldSpec: rec.shared))
        rolls[key] = roll
        rec.setSpec(roll.target)
    }

    /// True when `id` is a spare of a roll in progress.
    func isSpare(_ id: ChildID) -> Bool {
        !rolls.isEmpty && rolls[id.jobKey]?.spares.contains(id.instance) == true
    }

    /// The jobs rolling now (job key → slots not yet replaced), for the runtime and tests.
    public var rollsInProgress: [String: Int] {
        rolls.filter { !$0.value.stopped }.mapValues { $0.pending.count + $0.renewing.count }
    }
}
