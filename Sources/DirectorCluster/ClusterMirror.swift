import Dispatch
import DirectorTable
import Foundation
import PostgresNIO
import Synchronization

/// The cluster table's writer (DESIGN §9): a `TableMirror` that copies one node's LMDB rows
/// into PostgreSQL, asynchronously, on a thread of its own.
///
/// The LMDB table stays the truth; PostgreSQL is the shared view. Supervision never waits for
/// PostgreSQL: `committed` only queues (rows coalesced per id, events up to a window) and
/// wakes the mirror's thread, which sends each batch in one transaction.
///
/// - Fencing: at its first connection the mirror takes the node's next `epoch` (one more at
///   every daemon start). Every write transaction first locks the node's row and checks the
///   epoch is still its own; a daemon whose node was taken over by a newer one (a higher
///   epoch) changes nothing, logs it once, and stops writing. Rows also carry
///   `(epoch, rev)`, and an upsert only replaces a row with a lower pair, so replaying a batch
///   is harmless (idempotent on rev).
/// - PostgreSQL away: logged once; the queue is dropped (memory stays O(1) however long the
///   outage) and, on reconnect, the mirror re-reads the node's whole state from the LMDB
///   table it is attached to: every row upserted, rows PostgreSQL has and LMDB no longer has
///   deleted, events after the last one PostgreSQL holds inserted (those LMDB no longer
///   keeps are counted in `director_nodes.events_dropped`).
/// - Liveness: a heartbeat with the database's clock every lease/3. The node holding the
///   cluster's advisory lock (`ClusterSchema.reaperLock`) marks nodes past their lease
///   `down`; readers show a down node's children as `unknown`.
/// - Commands: rows of `director_commands` for this node (woken by LISTEN, polled at each
///   heartbeat) are carried out through `commandHandler` and answered in `result`.
public final class ClusterMirror: TableMirror, Sendable {
    /// Settings.
    public struct Options: Sendable {
        /// How long a node may go without a heartbeat before it is marked down.
        public var lease: Duration = .seconds(10)
        /// Events queued while connected before older ones are dropped (and counted).
        public var eventWindow = 10_000
        /// Events kept in PostgreSQL per node (older ones deleted as new ones arrive).
        public var eventCapacity = 10_000
        /// The shortest time between two batches while changes keep coming. In a restart storm
        /// the table commits every few milliseconds; a transaction per commit cost the daemon
        /// 8–9 % of a core at 200 restarts/s (the mirror's thread, NIO's, and the round trips
        /// of each transaction). Between batches rows coalesce (only the newest of each is
        /// sent), so a longer interval means fewer, larger transactions and a lag of about half
        /// of it. The first change after a quiet spell is sent at once.
        public var batchInterval: Duration = .milliseconds(50)
        /// The daemon's pid and version, stored in `director_nodes`.
        public var pid: Int32 = 0
        /// The daemon's version.
        public var version = ""
        /// Carries out a command for this node; nil: commands are answered `unsupported`.
        public var commandHandler: (@Sendable (ClusterCommand) async -> ClusterCommand.Outcome)?
        /// Receives the mirror's log lines (level `info` or `error`, message).
        public var log: @Sendable (_ error: Bool, _ message: String) -> Void = { _, _ in }
        /// The defaults.
        public init() {}
    }

    fileprivate enum RowKey: Hashable {
        case child(String)
        case group(String)
    }

    fileprivate struct State {
        var table: (any ChildTableReader)?
        var rows: [RowKey: String?] = [:]
        var order: [RowKey] = []
        var events: [EventEntry] = []
        var droppedEvents = 0
        var connected = false
        /// The queue does not hold everything since the last acknowledged state: read the
        /// whole state from the table before sending deltas again.
        var needsResync = true
        /// A resync is reading and sending the table: `submitted` as it was when the sync
        /// cleared the queue (what the sync covers), nil when none runs. Commits after that
        /// point are queued and acknowledged by the batch that sends them, not by the sync.
        var syncCovers: Int?
        var closing = false
        var epoch: Int64?
        var fenced = false
        /// Batches acknowledged by PostgreSQL (tests and the bench wait on this).
        var acknowledged = 0
        var submitted = 0
        var commandsWaiting = false
        /// The first full sync of this daemon's epoch is done.
        var syncedThisEpoch = false
        /// The last `rev` given to a row in this epoch.
        var rev: Int64 = 0
    }

