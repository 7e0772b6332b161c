#if canImport(Glibc)
import Glibc
#endif
import CDirectorSys
import DirectorCore
import DirectorManifest

/// Collects exit statuses: our children through their pidfds, re-parented orphans on SIGCHLD.
///
/// Tracked children: the pidfd becomes readable when the child exits; then
/// `waitid(P_PID, pid, WEXITED)` reaps it and tells exit code from signal exactly.
///
/// Orphans: the daemon is a child subreaper (`becomeSubreaper()`), so a grandchild whose parent
/// died becomes our child and must be reaped, or it stays a zombie. On SIGCHLD the supervisor
/// calls `collectExited()`, which peeks with `waitid(P_ALL, WNOHANG | WNOWAIT)` (nothing is
/// reaped by the peek): a tracked pid is reaped through the tracked path (its exit is
/// delivered normally), a pid another spawner owns stops the collection (its owner reaps it
/// soon; the next SIGCHLD resumes), anything else is an orphan and is reaped here.
package final class ProcessReaper {
    private struct Tracked {
        var pidfd: Int32
        var onExit: (ChildExitStatus) -> Void
    }

    private let loop: EventLoop
    private var tracked: [Int32: Tracked] = [:]

    /// Called for every orphan reaped, with its status.
    package var onOrphanReaped: ((Int32, ChildExitStatus) -> Void)?

    /// How many orphans were reaped so far.
    package private(set) var orphansReaped = 0

    /// True when this reaper also collects orphans on SIGCHLD (the process is a subreaper);
    /// false for an embedded supervisor, which reaps only the pids it started, each with
    /// `waitid(P_PID)` when its pidfd says it has exited, so a host's own children
    /// (`Foundation.Process`, swift-subprocess) keep their exit statuses.
    package let collectsOrphans: Bool

    /// Whether the children it tracks need a pidfd to be noticed: only without SIGCHLD
    /// collection. The subreaping daemon sees every exit on SIGCHLD, and a child keeps its
    /// pid (and its process group its id) until this reaper reaps it, so signals by pid are
    /// as safe as through a pidfd; it saves a descriptor per child.
    package var needsPidfds: Bool { !collectsOrphans }

    /// Creates a reaper on `loop`.
    package init(loop: EventLoop, collectsOrphans: Bool = true) {
        self.loop = loop
        self.collectsOrphans = collectsOrphans
    }

    /// Without a pidfd and without SIGCHLD collection, an exit is looked for this often.
    static let pollInterval: Duration = .milliseconds(20)

    /// Makes this process a child subreaper. Call once at daemon start.
    package static func becomeSubreaper() throws(RuntimeError) {
        guard director_set_child_subreaper() == 0 else { throw .system("prctl(PR_SET_CHILD_SUBREAPER)", errno: errno) }
    }

    /// How many children are tracked.
    package var trackedCount: Int { tracked.count }

    /// True when `pid` is a tracked child (spawned, not reaped yet).
    package func isTracked(_ pid: Int32) -> Bool { tracked[pid] != nil }

    /// Tracks a spawned child: `onExit` runs once, on the loop, when it has exited and been
    /// reaped. Takes ownership of `pidfd` (may be -1: then only `collectExited` sees the exit).
    package func track(pid: Int32, pidfd: Int32, onExit: @escaping (ChildExitStatus) -> Void) throws(RuntimeError) {
        tracked[pid] = Tracked(pidfd: pidfd, onExit: onExit)
        guard pidfd >= 0 else {
            if !collectsOrphans { poll(pid) }
            return
        }
        try loop.watch(pidfd, for: .readable, urgent: true) { [weak self] _ in self?.reapTracked(pid) }
    }

    /// Tracked exits one `collectExited` call reports.
    static let trackedExitsPerTurn = 32
    private static let continueTimer = "reaper-continue"

    /// Reaps every exited child: tracked ones through their `onExit`, orphans here.
    /// Bounded per call so a fork bomb of orphans cannot hold the loop.
    package func collectExited() {
        // Tracked exits are reported after the collection: an exit callback may start a
        // replacement (a restart storm), and collecting that one's exit in the same call
        // would keep the call — and the loop turn, table commits, the control socket — going
        // for as long as the storm lasts.
        // At most `trackedExitsPerTurn` of them per call, so one turn's work stays bounded;
        // when there are more, an immediate timer continues next turn, after the other fds.
        var exits: [(onExit: (ChildExitStatus) -> Void, status: ChildExitStatus)] = []
        defer { for exit in exits { exit.onExit(exit.status) } }
        for _ in 0..<4096 {
            var pid: pid_t = 0
            guard director_peek_exited(&pid) == 1 else { return }
            if tracked[pid] != nil {
                guard exits.count < Self.trackedExitsPerTurn else {
                    loop.setTimer(Self.continueTimer, at: loop.now) { [weak self] in self?.collectExited() }
                    return
                }
                if let exit = reap(pid) { exits.append(exit) } else { return }
            } else if OwnedChildren.contains(pid) {
                return
            } else if let status = Self.waitExited(pid, block: false) {
                orphansReaped += 1
                onOrphanReaped?(pid, status)
            } else {
                return
            }
        }
    }

    /// Reaps a tracked child now if it has exited, delivering its `onExit`; does nothing while
    /// it runs or once it is reaped. For hints that an exit is near, such as both of its
    /// output pipes reaching end-of-file.
    package func reapIfExited(_ pid: Int32) {
        guard tracked[pid] != nil else { return }
        reapTracked(pid)
    }

    /// Looks for the exit of a tracked child that has no pidfd, until it is reaped.
    private func poll(_ pid: Int32) {
        loop.setTimer("reaper-poll-\(pid)", at: loop.now + Self.pollInterval) { [weak self] in
            guard let self, self.tracked[pid] != nil else { return }
            self.reapTracked(pid)
            if self.tracked[pid] != nil { self.poll(pid) }
        }
    }

    private func reapTracked(_ pid: Int32) {
        guard let exit = reap(pid) else { return }
        exit.onExit(exit.status)
    }

    /// Reaps a tracked child and stops tracking it; nil while it still runs.
    private func reap(_ pid: Int32) -> (onExit: (ChildExitStatus) -> Void, status: ChildExitStatus)? {
        guard let child = tracked[pid] else { return nil }
        var kind: Int32 = 0, value: Int32 = 0
        let rc = director_wait_pid(pid, 1, &kind, &value)
        if rc == 0 { return nil }  // still running (a spurious wakeup)
        // rc < 0 (ECHILD): something outside the reaper took the status. Report the exit as
        // code -1, which no real exit produces, rather than leaving the child "running"
        // forever with a readable pidfd that would spin the loop.
        let status: ChildExitStatus = rc < 0 ? .code(-1) : kind == 1 ? .code(value) : .signal(ProcessSignal(number: value))
        tracked[pid] = nil
        OwnedChildren.remove(pid)
        if child.pidfd >= 0 {
            loop.unwatch(child.pidfd)
            close(child.pidfd)
        }
        return (child.onExit, status)
    }

    /// Reaps `pid` if it has exited (or waits for it with `block`): its status, or nil when it
    /// still runs or is not our child. Also usable without a reaper (tests, shutdown).
    package static func waitExited(_ pid: Int32, block: Bool) -> ChildExitStatus? {
        var kind: Int32 = 0, value: Int32 = 0
        guard director_wait_pid(pid, block ? 0 : 1, &kind, &value) == 1 else { return nil }
        OwnedChildren.remove(pid)
        return kind == 1 ? .code(value) : .signal(ProcessSignal(number: value))
    }
}
