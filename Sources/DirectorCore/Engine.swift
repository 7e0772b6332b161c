import DirectorManifest

/// The supervision engine: a pure, deterministic state machine.
///
/// Events go in (`start`, `handle`, `command`, `reload`), effects come out; the engine does
/// no I/O and never reads a clock, so every call takes `now`. Groups are supervisors with
/// OTP strategies and restart intensity; children are the instances of jobs. See
/// `docs/engine.md` for the states and transitions.
public struct Engine: Sendable {
    // The tree. Children and groups are keyed for O(1) access per event; the order of the
    // tree lives in `GroupRecord.entries` and `JobRecord.slots`.
    var childRecords = ChildRecordStore()
    var groupRecords: [String: GroupRecord] = [:]
    var jobRecords: [String: JobRecord] = [:]
    /// The manifest currently applied (the base of the next reload's diff).
    var manifest: Manifest
    let restored: RestoredState
    var random: SplitMix64
    /// The root's policy; under `giveUp` each top-level group has its own window at the root
    /// (`rootWindows`), so one broken group cannot use up the others' allowance.
    let rootPolicy: RootPolicy
    var rootWindows: [String: RestartIntensity] = [:]
    /// Keys of groups in state `failed` (given up, nested ones included); empty in a healthy
    /// tree, so the spawn path checks it for free.
    var failedGroups: Set<String> = []

    /// Who decides about an exit nobody asked for: the rules at once, or an answer to
    /// `Effect.decideExit`.
    let exitVerdicts: ExitVerdictSource
    /// The questions still awaiting an answer, by child; each of these children is in
    /// `backoff` without a timer. Empty under `.rules`, so the paths that end a wait check
    /// `isEmpty` first and cost nothing there; kept out of `ChildRecord` so that records do
    /// not grow for every child.
    var openQuestions: [ChildID: ExitQuestion] = [:]
    /// The number of the last question asked.
    var questionsAsked: UInt64 = 0

    /// What must survive a daemon restart: children an operator stopped, children left
    /// waiting, pools an operator scaled, each with its job's spec hash (restart counts and
    /// last exits come from the table's rows, so they are left empty here). The runtime
    /// stores it whenever `carryOverRevision` changes and passes it back as `restored`.
    public internal(set) var carryOver = RestoredState()
    /// Grows by one whenever `carryOver` changes.
    public internal(set) var carryOverRevision = 0

    /// Set once the tree is stopping as a whole: the status `.exit` will carry.
    var shutdownStatus: Int32?
    /// Children that still have to exit before `.exit` is emitted.
    var liveDuringShutdown = 0
    var hasExited = false

    // Per-call scratch: the effects being produced, the call's instant, and restart plans
    // whose pending count may have reached zero, in the order they were noted. An array, not
    // a set: a set's order depends on the process's hash seed and on where its storage lives,
    // so two engines fed the same events (or one replayed) could run two plans that became
    // due in the same call in different orders, starting their children in different orders.
    var out: [Effect] = []
    var now: Instant = .zero
    var plansToCheck: [String] = []
    /// Children held back behind a child with `ready:` that is not ready yet (OTP's
    /// synchronous start), in start order, by that child; and which child each waits for.
    /// Empty for trees without `ready:`, and every path checks `isEmpty` first.
    var readyQueues: [ChildID: [ChildID]] = [:]
    var waitsForReady: [ChildID: ChildID] = [:]
    /// The last `STATUS=` of children that sent one.
    var statusTexts: [ChildID: String] = [:]
    /// Rolling updates in progress, by job key (Engine+Rolling.swift); empty otherwise, and
    /// every path checks `isEmpty` first.
    var rolls: [String: Roll] = [:]
    /// Children with probes (`ready:` tcp/http/exec, `health:`), while their process runs.
    var probes: [ChildID: ProbeState] = [:]
    /// Children whose watchdog is armed, with its interval (`watchdog:` or `WATCHDOG_USEC=`).
    var watchdogs: [ChildID: Duration] = [:]
    /// Children that sent RELOADING=1 and not READY=1 since.
    var reloading: Set<ChildID> = []

