import DirectorManifest

// Operator commands, with OTP's rules (terminate_child, restart_child, delete_child).
extension Engine {
    /// Applies an operator's command. Either every id is valid and the command applies, or
    /// nothing is done and the reply is an error (`not_found`, `not_stopped`, `bad_request`,
    /// `shutting_down`).
    public mutating func command(_ command: OperatorCommand, at now: Instant) -> (CommandReply, [Effect]) {
        begin(now)
        guard shutdownStatus == nil else {
            return (CommandError(.shuttingDown, "the tree is shutting down").reply, finish())
        }
        let reply: CommandReply
        switch command {
        case .stop(let ids): reply = stop(ids)
        // An id named twice is restarted (started) once, not once more after its new start.
        case .restart(let ids): reply = restart(Self.unique(ids))
        case .delete(let ids): reply = delete(ids)
        case .scale(let job, let instances): reply = scale(job: job, to: instances)
        case .start(let ids): reply = start(Self.unique(ids))
        case .shutdown:
            beginShutdown(status: 0, reason: "operator shutdown")
            reply = .ok([])
        case .rollingRestart(let ids): reply = rollingRestart(Self.unique(ids))
        }
        return (reply, finish())
    }

    static func unique(_ ids: [ChildID]) -> [ChildID] {
        var seen = Set<ChildID>()
        return ids.filter { seen.insert($0).inserted }
    }

    private func missing(_ ids: [ChildID]) -> CommandReply? {
        let unknown = ids.filter { childRecords[$0] == nil }
        guard !unknown.isEmpty else { return nil }
        return CommandError(.notFound, "no such child: \(unknown.map(\.description).joined(separator: ", "))").reply
    }

    private mutating func stop(_ ids: [ChildID]) -> CommandReply {
        if let error = missing(ids) { return error }
        for id in ids.reversed() {
            guard var rec = childRecords[id] else { continue }
            switch rec.state {
            case .starting, .running, .stopping:
                switch rec.stopIntent {
                case .remove, .shutdown: continue
                default: requestStop(id, intent: .park)
                }
            case .backoff, .waiting:
                detachFromPlan(&rec)
                rec.state = .stopped
                rec.givenUp = false  // the operator's stop outranks a give-up
                childRecords[id] = rec
                record(id.description, .stop, "stopped by operator", log: rec.spec.log.events.stop)
                publish(rec)
            case .stopped:
                childRecords[id]?.givenUp = false
            }
            remember(id, .stopped)
        }
        return .ok(ids)
    }

    private mutating func restart(_ ids: [ChildID]) -> CommandReply {
        if let error = missing(ids) { return error }
        var revived = Set<String>()
        for id in ids {
            if reviveGroup(of: id, revived: &revived) { continue }
            guard var rec = childRecords[id] else { continue }
            switch rec.state {
            case .starting, .running, .stopping:
                switch rec.stopIntent {
                case .remove, .shutdown: break
                default: requestStop(id, intent: .restart(resetCount: true))
                }
            case .backoff, .waiting, .stopped:
                startByOperator(&rec, id, "restarted by operator")
            }
        }
        return .ok(ids)
    }

    /// `restart --rolling`: the running instances of each job roll (Engine+Rolling.swift);
    /// the others start at once, as with `restart`. Spares of a roll in progress are not
    /// restarted on their own (the new roll replaces theirs).
    private mutating func rollingRestart(_ ids: [ChildID]) -> CommandReply {
        if let error = missing(ids) { return error }
        var revived = Set<String>()
        var order: [String] = []
        var running: [String: [Int]] = [:]
        for id in ids {
            if reviveGroup(of: id, revived: &revived) { continue }
            let key = id.jobKey
            guard var rec = childRecords[id], let job = jobRecords[key], id.instance < job.size else { continue }
            if (rec.state == .starting || rec.state == .running) && rec.stopIntent == nil {
                if running[key] == nil { order.append(key) }
                running[key, default: []].append(id.instance)
                continue
            }
            switch rec.state {
            case .starting, .running, .stopping:
                switch rec.stopIntent {
                case .remove, .shutdown: break
                default: requestStop(id, intent: .restart(resetCount: true))
                }
            case .backoff, .waiting, .stopped:
                startByOperator(&rec, id, "restarted by operator")
            }
        }
        for key in order {
            guard let job = jobRecords[key], let instances = running[key] else { continue }
            beginRoll(key, instances: instances, target: job.shared, policy: job.spec.update, resetCount: true, trigger: "operator")
        }
        return .ok(ids)
    }

