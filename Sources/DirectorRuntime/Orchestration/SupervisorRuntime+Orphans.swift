#if canImport(Glibc)
import Glibc
#endif
import DirectorCore
import DirectorManifest

/// Descendants that left their child's process group, found and stopped with their child.
///
/// `kill(-pgid)` reaches a child's process group only; a descendant that ran `setsid` or
/// `setpgid` (a self-daemonizing server) escapes it, and once the process in between exits
/// the subreaper makes it the daemon's own child. A sweep, at most every 100 ms after a
/// child's exit, lists the daemon's children (`/proc/self/task/*/children`), takes those it
/// did not spawn and that carry this state directory's marker, and reads their `DIRECTOR_ID`:
/// - the child id has no live process, or its live process started after the orphan (the
///   orphan is left from an earlier run of that id): the orphan gets the stop signal and
///   SIGCONT, and SIGKILL 5 s later if it still runs;
/// - otherwise it belongs to the running process (a service's own worker whose parent
///   exited) and is kept until that process ends.
/// At the end of the run whatever is left gets the same treatment, bounded by 2 s.
struct OrphanSweep {
    struct Dying {
        var process: MarkedProcesses.Process
        var killAt: Instant
    }
    var dying: [Dying] = []
    /// Cgroups of children whose process ended since the last sweep: only there can a member
    /// have outlived the process it belongs to (the others' members are kept anyway).
    var endedCgroups: Set<String> = []

    static let timerKey = "director.orphan-sweep"
    static let interval: Duration = .milliseconds(100)
    static let grace: Duration = .seconds(5)
}

extension SupervisorRuntime {
    /// Asks for a sweep soon (a child exited: its escaped descendants are now ours).
    func scheduleOrphanSweep() {
        guard !loop.isTimerArmed(OrphanSweep.timerKey) else { return }
        loop.setTimer(OrphanSweep.timerKey, at: SystemClock.monotonic() + OrphanSweep.interval) { [unowned self] in
            self.sweepOrphans()
        }
    }

    func sweepOrphans() {
        let now = SystemClock.monotonic()
        orphans.dying.removeAll { d in
            guard MarkedProcesses.isAlive(d.process) else { return true }
            if now >= d.killAt {
                MarkedProcesses.send(SIGKILL, to: d.process)
                return true
            }
            return false
        }
        var known = Set(orphans.dying.map(\.process.pid))
        let candidates = MarkedProcesses.ownChildren().filter { !reaper.isTracked($0) && !known.contains($0) }
        var found = candidates.isEmpty ? [] : MarkedProcesses.scan(marker: stateMarker, pids: candidates)
        known.formUnion(found.map(\.pid))
        // The cgroups see what the marker cannot (a descendant that cleared its environment)
        // and what is not ours to reap (without the subreaper): members that outlived the
        // process they belong to.
        if let cgroups {
            found += cgroups.processes(in: orphans.endedCgroups.sorted()).filter { !reaper.isTracked($0.pid) && !known.contains($0.pid) }
            orphans.endedCgroups.removeAll()
        }
        for orphan in found where shouldStop(orphan) {
            MarkedProcesses.send(SIGTERM, to: orphan)
            orphans.dying.append(.init(process: orphan, killAt: now + OrphanSweep.grace))
            log.log(.info, id: orphan.childID ?? "", "stopping pid=\(orphan.pid): a descendant that left the process group of a process that has ended")
        }
        if !orphans.dying.isEmpty { scheduleOrphanSweep() }
    }

    private func shouldStop(_ orphan: MarkedProcesses.Process) -> Bool {
        guard let text = orphan.childID, let id = ChildID(text), engine.snapshot(of: id)?.pid != nil,
            let ticks = startTicks[id]
        else { return true }
        return orphan.startTicks < ticks
    }

    /// At the end of the run: every process the daemon took in and still has is stopped.
    func stopRemainingOrphans() {
        let candidates = MarkedProcesses.ownChildren().filter { !reaper.isTracked($0) }
        var left = MarkedProcesses.scan(marker: stateMarker, pids: candidates) + orphans.dying.map(\.process)
        if let cgroups { left += cgroups.processes(in: cgroups.childNames()).filter { !reaper.isTracked($0.pid) } }
        defer { cgroups?.removeAll() }
        guard !left.isEmpty else { return }
        log.log(.info, "stopping \(Set(left.map(\.pid)).count) descendant(s) that left their child's process group")
        MarkedProcesses.terminate(Array(Set(left)), grace: .seconds(2))
    }
}