    /// Builds the tree for `manifest`. Nothing runs until `start(at:)`.
    /// - Parameters:
    ///   - root: the root supervisor's intensity and period.
    ///   - restored: operator decisions and restart counts of a previous daemon run.
    ///   - seed: the seed of the jitter generator; the same seed replays the same delays.
    ///   - exitVerdicts: who decides about an exit nobody asked for: `.rules` (the job's
    ///     `on_exit` rules and restart type, at once) or `.asked` (`Effect.decideExit`, then
    ///     `EngineEvent.exitDecided`).
    public init(
        manifest: Manifest, root: RootPolicy = RootPolicy(), restored: RestoredState = RestoredState(),
        seed: UInt64 = .random(in: 0 ... .max), exitVerdicts: ExitVerdictSource = .rules
    ) {
        self.manifest = manifest
        self.exitVerdicts = exitVerdicts
        self.restored = restored
        self.random = SplitMix64(seed: seed)
        self.rootPolicy = root
        groupRecords[""] = GroupRecord(
            key: "", path: [], strategy: .oneForOne,
            window: RestartIntensity(intensity: root.intensity, period: root.period),
            entries: manifest.groups.map { .group($0.name) })
        for group in manifest.groups { install(group, parentPath: [], useRestored: true) }
    }

    /// Starts every group and child in tree order. Call once.
    public mutating func start(at now: Instant) -> [Effect] {
        begin(now)
        for key in groupKeys(inSubtree: "") { publishGroup(key) }
        var toStart: [ChildID] = []
        for id in childIDs(inGroup: "") {
            guard var rec = childRecords[id] else { continue }
            if let hash = restored.stopped[id], hash == rec.specHash {
                // An operator stopped it in a previous run: it stays stopped.
                rec.lastExit = restored.lastExits[id].map(Self.restoredExit)
                childRecords[id] = rec
                remember(id, .stopped)
                publish(rec)
            } else if let hash = restored.waiting[id], hash == rec.specHash {
                // It was waiting for an operator: a restart of the daemon is not that operator.
                rec.state = .waiting
                rec.lastExit = restored.lastExits[id].map(Self.restoredExit)
                childRecords[id] = rec
                remember(id, .waiting)
                publish(rec)
            } else {
                toStart.append(id)
            }
        }
        startInOrder(toStart)
        return finish()
    }

    /// A previous run's last exit as this run shows it. A row from a daemon that did not record
    /// causes says only the code or signal: that is all that is known, so it reads as the
    /// plain cause of its status (a spawn failure's code 127 then reads `exit`).
    static func restoredExit(_ exit: RestoredState.LastExit) -> (status: ChildExitStatus, at: Instant, cause: ExitCause) {
        (exit.status, exit.at, exit.cause ?? exit.status.cause)
    }

    /// Feeds one event. Commands and reloads are accepted too; their replies are dropped.
    public mutating func handle(_ event: EngineEvent, at now: Instant) -> [Effect] {
        switch event {
        case .command(let c): return command(c, at: now).1
        case .reload(let m): return reload(m, at: now).1
        default: break
        }
        begin(now)
        guard !hasExited else { return finish() }
        switch event {
        case .started(let id, let pid): onStarted(id, pid: pid)
        case .spawnFailed(let id, let reason): onSpawnFailed(id, reason: reason)
        case .exited(let id, let pid, let status): onExited(id, pid: pid, status: status)
        case .exitedOutOfMemory(let id, let pid, let status): onExited(id, pid: pid, status: status, cause: .oom)
        case .execFailed(let id, let pid, let reason): onExecFailed(id, pid: pid, reason: reason)
        case .timerFired(let timer): onTimer(timer)
        case .exitDecided(let id, let decision, let number): onExitDecided(id, decision, question: number)
        case .ready(let id, let pid): onReady(id, pid: pid)
        case .status(let id, let pid, let text): onStatus(id, pid: pid, text: text)
        case .notified(let id, let pid, let notification): onNotified(id, pid: pid, notification)
        case .probed(let id, let pid, let outcome): onProbed(id, pid: pid, outcome)
        case .command, .reload: break
        }
        return finish()
    }

    // MARK: Queries

    /// The table row of one child, or nil when it is not in the table.
    public func snapshot(of id: ChildID) -> ChildSnapshot? { childRecords[id]?.snapshot }