    /// OTP's `restart_child` for a child that is not running: it starts; running children
    /// are left alone. A child of a group given up starts its whole group again.
    private mutating func start(_ ids: [ChildID]) -> CommandReply {
        if let error = missing(ids) { return error }
        var revived = Set<String>()
        for id in ids {
            if reviveGroup(of: id, revived: &revived) { continue }
            guard var rec = childRecords[id], !rec.isLive else { continue }
            startByOperator(&rec, id, "started by operator")
        }
        return .ok(ids)
    }

    /// An operator starts a child that has no process (`start`, or `restart` of one in
    /// backoff, waiting or stopped): out of any restart plan, its count back to 0, spawned.
    private mutating func startByOperator(_ rec: inout ChildRecord, _ id: ChildID, _ detail: String) {
        detachFromPlan(&rec)
        rec.restarts = 0
        childRecords[id] = rec
        record(id.description, .restart, detail, log: rec.spec.log.events.restart)
        spawn(id)
    }

    /// Starts the given-up group of `id` again; true when there was one (also when an
    /// earlier id of the same command already started it).
    private mutating func reviveGroup(of id: ChildID, revived: inout Set<String>) -> Bool {
        guard let rec = childRecords[id] else { return false }
        let top = topLevelGroup(of: rec.groupKey)
        if revived.contains(top) { return true }
        guard !failedGroups.isEmpty, failedGroups.contains(rec.groupKey) else { return false }
        revive(top, why: "started by operator")
        revived.insert(top)
        return true
    }

    private mutating func delete(_ ids: [ChildID]) -> CommandReply {
        if let error = missing(ids) { return error }
        let busy = ids.filter { id in
            let state = childRecords[id]?.state
            return state != .stopped && state != .waiting
        }
        guard busy.isEmpty else {
            return CommandError(.notStopped, "stop these first: \(busy.map(\.description).joined(separator: ", "))").reply
        }
        for id in ids {
            record(id.description, .delete, "deleted by operator")
            removeChild(id)
        }
        return .ok(ids)
    }

    private mutating func scale(job jobKey: String, to instances: Int) -> CommandReply {
        guard jobRecords[jobKey] != nil else {
            return CommandError(.notFound, "no such job: \(jobKey)").reply
        }
        guard instances >= 0 else {
            return CommandError(.badRequest, "instances must be 0 or more, got \(instances)").reply
        }
        if !rolls.isEmpty { stopRoll(jobKey, reason: "the pool was scaled by an operator", code: "scaled") }
        let (affected, created) = resize(jobKey, to: instances)
        for id in created { spawn(id) }
        if let job = jobRecords[jobKey] {
            rememberScale(jobKey, RestoredState.ScaledPool(instances: instances, specHash: job.specHash))
        }
        return .ok(affected)
    }

    /// Sets a pool's size: instances at or above it stop (highest first) and leave the table
    /// once exited; missing instances below it are created, and returned in order for the
    /// caller to start. Returns every id touched and the created ones.
    mutating func resize(_ jobKey: String, to size: Int) -> (affected: [ChildID], created: [ChildID]) {
        guard var job = jobRecords[jobKey], let groupPath = ChildID(jobKey + "/0")?.groupPath else { return ([], []) }
        let old = job.size
        job.size = size
        job.slots = max(job.slots, size)
        jobRecords[jobKey] = job
        let groupKey = groupPath.joined(separator: "/")
        func id(_ i: Int) -> ChildID { ChildID(groupPath: groupPath, job: job.spec.name, instance: i) }
        var affected: [ChildID] = []
        var created: [ChildID] = []
        for i in (size..<max(size, job.slots)).reversed() where childRecords[id(i)] != nil {
            let cid = id(i)
            affected.append(cid)
            if childRecords[cid]?.isLive == true {
                requestStop(cid, intent: .remove)
            } else {
                removeChild(cid)
            }
        }
        for i in 0..<size where childRecords[id(i)]?.stopIntent == .remove {
            // Scaled down and up again before it exited: it stays, restarted.
            requestStop(id(i), intent: .restart(resetCount: false))
            affected.append(id(i))
        }
        for i in 0..<size where childRecords[id(i)] == nil {
            let cid = id(i)
            childRecords[cid] = ChildRecord(id: cid, groupKey: groupKey, shared: job.shared)
            affected.append(cid)
            created.append(cid)
        }
        record(jobKey, .scale, "instances=\(old)->\(size)")
        return (affected, created)
    }
}
