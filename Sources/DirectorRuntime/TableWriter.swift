#if canImport(Glibc)
import Glibc
#endif
import CDirectorSys
import Dispatch
import DirectorCore
import DirectorTable
import Synchronization

/// Commits table changes on a thread of its own, so the event loop never waits on the disk.
///
/// Each LMDB commit syncs the data file (`MDB_NOMETASYNC`: the table stays consistent after
/// an OS crash), which takes milliseconds on a busy disk. Done on the loop, a crash storm
/// would leave the supervisor waiting on fsync instead of reaping and restarting children.
/// Here the loop hands over the changes of each turn with `submit` and goes on; the writer
/// commits whatever has accumulated in one transaction (a turn's changes are never split),
/// so a slow disk means bigger, fewer commits rather than a slower supervisor. A commit that
/// fails is kept and retried a second later; supervision never stops for the table.
///
/// Group commit: a commit starts at most once per `commitInterval`. The first change after a
/// quiet spell is committed at once; in a burst (a restart storm, a reload) the changes of
/// the following turns wait up to the interval and share one commit and one fsync. Without
/// it, a child restarting every 300 µs cost the writer ~65 µs of CPU per restart, mostly the
/// fsync, on the same cores the children and the loop need. `flush` and `close` skip the wait.
final class TableWriter: Sendable {
    private struct State {
        var pending: [TableChange] = []
        /// Changes handed over so far, and how many of them are committed.
        var submitted = 0
        var committed = 0
        /// Transactions committed.
        var commits = 0
        var stopping = false
    }

    private let table: LMDBTable
    private let log: DaemonLog
    private let commitInterval: Duration
    private let state = Mutex(State())
    private let wake = DispatchSemaphore(value: 0)
    /// Signalled by `flush` and `close`: commit now, do not wait out the interval.
    private let urgent = DispatchSemaphore(value: 0)
    private let progress = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)

    /// Starts the writer thread. `commitInterval`: the shortest time between the starts of
    /// two commits (readers see a change at most this much later during a burst).
    init(table: LMDBTable, log: DaemonLog, commitInterval: Duration = .milliseconds(5)) {
        self.table = table
        self.log = log
        self.commitInterval = commitInterval
        DispatchQueue(label: "director.table-writer").async { [self] in run() }
    }

    /// Transactions committed so far (each holds one or more turns' changes).
    var commits: Int { state.withLock { $0.commits } }

    /// Hands over the changes of one loop turn.
    func submit(_ changes: [TableChange]) {
        guard !changes.isEmpty else { return }
        state.withLock {
            $0.pending += changes
            $0.submitted += changes.count
        }
        wake.signal()
    }

    /// Waits until everything submitted so far is committed, at most `timeout`. Returns
    /// false on timeout (the disk is failing or very slow).
    @discardableResult
    func flush(timeout: Duration = .seconds(5)) -> Bool {
        let target = state.withLock { $0.submitted }
        urgent.signal()
        let deadline = SystemClock.monotonic() + timeout
        while state.withLock({ $0.committed < target }) {
            if SystemClock.monotonic() >= deadline { return false }
            _ = progress.wait(timeout: .now() + .milliseconds(100))
        }
        return true
    }

    /// Commits what is left (bounded by `timeout`) and ends the writer thread.
    func close(timeout: Duration = .seconds(10)) {
        flush(timeout: timeout)
        state.withLock { $0.stopping = true }
        urgent.signal()
        wake.signal()
        _ = finished.wait(timeout: .now() + .seconds(2))
    }

    private func run() {
        // Below the event loop: on a busy machine, restarting a child comes before recording it.
        _ = director_set_thread_nice(10)
        var lastCommit = Instant(nanoseconds: .min / 2)
        while true {
            wake.wait()
            // A wake-up for changes an earlier commit already took: nothing to wait for.
            if state.withLock({ $0.pending.isEmpty && !$0.stopping }) { continue }
            let due = lastCommit + commitInterval
            let now = SystemClock.monotonic()
            if now < due {
                // In a burst: let the next turns' changes join this commit (or commit at once
                // when flush or close asks).
                _ = urgent.wait(timeout: .now() + .nanoseconds(Int((due - now).nanosecondsClamped)))
            }
            let (batch, stopping) = state.withLock { s -> ([TableChange], Bool) in
                let batch = s.pending
                s.pending.removeAll(keepingCapacity: true)
                return (batch, s.stopping)
            }
            if !batch.isEmpty {
                lastCommit = SystemClock.monotonic()
                commit(batch)
            }
            if stopping && state.withLock({ $0.pending.isEmpty }) { break }
        }
        finished.signal()
    }

    private func commit(_ batch: [TableChange]) {
        do {
            _ = try table.apply(batch)
            state.withLock {
                $0.committed += batch.count
                $0.commits += 1
            }
            progress.signal()
        } catch {
            log.log(.error, "state table write failed, will retry in 1s: \(error.message)")
            // Put the batch back in front of anything submitted meanwhile, keeping the order.
            state.withLock { $0.pending = batch + $0.pending }
            usleep(1_000_000)
            wake.signal()
        }
    }
}