    /// True while `id` waits for the process the engine asked for (state `starting`) and
    /// nothing has asked it to stop meanwhile: the runtime may still deliver that spawn. A
    /// runtime that holds a spawn back (no descriptors) asks before it tries again.
    public func awaitsSpawn(_ id: ChildID) -> Bool {
        guard let rec = childRecords[id] else { return false }
        return rec.state == .starting && rec.stopIntent == nil
    }

    /// The question about `id`'s last exit that still awaits its answer
    /// (`ExitVerdictSource.asked`), or nil.
    public func openQuestion(for id: ChildID) -> ExitQuestion? {
        openQuestions.isEmpty ? nil : openQuestions[id]
    }

    /// Every child in tree order (groups in manifest order, jobs in declaration order,
    /// instances by number).
    public var children: [ChildSnapshot] {
        childIDs(inGroup: "").compactMap { childRecords[$0]?.snapshot }
    }

    /// Every group in tree order, the root (path `""`) first.
    public var groups: [GroupSnapshot] {
        groupKeys(inSubtree: "").compactMap { groupRecords[$0]?.snapshot(at: now) }
    }

    /// The job spec of a child (OTP `get_childspec`).
    public func spec(of id: ChildID) -> JobSpec? { childRecords[id]?.spec }

    /// Children selected by an operator's argument, in tree order: an exact id selects one,
    /// `web/api` every instance of that job, `web` every child of that group. Whole path
    /// segments only: `web/ap` selects nothing.
    public func ids(matching prefix: String) -> [ChildID] {
        let wanted = prefix.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        guard !wanted.isEmpty else { return [] }
        return childIDs(inGroup: "").filter { id in
            let segments = id.groupPath + [id.job, String(id.instance)]
            return segments.count >= wanted.count && Array(segments.prefix(wanted.count)) == wanted
        }
    }

    /// True once the `.exit` effect has been emitted: the tree is stopped.
    public var isStopped: Bool { hasExited }

    // MARK: Per-call plumbing

    mutating func begin(_ now: Instant) {
        self.now = now
        out = []
    }

    mutating func finish() -> [Effect] {
        if !rolls.isEmpty { settleRolls() }
        settlePlans()
        // A plan may have started (or a roll stopped) what a roll waits for.
        if !rolls.isEmpty { settleRolls() }
        if !readyQueues.isEmpty { releaseAbandonedQueues() }
        let effects = out
        out = []
        return effects
    }

    mutating func emit(_ effect: Effect) { out.append(effect) }

    mutating func publish(_ rec: ChildRecord) {
        var snapshot = rec.snapshot
        if !statusTexts.isEmpty { snapshot.status = statusTexts[rec.id] }
        out.append(.childChanged(snapshot))
    }

    mutating func publishGroup(_ key: String) {
        if let g = groupRecords[key] { out.append(.groupChanged(g.snapshot(at: now))) }
    }

    mutating func record(
        _ subject: String, _ kind: EventKind, _ detail: String, log: Bool = true, severity: Severity = .info,
        fields: EventFields = EventFields()
    ) {
        out.append(.event(EventRecord(subject: subject, kind: kind, detail: detail, log: log, severity: severity, fields: fields)))
    }

    // MARK: Carry-over

    /// Notes a decision about a child that must outlive the daemon.
    mutating func remember(_ id: ChildID, _ what: Remembered) {
        guard var rec = childRecords[id] else { return }
        if rec.remembered == what, (what == .stopped ? carryOver.stopped[id] : carryOver.waiting[id]) == rec.specHash {
            return
        }
        forget(&rec)
        rec.remembered = what
        childRecords[id] = rec
        switch what {
        case .stopped: carryOver.stopped[id] = rec.specHash
        case .waiting: carryOver.waiting[id] = rec.specHash
        }
        carryOverRevision += 1
    }

    /// Drops the child's carried decision (it starts, leaves, or its job changed).
    mutating func forget(_ rec: inout ChildRecord) {
        guard let what = rec.remembered else { return }
        rec.remembered = nil
        switch what {
        case .stopped: carryOver.stopped[rec.id] = nil
        case .waiting: carryOver.waiting[rec.id] = nil
        }
        carryOverRevision += 1
    }

    /// Notes (or, with nil, drops) an operator's pool size.
    mutating func rememberScale(_ jobKey: String, _ pool: RestoredState.ScaledPool?) {
        guard carryOver.scaled[jobKey] != pool else { return }
        carryOver.scaled[jobKey] = pool
        carryOverRevision += 1
    }
}
