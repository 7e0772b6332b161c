import DirectorManifest

// ReadySpec (`ready:`): a child that must say it is ready before the children after it start,
// at the first start and in restart plans, as OTP's synchronous `start_link`. Children of
// jobs without `ready:` are ready when they run and hold nothing back, so a tree without
// `ready:` starts exactly as before (one pass, no queue).
extension Engine {
    /// Spawns `ids` (in tree order). A child whose job has `ready:` holds back every later id
    /// of its top-level group until it is ready; ids of other top-level groups go on.
    mutating func startInOrder(_ ids: [ChildID]) {
        var pending = ids[...]
        while let id = pending.popFirst() {
            spawn(id)
            guard let rec = childRecords[id], rec.state == .starting, rec.spec.ready != nil, !pending.isEmpty else { continue }
            let top = id.groupPath.first
            let held = pending.filter { $0.groupPath.first == top }
            guard !held.isEmpty else { continue }
            pending = pending.filter { $0.groupPath.first != top }[...]
            hold(held, behind: id)
        }
    }

    /// Queues `ids` behind `blocker`: each waits in `backoff` without a timer, as a child
    /// held by a restart plan, so operators, plans, reloads and the shutdown treat it alike.
    private mutating func hold(_ ids: [ChildID], behind blocker: ChildID) {
        var queued: [ChildID] = []
        for id in ids {
            guard var rec = childRecords[id], !rec.isLive else { continue }
            rec.state = .backoff
            childRecords[id] = rec
            waitsForReady[id] = blocker
            queued.append(id)
            publish(rec)
        }
        if !queued.isEmpty { readyQueues[blocker, default: []] += queued }
    }

    /// Starts the children queued behind `blocker` that still wait for it.
    private mutating func release(_ blocker: ChildID) {
        guard let queue = readyQueues.removeValue(forKey: blocker) else { return }
        var ids: [ChildID] = []
        for id in queue where waitsForReady[id] == blocker {
            waitsForReady[id] = nil
            ids.append(id)
        }
        startInOrder(ids)
    }

    /// Ends a child's wait for a blocker (anything that acts on it: spawn, stop, plan, removal).
    mutating func stopWaitingForReady(_ id: ChildID) {
        guard !waitsForReady.isEmpty else { return }
        waitsForReady[id] = nil
    }

    /// A blocker that will not become ready on its own (removed, waiting for an operator,
    /// stopped) releases its queue: the children behind it start now. During the shutdown
    /// queues are dropped (the waiting children are stopped by it).
    mutating func releaseAbandonedQueues() {
        if shutdownStatus != nil {
            readyQueues = [:]
            waitsForReady = [:]
            return
        }
        for blocker in Array(readyQueues.keys) {
            guard let rec = childRecords[blocker] else {
                release(blocker)
                continue
            }
            switch rec.state {
            case .waiting, .stopped: release(blocker)
            case .running where rec.ready: release(blocker)
            default: break
            }
        }
    }

    mutating func onReady(_ id: ChildID, pid: Int32) {
        guard var rec = childRecords[id], rec.pid == pid, rec.state == .running, !rec.ready, rec.stopIntent == nil else { return }
        if !reloading.isEmpty, reloading.remove(id) != nil {
            // READY=1 after RELOADING=1: ready again; nothing was held back by it.
            rec.ready = true
            childRecords[id] = rec
            record(id.description, .ready, "pid=\(pid) after reloading", log: rec.spec.log.events.start, fields: EventFields(pid: pid))
            publish(rec)
            return
        }
        guard rec.spec.ready != nil, rec.readyTimerArmed else { return }
        rec.ready = true
        if rec.readyTimerArmed {
            rec.readyTimerArmed = false
            emit(.cancelTimer(.readyTimeout(id)))
        }
        childRecords[id] = rec
        startHealth(rec)
        let waited = rec.startedAt.map { now - $0 } ?? .zero
        record(id.description, .ready, "pid=\(pid) after \(Self.format(waited))", log: rec.spec.log.events.start,
            fields: EventFields(pid: pid, delay: waited))
        publish(rec)
        release(id)
    }

    mutating func onStatus(_ id: ChildID, pid: Int32, text: String) {
        guard let rec = childRecords[id], rec.pid == pid, rec.isLive, statusTexts[id] != text else { return }
        statusTexts[id] = text
        publish(rec)
    }

    /// At `.started`: a child without `ready:` is ready now; one with it gets its timeout.
    mutating func startReadiness(_ rec: inout ChildRecord) {
        if !statusTexts.isEmpty { statusTexts[rec.id] = nil }
        startWatchdog(rec)
        guard let ready = rec.spec.ready else {
            rec.ready = true
            startHealth(rec)
            return
        }
        rec.ready = false
        rec.readyTimerArmed = true
        emit(.armTimer(.readyTimeout(rec.id), at: now + ready.timeout))
        if case .probe = ready.check { scheduleProbe(rec.id, after: Self.readyPollInitial) }
    }

    /// The process ended: it is not ready any more, and its timeout no longer applies.
    mutating func endReadiness(_ rec: inout ChildRecord) {
        rec.ready = false
        if rec.readyTimerArmed {
            rec.readyTimerArmed = false
            emit(.cancelTimer(.readyTimeout(rec.id)))
        }
        endProbes(rec.id)
        endWatchdog(rec.id)
    }

    /// Not ready in time: a `not_ready` event, and the child is stopped with its `shutdown`;
    /// the exit then goes to `on_exit` with cause `ready_timeout`.
    mutating func onReadyTimeout(_ id: ChildID) {
        guard var rec = childRecords[id], rec.readyTimerArmed, rec.state == .running, !rec.ready, let pid = rec.pid,
            rec.stopIntent == nil
        else { return }
        rec.readyTimerArmed = false
        childRecords[id] = rec
        let timeout = rec.spec.ready?.timeout ?? .zero
        record(id.description, .notReady, "pid=\(pid) not ready within \(Self.format(timeout))", log: true, severity: .warning,
            fields: EventFields(pid: pid, cause: .readyTimeout, reason: "ready_timeout"))
        requestStop(id, intent: .failed(.readyTimeout))
    }
}