    /// This node's name.
    public let node: String
    /// Where PostgreSQL is.
    public let location: ClusterLocation
    private let options: Options
    private let state = Mutex(State())
    private let wake = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)

    /// A mirror for `node`; its thread starts connecting at once (it creates the schema if
    /// missing and takes the node's next epoch at the first successful connection).
    public init(location: ClusterLocation, node: String, options: Options = Options()) {
        self.location = location
        self.node = node
        self.options = options
        let thread = Thread { [self] in run() }
        thread.name = "director.cluster-mirror"
        thread.start()
    }

    /// The epoch this daemon writes with, once it has one.
    public var epoch: Int64? { state.withLock { $0.epoch } }

    /// True once a newer daemon of this node took over (nothing more is written).
    public var isFenced: Bool { state.withLock { $0.fenced } }

    /// Waits until everything committed so far is in PostgreSQL, at most `timeout`.
    @discardableResult
    public func flush(timeout: Duration = .seconds(5)) -> Bool {
        let deadline = ContinuousClock.now + timeout
        let target = state.withLock { $0.submitted }
        while ContinuousClock.now < deadline {
            let (acked, resync, connected) = state.withLock { ($0.acknowledged, $0.needsResync || $0.syncCovers != nil, $0.connected) }
            if acked >= target && !resync && connected { return true }
            wake.signal()
            usleep(20_000)
        }
        return false
    }

    // MARK: TableMirror

    public func attach(to table: any ChildTableReader) {
        state.withLock { $0.table = table }
        wake.signal()
    }

    public func committed(_ changes: [TableChange], eventSeqs: [UInt64]) {
        let node = self.node
        let window = options.eventWindow
        state.withLock { s in
            s.submitted += 1
            // Disconnected or about to re-read everything: the table holds it all already.
            guard s.connected, !s.needsResync, !s.fenced else { return }
            var seqs = eventSeqs.makeIterator()
            for change in changes {
                switch change {
                case .upsertChild(let r) where r.node == nil || r.node == node: s.put(.child(r.id), r.json.serialized())
                case .deleteChild(let id): s.put(.child(id), nil)
                case .upsertGroup(let g) where g.node == nil || g.node == node: s.put(.group(g.key), g.json.serialized())
                case .deleteGroup(let path): s.put(.group(path.isEmpty ? GroupRecord.rootKey : path), nil)
                case .appendEvent(let e):
                    guard let seq = seqs.next() else { continue }
                    guard e.node == nil || e.node == node else { continue }
                    s.events.append(e.numbered(seq))
                    if s.events.count > window {
                        s.events.removeFirst(s.events.count - window)
                        s.droppedEvents += 1
                    }
                default: break
                }
            }
        }
        wake.signal()
    }

    public func close() {
        state.withLock { $0.closing = true }
        wake.signal()
        _ = finished.wait(timeout: .now() + .seconds(5))
    }

    // MARK: - The mirror's thread

    private func run() {
        // Every signal blocked on this thread, and so on the NIO threads it creates at the
        // first connection: a daemon takes SIGTERM and SIGCHLD through a signalfd on its own
        // thread, and a process-directed signal landing on a thread that has it unblocked
        // would take its default action instead (SIGTERM killed the daemon outright).
        var all = sigset_t()
        sigfillset(&all)
        pthread_sigmask(SIG_BLOCK, &all, nil)
        var session: PostgresSession?
        var downSince: ContinuousClock.Instant?
        var retry: Duration = .milliseconds(100)
        var lastBatch: ContinuousClock.Instant?
        var nextHeartbeat = ContinuousClock.now
        var holdsReaperLock = false
        let heartbeatEvery = options.lease / 3
        defer { finished.signal() }
        while true {
            let (closing, fenced) = state.withLock { ($0.closing, $0.fenced) }
            if fenced {
                if closing { session?.close(); return }
                _ = wake.wait(timeout: .now() + .seconds(1))
                continue
            }
            do throws(ClusterError) {
                if session == nil || session!.isClosed {
                    if closing && state.withLock({ $0.epoch == nil }) { return }
                    session = nil
                    holdsReaperLock = false
                    let s = try PostgresSession(location.configuration)
                    try register(s)
                    listenForCommands(s)
                    session = s
                    state.withLock { $0.connected = true; $0.needsResync = true }
                    if let since = downSince {
                        let seconds = Double((ContinuousClock.now - since).components.seconds)
                        options.log(false, "cluster: PostgreSQL at \(location) reachable again after \(Int(seconds)) s; resending this node's rows")
                        downSince = nil
                    }
                    retry = .milliseconds(100)
                }
                guard let s = session else { continue }
                if state.withLock({ $0.needsResync && $0.table != nil }) { try resync(s) }
                let batchDue = closing || lastBatch.map { ContinuousClock.now - $0 >= options.batchInterval } ?? true
                if batchDue, try sendPending(s) { lastBatch = ContinuousClock.now }
                if ContinuousClock.now >= nextHeartbeat {
                    try heartbeat(s, holdsReaperLock: &holdsReaperLock)
                    nextHeartbeat = ContinuousClock.now + heartbeatEvery
                    state.withLock { $0.commandsWaiting = true }
                }
                if state.withLock({ $0.commandsWaiting }) {
                    state.withLock { $0.commandsWaiting = false }
                    try takeCommands(s)
                }
                if closing {
                    _ = try? s.run("UPDATE director_nodes SET status = 'stopped', heartbeat_at = now() WHERE node = \(node) AND epoch = \(state.withLock { $0.epoch ?? -1 })")
                    s.close()
                    return
                }
                let (idle, batchWaits) = state.withLock { s in
                    let work = s.commandsWaiting || (s.needsResync && s.table != nil)
                    let queued = !s.rows.isEmpty || !s.events.isEmpty
                    return (!work && !queued, !work && queued)
                }
                if idle {
                    let wait = max(.zero, nextHeartbeat - ContinuousClock.now)
                    _ = wake.wait(timeout: .now() + wait.dispatch)
                } else if batchWaits, let last = lastBatch {
                    // Changes wait for the next batch (a commit's signal may wake this early:
                    // the loop then waits out the rest).
                    let wait = min(options.batchInterval - (ContinuousClock.now - last), nextHeartbeat - ContinuousClock.now)
                    if wait > .zero { _ = wake.wait(timeout: .now() + wait.dispatch) }
                }
            } catch {
                if error.code == .fenced {
                    state.withLock { $0.fenced = true; $0.rows = [:]; $0.order = []; $0.events = [] }
                    options.log(true, "cluster: \(error.message); this daemon no longer writes to the cluster table")
                    continue
                }
                session?.close()
                session = nil
                state.withLock { s in
                    s.connected = false
                    s.needsResync = true
                    s.rows = [:]
                    s.order = []
                    s.events = []
                }
                if downSince == nil {
                    downSince = ContinuousClock.now
                    options.log(true, "cluster: PostgreSQL at \(location) unavailable, supervision goes on and the mirror catches up when it returns: \(error.message)")
                }
                if closing { return }
                _ = wake.wait(timeout: .now() + retry.dispatch)
                retry = min(retry * 2, .seconds(1))
            }
        }
    }

    /// Creates the schema if missing and, the first time, takes the node's next epoch; later
    /// connections check that it is still this daemon's.
    private func register(_ s: PostgresSession) throws(ClusterError) {
        try s.transaction { run throws(ClusterError) in
            _ = try run("SELECT pg_advisory_xact_lock(\(ClusterSchema.creationLock))")
            for statement in ClusterSchema.statements { _ = try run(PostgresQuery(unsafeSQL: statement)) }
        }
        let node = self.node
        let leaseSeconds = Double(options.lease.components.seconds) + Double(options.lease.components.attoseconds) / 1e18
        if let epoch = state.withLock({ $0.epoch }) {
            let current = try s.run("SELECT epoch FROM director_nodes WHERE node = \(node)").first.map { (row) throws(ClusterError) in try Column.int(row, 0) }
            guard current == epoch else { throw Self.fencedError(node: node, mine: epoch, current: current) }
            try s.run("UPDATE director_nodes SET heartbeat_at = now(), status = 'up' WHERE node = \(node) AND epoch = \(epoch)")
            return
        }
        let pid = Int64(options.pid), version = options.version
        let rows = try s.run("""
            INSERT INTO director_nodes (node, epoch, pid, version, started_at, heartbeat_at, lease, status)
            VALUES (\(node), 1, \(pid), \(version), now(), now(), make_interval(secs => \(leaseSeconds)), 'up')
            ON CONFLICT (node) DO UPDATE SET epoch = director_nodes.epoch + 1, pid = EXCLUDED.pid,
                version = EXCLUDED.version, started_at = now(), heartbeat_at = now(), lease = EXCLUDED.lease, status = 'up'
            RETURNING epoch
            """)
        guard let row = rows.first else { throw ClusterError(.query, "no epoch returned for node \(node)") }
        let epoch = try Column.int(row, 0)
        state.withLock { $0.epoch = epoch }
        options.log(false, "cluster: node \(node) mirrors to \(location), epoch \(epoch)")
    }

    private static func fencedError(node: String, mine: Int64, current: Int64?) -> ClusterError {
        ClusterError(.fenced, "node \(node) was taken over by a newer daemon (epoch \(current.map(String.init) ?? "none"), ours \(mine))")
    }

    /// Locks the node's row for the transaction and checks the epoch is still ours.
    private func fence(_ run: (PostgresQuery) throws(ClusterError) -> [PostgresRow]) throws(ClusterError) -> Int64 {
        let node = self.node
        guard let epoch = state.withLock({ $0.epoch }) else { throw ClusterError(.query, "no epoch yet") }
        let current = try run("SELECT epoch FROM director_nodes WHERE node = \(node) FOR SHARE").first.map { (row) throws(ClusterError) in try Column.int(row, 0) }
        guard current == epoch else { throw Self.fencedError(node: node, mine: epoch, current: current) }
        return epoch
    }

    /// Sends the node's whole state from the table (after the first connection and every
    /// reconnect): the queue was dropped, so only the table knows what changed meanwhile.
    private func resync(_ s: PostgresSession) throws(ClusterError) {
        let node = self.node
        // Cleared before reading: a commit from here on is queued and sent after this.
        guard let table = state.withLock({ s -> (any ChildTableReader)? in
            // Not attached yet (the mirror may connect before the supervisor made its table
            // writer): wait for `attach`, which wakes this thread. Clearing the flag here
            // lost the first sync: the node's previous rows were never deleted.
            guard s.table != nil else { return nil }
            s.needsResync = false
            s.syncCovers = s.submitted
            s.rows = [:]
            s.order = []
            s.events = []
            return s.table
        }) else { return }
        let firstSync = state.withLock { !$0.syncedThisEpoch }
        let children: [ChildRecord]
        let groups: [GroupRecord]
        do {
            children = try table.children(prefix: nil).filter { $0.node == nil || $0.node == node }
            groups = try table.groups().filter { $0.node == nil || $0.node == node }
        } catch {
            state.withLock { $0.needsResync = true; $0.syncCovers = nil }
            throw ClusterError(.query, "cannot read the local table: \(error.message)")
        }
        do throws(ClusterError) {
            try s.transaction { run throws(ClusterError) in
                let epoch = try fence(run)
                // On from the last rev, never back to 1: a row the queue sent before the
                // outage has a higher rev than a restart from 1 would give, and would win.
                var rev = state.withLock { $0.rev }
                // One statement per kind of row (arrays through unnest): a node of 1 000
                // children resyncs in a few statements, not a few thousand round trips.
                let ids = children.map(\.id)
                let childRevs = children.indices.map { rev + 1 + Int64($0) }
                rev += Int64(children.count)
                _ = try run(Self.upsertChildren(node: node, ids: ids, revs: childRevs, records: children.map { $0.json.serialized() }, epoch: epoch))
                _ = try run("DELETE FROM director_children WHERE node = \(node) AND NOT (id = ANY(\(ids)))")
                let paths = groups.map(\.key)
                let groupRevs = groups.indices.map { rev + 1 + Int64($0) }
                rev += Int64(groups.count)
                _ = try run(Self.upsertGroups(node: node, paths: paths, revs: groupRevs, records: groups.map { $0.json.serialized() }, epoch: epoch))
                _ = try run("DELETE FROM director_groups WHERE node = \(node) AND NOT (path = ANY(\(paths)))")
                // Events: after a reconnect, those after the last one PostgreSQL holds. At the
                // first sync of an epoch, PostgreSQL's copy of the range the table still holds
                // is replaced (a new table for the node, a daemon that replaced another, may
                // number its events anew).
                let acked = firstSync ? 0 : try run("SELECT coalesce(max(seq), 0)::bigint FROM director_events WHERE node = \(node)").first
                    .map { (row) throws(ClusterError) in try Column.int(row, 0) } ?? 0
                var events: [EventEntry] = []
                do throws(TableError) {
                    events = try table.events(since: UInt64(acked), limit: options.eventCapacity * 4)
                        .filter { $0.node == nil || $0.node == node }
                } catch {
                    throw ClusterError(.query, "cannot read the local table's events: \(error.message)")
                }
                events = Array(events.suffix(options.eventCapacity))
                if firstSync {
                    let from = Int64(events.first?.seq ?? 1)
                    _ = try run("DELETE FROM director_events WHERE node = \(node) AND seq >= \(from)")
                } else if let first = events.first, acked > 0, first.seq > UInt64(acked) + 1 {
                    let missed = Int64(first.seq - UInt64(acked) - 1)
                    _ = try run("UPDATE director_nodes SET events_dropped = events_dropped + \(missed) WHERE node = \(node)")
                }
                _ = try run(Self.insertEvents(node: node, events))
                state.withLock { $0.rev = rev }
                try trimEvents(run)
            }
        } catch {
            state.withLock { $0.needsResync = true; $0.syncCovers = nil }
            throw error
        }
        // Only what the sync read: the commits queued while it ran are still to be sent.
        state.withLock { s in
            s.acknowledged = max(s.acknowledged, s.syncCovers ?? 0)
            s.syncCovers = nil
            s.syncedThisEpoch = true
        }
    }

    /// Sends the queue in one transaction, one statement per kind of row (arrays through
    /// unnest, as `resync` does): a crash storm of 200 children is a handful of round trips
    /// per batch, not 200 (measured before: mirror lag p50 1.3 s, p99 2.5 s, BENCHMARKS.md).
    ///
    /// The queue holds each id once (`State.put` coalesces: the newest change of an id
    /// replaces the older one), so a batch's upserts and deletes never name the same row, and
    /// one `INSERT … ON CONFLICT` never meets an id twice. Revs are given in queue order, as
    /// one statement per row gave them. False when the queue was empty.
    @discardableResult
    private func sendPending(_ s: PostgresSession) throws(ClusterError) -> Bool {
        let node = self.node
        let (rows, events, dropped, target) = state.withLock { st -> ([(RowKey, String?)], [EventEntry], Int, Int) in
            let rows = st.order.map { ($0, st.rows[$0]!) }
            let batch = (rows, st.events, st.droppedEvents, st.submitted)
            st.rows = [:]
            st.order = []
            st.events = []
            st.droppedEvents = 0
            return batch
        }
        if rows.isEmpty && events.isEmpty && dropped == 0 {
            state.withLock { if !$0.needsResync { $0.acknowledged = max($0.acknowledged, target) } }
            return false
        }
        do throws(ClusterError) {
            try s.transaction { run throws(ClusterError) in
                let epoch = try fence(run)
                var rev = state.withLock { $0.rev }
                var batch = Batch()
                for (key, json) in rows {
                    rev += 1
                    batch.add(key, json, rev: rev)
                }
                if !batch.childIDs.isEmpty {
                    _ = try run(Self.upsertChildren(node: node, ids: batch.childIDs, revs: batch.childRevs, records: batch.childRecords, epoch: epoch))
                }
                if !batch.deletedChildren.isEmpty {
                    _ = try run("DELETE FROM director_children WHERE node = \(node) AND id = ANY(\(batch.deletedChildren)) AND epoch <= \(epoch)")
                }
                if !batch.groupPaths.isEmpty {
                    _ = try run(Self.upsertGroups(node: node, paths: batch.groupPaths, revs: batch.groupRevs, records: batch.groupRecords, epoch: epoch))
                }
                if !batch.deletedGroups.isEmpty {
                    _ = try run("DELETE FROM director_groups WHERE node = \(node) AND path = ANY(\(batch.deletedGroups)) AND epoch <= \(epoch)")
                }
                if !events.isEmpty { _ = try run(Self.insertEvents(node: node, events)) }
                if dropped > 0 {
                    let n = Int64(dropped)
                    _ = try run("UPDATE director_nodes SET events_dropped = events_dropped + \(n) WHERE node = \(node)")
                }
                if !events.isEmpty { try trimEvents(run) }
                state.withLock { $0.rev = rev }
            }
        } catch {
            state.withLock { $0.needsResync = true }
            throw error
        }
        state.withLock { if !$0.needsResync { $0.acknowledged = max($0.acknowledged, target) } }
        return true
    }

    /// One batch's rows sorted by kind, as the arrays the statements take.
    private struct Batch {
        var childIDs: [String] = [], childRevs: [Int64] = [], childRecords: [String] = []
        var deletedChildren: [String] = []
        var groupPaths: [String] = [], groupRevs: [Int64] = [], groupRecords: [String] = []
        var deletedGroups: [String] = []

        mutating func add(_ key: RowKey, _ json: String?, rev: Int64) {
            switch (key, json) {
            case (.child(let id), let json?): childIDs.append(id); childRevs.append(rev); childRecords.append(json)
            case (.child(let id), nil): deletedChildren.append(id)
            case (.group(let path), let json?): groupPaths.append(path); groupRevs.append(rev); groupRecords.append(json)
            case (.group(let path), nil): deletedGroups.append(path)
            }
        }
    }

    /// Keeps the newest `eventCapacity` events of the node. Cheap at every batch: both the
    /// `max(seq)` and the range deleted are read through the primary key's index on
    /// (node, seq) (an index-only backward scan and an index range scan; no other index needed).
    private func trimEvents(_ run: (PostgresQuery) throws(ClusterError) -> [PostgresRow]) throws(ClusterError) {
        let node = self.node
        let capacity = Int64(options.eventCapacity)
        _ = try run("""
            DELETE FROM director_events WHERE node = \(node)
            AND seq <= (SELECT max(seq) FROM director_events WHERE node = \(node)) - \(capacity)
            """)
    }

    /// The heartbeat (the database's clock), and the down-marking when this node holds the
    /// cluster's advisory lock (a session lock: it stays while this connection lives).
    private func heartbeat(_ s: PostgresSession, holdsReaperLock: inout Bool) throws(ClusterError) {
        let node = self.node
        let epoch = state.withLock { $0.epoch ?? -1 }
        let updated = try s.run("UPDATE director_nodes SET heartbeat_at = now(), status = 'up' WHERE node = \(node) AND epoch = \(epoch) RETURNING epoch")
        if updated.isEmpty {
            let current = try s.run("SELECT epoch FROM director_nodes WHERE node = \(node)").first.map { (row) throws(ClusterError) in try Column.int(row, 0) }
            throw Self.fencedError(node: node, mine: epoch, current: current)
        }
        if !holdsReaperLock {
            holdsReaperLock = try s.run("SELECT pg_try_advisory_lock(\(ClusterSchema.reaperLock))").first.map { (row) throws(ClusterError) in try Column.bool(row, 0) } ?? false
        }
        if holdsReaperLock {
            let down = try s.run("""
                UPDATE director_nodes SET status = 'down' WHERE status = 'up' AND heartbeat_at < now() - lease RETURNING node
                """)
            for row in down {
                let name = try Column.text(row, 0)
                options.log(true, "cluster: node \(name) missed its lease; marked down (its children show as unknown)")
            }
        }
    }

    /// Wakes the thread when a command for this node is inserted.
    private func listenForCommands(_ s: PostgresSession) {
        let node = self.node
        s.raw.addListener(channel: "director_commands") { [weak self] _, notification in
            guard let self, notification.payload == node else { return }
            self.state.withLock { $0.commandsWaiting = true }
            self.wake.signal()
        }
        _ = try? s.run("LISTEN director_commands")
    }

    /// Takes this node's open commands one at a time and answers each.
    private func takeCommands(_ s: PostgresSession) throws(ClusterError) {
        let node = self.node
        for _ in 0..<100 {
            let taken = try s.run("""
                UPDATE director_commands SET taken_at = now()
                WHERE seq = (SELECT seq FROM director_commands WHERE node = \(node) AND taken_at IS NULL ORDER BY seq LIMIT 1 FOR UPDATE SKIP LOCKED)
                RETURNING seq, op::text
                """)
            guard let row = taken.first else { return }
            let seq = try Column.int(row, 0)
            let op = (try? JSONValue.parse(try Column.text(row, 1))) ?? .null
            let command = ClusterCommand(seq: seq, json: op)
            let outcome = carryOut(command)
            let result = outcome.json.serialized()
            try s.run("UPDATE director_commands SET result = \(result)::jsonb WHERE seq = \(seq)")
            options.log(false, "cluster: command \(seq) \(command.op) \(command.ids.joined(separator: " ")): \(outcome.ok ? "done" : outcome.message ?? "failed")")
        }
    }

    private func carryOut(_ command: ClusterCommand) -> ClusterCommand.Outcome {
        guard ClusterCommand.ops.contains(command.op) else { return .failed("unsupported", "unknown op \(command.op)") }
        guard let handler = options.commandHandler else { return .failed("unsupported", "node \(node) takes no commands") }
        let answer = Mutex<ClusterCommand.Outcome?>(nil)
        let done = DispatchSemaphore(value: 0)
        Task {
            let outcome = await handler(command)
            answer.withLock { $0 = outcome }
            done.signal()
        }
        guard done.wait(timeout: .now() + .seconds(30)) == .success, let outcome = answer.withLock({ $0 }) else {
            return .failed("timeout", "node \(node) did not carry out the command within 30 s")
        }
        return outcome
    }

    // MARK: Statements

    static func upsertChildren(node: String, ids: [String], revs: [Int64], records: [String], epoch: Int64) -> PostgresQuery {
        """
        INSERT INTO director_children (node, id, epoch, rev, record, updated_at)
        SELECT \(node), i, \(epoch), r, rec::jsonb, now() FROM unnest(\(ids)::text[], \(revs)::bigint[], \(records)::text[]) AS t(i, r, rec)
        ON CONFLICT (node, id) DO UPDATE SET epoch = EXCLUDED.epoch, rev = EXCLUDED.rev, record = EXCLUDED.record, updated_at = now()
        WHERE (director_children.epoch, director_children.rev) < (EXCLUDED.epoch, EXCLUDED.rev)
        """
    }

    static func upsertGroups(node: String, paths: [String], revs: [Int64], records: [String], epoch: Int64) -> PostgresQuery {
        """
        INSERT INTO director_groups (node, path, epoch, rev, record)
        SELECT \(node), p, \(epoch), r, rec::jsonb FROM unnest(\(paths)::text[], \(revs)::bigint[], \(records)::text[]) AS t(p, r, rec)
        ON CONFLICT (node, path) DO UPDATE SET epoch = EXCLUDED.epoch, rev = EXCLUDED.rev, record = EXCLUDED.record
        WHERE (director_groups.epoch, director_groups.rev) < (EXCLUDED.epoch, EXCLUDED.rev)
        """
    }

    static func insertEvents(node: String, _ events: [EventEntry]) -> PostgresQuery {
        let seqs = events.map { Int64($0.seq) }, ats = events.map { Int64($0.at) }
        let ids = events.map(\.id), kinds = events.map(\.kind), details = events.map(\.detail)
        return """
            INSERT INTO director_events (seq, node, at, id, kind, detail)
            SELECT s, \(node), to_timestamp(a / 1000.0), i, k, d
            FROM unnest(\(seqs)::bigint[], \(ats)::bigint[], \(ids)::text[], \(kinds)::text[], \(details)::text[]) AS t(s, a, i, k, d)
            ON CONFLICT (node, seq) DO NOTHING
            """
    }

}

extension ClusterMirror.State {
    fileprivate mutating func put(_ key: ClusterMirror.RowKey, _ json: String?) {
        if rows.index(forKey: key) == nil { order.append(key) }
        rows[key] = .some(json)
    }
}

extension Duration {
    /// For `DispatchSemaphore.wait(timeout:)`.
    fileprivate var dispatch: DispatchTimeInterval {
        .nanoseconds(Int(components.seconds) * 1_000_000_000 + Int(components.attoseconds / 1_000_000_000))
    }
}
