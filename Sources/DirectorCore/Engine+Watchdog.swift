import DirectorManifest

// `watchdog: D` and the sd_notify keys beyond READY=1 and STATUS=: the child must send
// WATCHDOG=1 at least every D (systemd's WatchdogSec=); a miss sends SIGABRT, so that a hung
// program leaves a core dump, and its exit has cause `watchdog`.
extension Engine {
    /// At `.started`: the watchdog of a job with `watchdog:` starts now.
    mutating func startWatchdog(_ rec: ChildRecord) {
        guard let interval = rec.spec.watchdog else { return }
        watchdogs[rec.id] = interval
        emit(.armTimer(.watchdog(rec.id), at: now + interval))
    }

    /// The process ended: its watchdog no longer applies.
    mutating func endWatchdog(_ id: ChildID) {
        if !watchdogs.isEmpty, watchdogs.removeValue(forKey: id) != nil { emit(.cancelTimer(.watchdog(id))) }
        if !reloading.isEmpty { reloading.remove(id) }
    }

    mutating func onNotified(_ id: ChildID, pid: Int32, _ notification: Notification) {
        guard var rec = childRecords[id], rec.pid == pid, rec.state == .running, rec.stopIntent == nil else { return }
        switch notification {
        case .watchdog:
            guard let interval = watchdogs[id] else { return }
            emit(.armTimer(.watchdog(id), at: now + interval))
        case .watchdogTrigger:
            guard watchdogs[id] != nil || rec.spec.watchdog != nil else { return }
            watchdogMissed(id, detail: "WATCHDOG=trigger")
        case .watchdogInterval(let interval):
            // systemd's sd_watchdog: the program may change its own interval; 0 turns it off.
            if interval <= .zero {
                if watchdogs.removeValue(forKey: id) != nil { emit(.cancelTimer(.watchdog(id))) }
            } else {
                watchdogs[id] = interval
                emit(.armTimer(.watchdog(id), at: now + interval))
            }
        case .reloading:
            guard rec.ready else { return }
            rec.ready = false
            reloading.insert(id)
            childRecords[id] = rec
            publish(rec)
        case .stopping:
            guard rec.ready else { return }
            rec.ready = false
            childRecords[id] = rec
            publish(rec)
        case .restartReset:
            // The count is what backoff and `when: {restarts: n}` read: both start over.
            if rec.resetTimerArmed {
                rec.resetTimerArmed = false
                emit(.cancelTimer(.resetRestarts(id)))
            }
            rec.restarts = 0
            childRecords[id] = rec
            publish(rec)
        }
    }

    mutating func onWatchdogTimer(_ id: ChildID) {
        guard let interval = watchdogs[id], let rec = childRecords[id], rec.state == .running, rec.stopIntent == nil else { return }
        watchdogMissed(id, detail: "no WATCHDOG=1 within \(Self.format(interval))")
    }

    /// A `not_ready` event, then SIGABRT (`beginStop` sends it for this intent) and the
    /// shutdown's SIGKILL timeout; the exit goes to `on_exit` with cause `watchdog`.
    private mutating func watchdogMissed(_ id: ChildID, detail: String) {
        guard var rec = childRecords[id], let pid = rec.pid else { return }
        watchdogs[id] = nil
        emit(.cancelTimer(.watchdog(id)))
        rec.ready = false
        childRecords[id] = rec
        record(id.description, .notReady, "pid=\(pid) watchdog: \(detail)", log: true, severity: .warning,
            fields: EventFields(pid: pid, cause: .watchdog, signal: .abrt, reason: "watchdog"))
        publish(rec)
        requestStop(id, intent: .failed(.watchdog))
    }
}
