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
/// It writes any `ChildTable`, through `apply(_:)` alone (a failed commit is any
/// `TableError`): the daemon's is an `LMDBTable`, an embedding program may pass its own.
/// Each LMDB commit syncs the data file (`MDB_NOMETASYNC`: the table stays consistent after
/// an OS crash), which takes milliseconds on a busy disk. Done on the loop, a crash storm
/// would leave the supervisor waiting on fsync instead of reaping and restarting children.
/// Here the loop hands over the changes of each turn with `submit` and goes on; the writer
/// commits whatever has accumulated in one transaction (a turn's changes are never split),
/// so a slow disk means bigger, fewer commits rather than a slower supervisor.
///
/// When the table cannot be written (a full disk): supervision never stops for it, and memory
/// stays bounded. Changes wait in a `TableBacklog` (the newest row per child, the newest
/// 10 000 events, an `events_dropped` note for the rest), retried after 100 ms, doubling to
/// 1 s, in pieces that halve after each failure (a full disk often still has room in
/// LMDB's free pages for a small transaction) and double after each success; so the table
/// catches up within seconds of space returning. The failure is logged once, and its end
/// once. While failing, `flush` does not wait and `close` makes one last attempt: a shutdown
/// on a full disk costs no more than that.
///
/// Group commit: a commit starts at most once per `commitInterval`. The first change after a
/// quiet spell is committed at once; in a burst (a restart storm, a reload) the changes of
/// the following turns wait up to the interval and share one commit and one fsync. Without
/// it, a child restarting every 300 µs cost the writer ~65 µs of CPU per restart, mostly the
/// fsync, on the same cores the children and the loop need. `flush` and `close` skip the wait.
final class TableWriter: Sendable {
    private struct State {
        var backlog: TableBacklog
        /// Submits so far, and the last submit whose changes are all in the table.
        var submitted = 0
        var committed = 0
        /// Transactions committed.
        var commits = 0
        /// The last commit failed (and the backlog waits for a retry).
        var failing = false
        var stopping = false
    }

    private let table: any ChildTable
    /// Fed after each commit (DESIGN §9: the cluster table); nil for most supervisors.
    private let mirror: (any TableMirror)?
    private let log: RuntimeLog
    private let commitInterval: Duration
    private let state: Mutex<State>
    private let wake = DispatchSemaphore(value: 0)
    /// Signalled by `flush` and `close`: commit now, do not wait out the interval.
    private let urgent = DispatchSemaphore(value: 0)
    private let progress = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)

    /// Starts the writer thread. `commitInterval`: the shortest time between the starts of
    /// two commits (readers see a change at most this much later during a burst).
    init(
        table: any ChildTable, log: RuntimeLog, commitInterval: Duration = .milliseconds(5), eventWindow: Int = 10_000,
        mirror: (any TableMirror)? = nil
    ) {
        self.state = Mutex(State(backlog: TableBacklog(eventWindow: eventWindow)))
        self.table = table
        self.mirror = mirror
        mirror?.attach(to: table)
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
            $0.backlog.add(changes)
            $0.submitted += 1
        }
        wake.signal()
    }

    /// Waits until everything submitted so far is committed, at most `timeout`. Returns
    /// false on timeout, and at once while the table cannot be written.
    @discardableResult
    func flush(timeout: Duration = .seconds(5)) -> Bool {
        let target = state.withLock { $0.submitted }
        urgent.signal()
        let deadline = SystemClock.monotonic() + timeout
        while true {
            let (done, failing) = state.withLock { ($0.committed >= target, $0.failing) }
            if done { return true }
            if failing || SystemClock.monotonic() >= deadline { return false }
            _ = progress.wait(timeout: .now() + .milliseconds(100))
        }
    }

    /// Commits what is left (bounded by `timeout`; one last attempt when the table is
    /// failing) and ends the writer thread.
    func close(timeout: Duration = .seconds(10)) {
        flush(timeout: timeout)
        state.withLock { $0.stopping = true }
        urgent.signal()
        wake.signal()
        _ = finished.wait(timeout: .now() + .seconds(2))
        mirror?.close()
    }

    private func run() {
        // Below the event loop: on a busy machine, restarting a child comes before recording it.
        _ = director_set_thread_nice(10)
        var lastCommit = Instant(nanoseconds: .min / 2)
        var pieceLimit = Self.largestPiece
        // A piece left changes behind (the start of a large pool): commit the rest at once.
        var moreWaiting = false
        var retryDelay = Self.firstRetryDelay
        var failingSince: Instant?
        while true {
            let (empty, stopping, failing) = state.withLock { ($0.backlog.isEmpty, $0.stopping, $0.failing) }
            if empty {
                if stopping { break }
                wake.wait()
                continue
            }
            if failing && !stopping {
                // Retry later (or at once when flush or close asks).
                _ = urgent.wait(timeout: .now() + .nanoseconds(Int(retryDelay.nanosecondsClamped)))
            } else if !failing && !moreWaiting {
                let due = lastCommit + commitInterval
                let now = SystemClock.monotonic()
                if now < due {
                    // In a burst: let the next turns' changes join this commit (or commit at
                    // once when flush or close asks).
                    _ = urgent.wait(timeout: .now() + .nanoseconds(Int((due - now).nanosecondsClamped)))
                }
            }
            let (piece, generation) = state.withLock { s -> (TableBacklog.Piece, Int?) in
                let piece = s.backlog.take(upTo: pieceLimit)
                // Only a piece that empties the backlog completes the submits so far.
                return (piece, s.backlog.isEmpty ? s.submitted : nil)
            }
            moreWaiting = generation == nil
            lastCommit = SystemClock.monotonic()
            do {
                let seqs = try table.apply(piece.changes)
                // After the commit, so a mirror never shows what the table does not hold.
                mirror?.committed(piece.changes, eventSeqs: seqs)
                state.withLock {
                    if let generation { $0.committed = max($0.committed, generation) }
                    $0.commits += 1
                    $0.failing = false
                }
                if let since = failingSince {
                    let seconds = Double((SystemClock.monotonic() - since).nanosecondsClamped) / 1e9
                    log.log(.info, "state table writes resumed after \(Self.format(seconds)) s")
                    failingSince = nil
                }
                pieceLimit = min(Self.largestPiece, pieceLimit * 2)
                retryDelay = Self.firstRetryDelay
            } catch {
                let left = state.withLock { s -> Int in
                    s.backlog.restore(piece)
                    s.failing = true
                    return s.backlog.count
                }
                if failingSince == nil {
                    failingSince = SystemClock.monotonic()
                    log.log(.error, "state table write failed, retrying with smaller pieces while supervision goes on: \(error.message)")
                }
                pieceLimit = max(1, min(pieceLimit, piece.changes.count) / 2)
                retryDelay = min(retryDelay * 2, Self.maxRetryDelay)
                if stopping {
                    log.log(.error, "state table: \(left) changes not written at exit: \(error.message)")
                    break
                }
            }
            progress.signal()
        }
        finished.signal()
    }

    private static let firstRetryDelay: Duration = .milliseconds(100)
    private static let maxRetryDelay: Duration = .seconds(1)
    /// The most changes one transaction applies. LMDB keeps every page a write transaction
    /// dirtied in a malloc'd cache for the life of the environment, so one transaction over
    /// 10 000 new child rows left ~7 MB of anonymous memory behind for good; pieces of 250
    /// (a few hundred pages) cost a few more commits at the start of a large pool only.
    static let largestPiece = 250

    private static func format(_ seconds: Double) -> String {
        String(Int(seconds * 10) / 10) + "." + String(Int(seconds * 10) % 10)
    }
}
