#if canImport(Glibc)
import Glibc
#endif
import CDirectorSys
import DirectorCore
import DirectorManifest
import DirectorTable

/// The supervisor's event loop: it owns the engine and executes its effects.
///
/// Everything that happens — a child exits (pidfd), a timer fires, output arrives, an operator
/// sends a command (control socket or `SupervisorHandle`), a signal or a manifest change comes
/// in — becomes an `EngineEvent` fed to the pure `Engine`; the `Effect`s it returns are
/// carried out here. The table changes of one loop turn are handed at its end to the
/// `TableWriter` thread, which commits them in one write transaction (several turns may share
/// one when the disk is slow).
///
/// Built from `RuntimeParts` by the public `Director.Supervisor`, for `director run` and for
/// embedding alike. What is process-wide (subreaper, signals, descriptor limit, heap trim) is
/// done only when the options ask for it; without a state directory nothing is kept on disk.
package final class SupervisorRuntime {
    let options: RuntimeOptions
    let log: RuntimeLog
    let loop: EventLoop
    let reaper: ProcessReaper
    /// Children's lines on a file descriptor (the daemon's stdout), when that is their target.
    let sink: OutputSink?
    let childOutput: ChildOutputTarget
    /// Drives a `DaemonLogHandler`'s non-blocking buffer on stderr from the loop.
    let logPump: OutputSink?
    /// `<state>/logs/<id>.log` (`log.file`): only with a state directory.
    let logFiles: ChildLogFiles?
    let table: any ChildTable
    /// The state directory's own LMDB table (re-created if removed); nil for another table.
    let ownTable: LMDBTable?
    let writer: TableWriter
    /// The checked state directory; holds the lock (see StateDirectory.swift).
    let stateDirectory: StateDirectory?
    let jobsDirectory: String?
    let environment: SpawnEnvironment
    /// Whether spawns return before the child's exec (docs/runtime.md); `DIRECTOR_SPAWN=wait`
    /// in the daemon's environment makes every spawn wait, for diagnosis and A/B measurement.
    let spawnsWithoutWaiting: Bool
    let clockOrigin: (mono: Instant, wall: UnixMillis)
    let hooks: DelegateHooks?
    let events: EventHub?
    let inbox: LoopInbox<LoopRequest>?
    /// The marker every child and its descendants carry (`DIRECTOR_STATE`).
    let stateMarker: String
    /// This daemon's node on a table several daemons share (DESIGN §4.1); nil in the
    /// single-daemon layout, where no row carries a node.
    let node: String?
    /// The top-level groups whose entries of `meta.decisions` this node writes: those of its
    /// manifest and of its previous run (a group removed since still has its entries).
    var ownedGroups: Set<String> = []
    /// A cgroup per child, where the daemon may create them (ChildCgroups.swift).
    let cgroups: ChildCgroups?
    /// The `limits` controllers the children's cgroups have, and why the others are missing
    /// (the manifest warnings name each `limits` key not applied).
    let limitSupport: LimitSupport

    var engine: Engine
    var manifest: Manifest
    /// Jobs started through the handle (`startChild`), in no manifest: every reload keeps
    /// them, as the Erlang library keeps children added with `start_child`.
    var dynamicJobs: [(group: [String], job: JobSpec)] = []
    /// The `Engine.carryOverRevision` last written to `meta.decisions`.
    var savedCarryOver = -1
    var reloadGeneration: Int
    /// `meta.reload` as last written, kept to follow the rolling updates it began.
    var lastReload: ReloadInfo?
    var pendingChanges: [TableChange] = []
    var queue: [EngineEvent] = []
    var draining = false
    /// Per live child: its pid's start ticks, recorded in the table to prove identity later.
    var startTicks: [ChildID: UInt64] = [:]
    /// The sd_notify socket, made at the first spawn of a child with `ready: {notify: true}`.
    var notify: NotifySocket?
    /// Children with `ready: {notify: true}` or `watchdog:` that run, by pid (= process group id).
    var notifyChildren: [Int32: ChildID] = [:]
    /// Main pids children announced (`MAINPID=`), each a descendant of its child.
    var mainPIDs: [Int32: (leader: Int32, id: ChildID)] = [:]
    /// The daemon's ends of `ready: {fd: N}` pipes, while their children run and are not ready.
    var readyPipes: [ChildID: ReadyPipe] = [:]
    /// Runs `Effect.probe` (readiness polls and health checks) without blocking the loop;
    /// made at the first probe.
    var probeRunner: ProbeRunner?
    var exitStatus: Int32?
    /// The table as the previous daemon left it, until start has reconciled it.
    var previous: PreviousRun
    var interruptCount = 0
    /// Set by `kill()` (the host cancelled the supervisor): every child gets SIGKILL.
    var killRequested = false

    /// Children whose spawn failed, with the reason, fed to the engine in a later turn (at
    /// most `spawnFailuresPerTurn` a turn, oldest first; one entry per child).
    var failedSpawns: [ChildID] = []
    var failedSpawnReasons: [ChildID: String] = [:]
    var failedSpawnFeedScheduled = false
    /// Spawns held back while the daemon has no file descriptor to spare.
    var held = HeldSpawns()
    /// Escaped descendants being stopped.
    var orphans = OrphanSweep()
    /// RLIMIT_NOFILE before and after the daemon raised its soft limit to the hard one.
    var descriptorLimit: (before: UInt64, after: UInt64)?
    static let spawnFailuresPerTurn = 64
    /// Per-turn buffers (`queue`, `pendingChanges`) keep their storage up to this many
    /// elements between turns; a larger one (the start of a big pool) is given back.
    static let keptBufferCapacity = 1024

    var signals: SignalWatcher?
    var control: ControlServer?
    var watcher: DirectoryWatcher?
    var stateWatcher: StateDirectoryWatcher?

    /// Prepares the supervisor: takes the state directory's lock and opens its table (when it
    /// has one), terminates process groups a dead daemon left behind. Starts nothing yet.
    package init(_ parts: RuntimeParts) throws(RuntimeStartError) {
        options = parts.options
        log = RuntimeLog(parts.logger)
        manifest = parts.manifest
        jobsDirectory = parts.jobsDirectory
        hooks = parts.hooks
        events = parts.events
        inbox = parts.inbox
        childOutput = parts.childOutput

        if let state = options.stateDirectory {
            // Refused when another user owns it or others may write it; takes the lock.
            let directory = try StateDirectory(path: state)
            stateDirectory = directory
            stateMarker = MarkedProcesses.marker(forStateDirectory: state)
            let sharing = options.tablePath != nil || options.node != nil
            node = sharing ? (options.node ?? hostName()) : nil
            if let given = parts.table {
                table = given
                ownTable = nil
            } else if sharing {
                // Never moved aside nor re-created: other daemons may have it open.
                table = try directory.openSharedTable(
                    path: options.tablePath ?? directory.tablePath, options: Self.tableOptions(), checkCommand: options.tableCheckCommand)
                ownTable = nil
            } else {
                // A damaged table is moved aside (logged), never mapped.
                let lmdb = try directory.openTable(options: Self.tableOptions(), checkCommand: options.tableCheckCommand, log: log)
                table = lmdb
                ownTable = lmdb
            }
        } else {
            stateDirectory = nil
            // Unique to this process and this supervisor: the marker finds its own escaped
            // descendants; there is no earlier run to find without a state directory.
            node = options.node
            stateMarker = "embedded:\(getpid()):\(ProcStat.startTicks(pid: getpid()) ?? 0):\(UInt64.random(in: 0 ... .max))"
            table = parts.table ?? InMemoryTable()
            ownTable = nil
        }
        if let state = options.stateDirectory {
            // Before anything is terminated or started: another live node's groups, or its
            // name, are not this daemon's to take.
            let refusals = SharedTableClaim.refusals(
                table: table, node: node, stateDirectory: absolutePath(state),
                tablePath: options.tablePath.map(absolutePath) ?? absolutePath(state) + "/table",
                groups: manifest.groups.map(\.name))
            if !refusals.isEmpty { throw RuntimeStartError(code: .lockHeld, lines: refusals) }
        }

        do {
            loop = try EventLoop()
            if options.becomeSubreaper { try ProcessReaper.becomeSubreaper() }
            if options.raiseDescriptorLimit { descriptorLimit = DescriptorLimit.raiseToHard() }
        } catch {
            throw RuntimeStartError(code: .system, lines: [error.message])
        }
        reaper = ProcessReaper(loop: loop, collectsOrphans: options.becomeSubreaper)
        if case .file(let fd, _) = childOutput { sink = OutputSink(fd: fd, loop: loop) } else { sink = nil }
        let loop = self.loop
        logPump = log.daemonOutput.map { OutputSink(output: $0, loop: loop) }
        if let state = options.stateDirectory {
            let files = ChildLogFiles(directory: absolutePath(state) + "/logs")
            loop.addEndOfTurnHook { files.submit() }
            logFiles = files
        } else {
            logFiles = nil
        }
        // Ignore SIGPIPE before recording which signals children must get back at default.
        // Only a process-wide supervisor does: an embedded one writes to no pipe it does not
        // own, and its sockets are written with MSG_NOSIGNAL.
        if options.handleSignals { SignalWatcher.ignoreBrokenPipes() }
        // The marker every child and its descendants carry (MarkedProcesses).
        var baseEnvironment = ProcessSpawner.currentEnvironment()
        baseEnvironment[MarkedProcesses.variable] = stateMarker
        environment = SpawnEnvironment(baseEnvironment)
        spawnsWithoutWaiting = baseEnvironment["DIRECTOR_SPAWN"] != "wait"
        clockOrigin = (SystemClock.monotonic(), SystemClock.wallMilliseconds())

        previous = PreviousRun.read(from: table, node: node, claiming: Set(manifest.groups.map(\.name)))
        ownedGroups = Set(previous.groups.compactMap { $0.path.split(separator: "/").first.map(String.init) })
        writer = TableWriter(table: table, log: log, eventWindow: Self.backlogEventWindow(), mirror: options.tableMirror)
        reloadGeneration = previous.reloadGeneration
        let droppedScales = previous.decisions.dropScales(beyond: options.maxChildren, in: manifest)
        var terminated = LeftoverProcesses.terminate(previous.children, specs: previous.specs)
        // Then whatever a dead daemon started that the table does not know: spawned in its
        // last moments before a commit, or escaped from its child's process group.
        var marked: [MarkedProcesses.Process] = []
        var cgroupNote: String?
        if stateDirectory != nil {
            switch ChildCgroups.open(marker: stateMarker) {
            case .success(let opened): cgroups = opened
            case .failure(let why):
                cgroups = nil
                cgroupNote = why.reason
            }
            marked = MarkedProcesses.scan(marker: stateMarker)
            // A dead daemon's children's cgroups hold whatever the marker cannot see (an
            // escaped descendant that cleared its environment).
            if let cgroups {
                let seen = Set(marked.map(\.pid))
                marked += cgroups.processes(in: cgroups.childNames()).filter { !seen.contains($0.pid) }
            }
            MarkedProcesses.terminate(marked, grace: .seconds(2))
            terminated += marked.count
            cgroups?.removeChildren()
        } else {
            cgroups = nil
            cgroupNote = "a supervisor without a state directory makes no cgroups"
        }
        limitSupport = cgroups?.limitSupport ?? LimitSupport(available: [], reason: "no cgroup per child: \(cgroupNote ?? "")")
        let origin = clockOrigin
        let restored = previous.restoredState { wallMillis in
            Instant(nanoseconds: origin.mono.nanoseconds + (wallMillis - origin.wall) * 1_000_000)
        }
        engine = Engine(
            manifest: manifest, root: options.root, restored: restored,
            seed: options.seed ?? UInt64.random(in: .min ... .max),
            exitVerdicts: hooks?.decideExit == nil ? .rules : .asked)
        if terminated > 0 {
            log.log(.warning, "terminated \(terminated) process group(s) left by a previous daemon (\(marked.count) found by the \(MarkedProcesses.variable) marker)")
        }
        if let cgroupNote, stateDirectory != nil {
            log.log(.info, "no cgroup per child (\(cgroupNote)): descendants are tracked by the \(MarkedProcesses.variable) marker and the subreaper")
        }
        if let droppedScales {
            log.log(.warning, "operator pool sizes of the previous run dropped: with them the tree would have \(droppedScales) children, over the limit of \(options.maxChildren)")
        }
    }

    /// The most events the table writer keeps while the table cannot be written: 10 000 (what
    /// the table keeps), or `DIRECTOR_TABLE_BACKLOG_EVENTS`, a testing knob like the map size
    /// below (the full-disk test makes the window small so that dropping is certain).
    static func backlogEventWindow() -> Int {
        if let text = getenv("DIRECTOR_TABLE_BACKLOG_EVENTS"), let n = Int(String(cString: text)), n > 0 { return n }
        return 10_000
    }

    /// The table's options. `DIRECTOR_TABLE_MAP_SIZE` (bytes) sets the initial map size of a
    /// new table: the fault tests start with a tiny map to exercise growth under load.
    static func tableOptions() -> LMDBTable.Options {
        var options = LMDBTable.Options()
        if let text = getenv("DIRECTOR_TABLE_MAP_SIZE"), let bytes = Int(String(cString: text)), bytes > 0 {
            options.initialMapSize = bytes
        }
        return options
    }

    /// Runs on the calling thread until the tree has stopped; returns the exit status (0
    /// after a shutdown, 1 when the root failed).
    package func run() throws(RuntimeStartError) -> Int32 {
        do {
            if options.handleSignals {
                signals = try SignalWatcher(loop: loop, signals: SignalWatcher.daemonSignals) { [unowned self] in self.onSignal($0) }
            }
            if stateDirectory != nil { try listenOnControlSocket() }
            if options.watch, let jobsDirectory {
                watcher = try DirectoryWatcher(directory: jobsDirectory, loop: loop, debounce: options.reloadDebounce) {
                    [unowned self] in _ = self.reload(trigger: "watch")
                }
            }
            if let inbox {
                try loop.watch(inbox.fd, for: .readable) { [unowned self] _ in self.handleRequests() }
            }
        } catch {
            throw RuntimeStartError(code: .system, lines: [error.message])
        }
        loop.addEndOfTurnHook { [unowned self] in self.releaseHeldSpawnsAskedToStop() }
        loop.addEndOfTurnHook { [unowned self] in self.submitChanges() }
        // Spawns do not wait for their child's exec: a settled slot lets go of the child's
        // pipes, so their end-of-file comes when the child's own ends close.
        loop.addEndOfTurnHook { director_spawn_settle() }
        if stateDirectory != nil { watchStateDirectory() }

        let now = SystemClock.monotonic()
        pendingChanges.append(.setMeta(.format, .string(tableFormatVersion)))
        pendingChanges.append(.setDaemon(DaemonInfo(
            pid: getpid(), startedAt: wall(now), jobs: jobsDirectory.map(absolutePath) ?? "", version: options.version)))
        if let node, let stateDirectory {
            pendingChanges.append(.mergeMeta(.nodes, .node(NodeInfo(
                node: node, pid: getpid(), stateDirectory: absolutePath(stateDirectory.path),
                socket: absolutePath(stateDirectory.socketPath), startedAt: wall(now),
                jobs: jobsDirectory.map(absolutePath) ?? "", version: options.version))))
        }
        pendingChanges += specChanges(old: nil, new: manifest)
        // Specs of jobs the previous daemon ran that this manifest no longer has.
        let current = Set(manifest.jobsByKey.map(\.key))
        pendingChanges += previous.specs.keys.sorted().filter { !current.contains($0) }.map { .deleteSpec(jobKey: $0) }
        log.log(.info, "director \(options.version) pid=\(getpid()) jobs=\(jobsDirectory ?? "(in code)") children=\(manifest.childCount)\(descriptorLimit.map { " nofile=\($0.after)" + ($0.after > $0.before ? " (raised from \($0.before))" : "") } ?? "")")
        logWarnings(ManifestWarnings.check(manifest, searchPath: environment.path, limits: limitSupport), context: "")
        perform(engine.start(at: now))
        pendingChanges += previous.staleRows(
            children: Set(engine.children.map(\.id.description)), groups: Set(engine.groups.map(\.path)))
        // A node's root group is stored under `/NODE`; the single-daemon layout's `/` row it
        // adopted goes.
        if node != nil, previous.groups.contains(where: { $0.path.isEmpty && $0.node == nil }) {
            pendingChanges.append(.deleteGroup(path: ""))
        }
        saveCarryOver(force: true)
        previous = PreviousRun()
        commitTable()
        // The tree has started (every child spawned and in the table): a service manager that
        // waits for it (systemd Type=notify) may now start what depends on this daemon.
        if options.handleSignals, ServiceNotifier.ready() { log.log(.info, "notified the service manager: READY=1") }
        // Starting every child at once leaves the heap at its high-water mark (records, table
        // changes, log lines of 1 000 spawns); what is free goes back: 0.5-1 MB at 1 000.
        if options.trimHeap { director_trim_heap() }

        while exitStatus == nil {
            do { try loop.turn() } catch {
                log.log(.error, "event loop: \(error.message)")
                finishRequests()
                throw RuntimeStartError(code: .system, lines: [error.message])
            }
        }
        if options.becomeSubreaper || cgroups != nil { stopRemainingOrphans() }
        commitTable()
        writer.close()
        control?.close()
        if let stateDirectory { unlink(ControlServer.socketPath(stateDirectory: stateDirectory.path)) }
        sink?.finish()
        logFiles?.close()
        finishRequests()
        hooks?.finished(exitStatus ?? 0)
        log.log(.info, "director stopped status=\(exitStatus ?? 0)")
        stateWatcher?.stop()
        stateDirectory?.release()
        logPump?.finish()
        return exitStatus ?? 0
    }

    /// The host cancelled the supervisor: every child is killed at once (SIGKILL to its
    /// process group) and the tree stops without waiting for shutdown timeouts.
    func killTree() {
        killRequested = true
        log.log(.warning, "cancelled: killing every child now")
        killEveryChild()
        feed(.command(.shutdown))
    }

    /// SIGKILL to every child's process group, now (a second Ctrl-C, a cancelled task).
    func killEveryChild() {
        for child in engine.children { if let pid = child.pid { kill(-pid, SIGKILL) } }
    }

    // MARK: - Feeding the engine

    /// Hands one event to the engine and carries out its effects.
    func feed(_ event: EngineEvent) {
        queue.append(event)
        drain()
    }

    /// Carries out effects decided outside `feed` (start, operator commands, reloads), then
    /// the events they raised.
    func perform(_ effects: [Effect]) {
        let wasDraining = draining
        draining = true
        execute(effects)
        draining = wasDraining
        drain()
    }

    /// Handles queued events in order. Events raised while effects run (a spawn's `.started`,
    /// a failed spawn) are queued, never handled re-entrantly.
    func drain() {
        guard !draining else { return }
        draining = true
        defer { draining = false }
        var i = 0
        while i < queue.count {
            let next = queue[i]
            i += 1
            let now = SystemClock.monotonic()
            let subject = options.trace ? Engine.subject(of: next) : nil
            let before = subject.flatMap { engine.snapshot(of: $0)?.state }
            let effects = engine.handle(next, at: now)
            if options.trace {
                let after = subject.flatMap { engine.snapshot(of: $0)?.state }
                log.log(.debug, id: subject?.description ?? "", Engine.traceLine(event: next, before: before, after: after, effects: effects))
            }
            execute(effects)
        }
        // Keep a small buffer for the next turn, not the one start left (an event per child).
        queue.removeAll(keepingCapacity: queue.capacity <= Self.keptBufferCapacity)
        saveCarryOver()
    }

    /// Carries out effects: first what touches processes and timers, in order, then the
    /// table rows and log lines, in order. A restart's `posix_spawn` is what restart latency
    /// waits for; formatting records and writing log lines for the exit that caused it can
    /// wait the few microseconds until the replacement runs.
    func execute(_ effects: [Effect]) {
        for effect in effects {
            switch effect {
            case .spawn(let spec): spawn(spec)
            case .signal(_, let pid, let signal):
                // The child leads its own process group: the signal reaches its descendants too.
                if kill(-pid, signal.number) != 0 && errno == ESRCH { _ = kill(pid, signal.number) }
                // As systemd does: a stopped (SIGSTOP, Ctrl-Z) child acts on its stop signal
                // only once continued; without this it would wait for the SIGKILL timeout.
                if signal.number != SIGKILL && signal.number != SIGCONT { _ = kill(-pid, SIGCONT) }
            case .armTimer(let id, let at):
                loop.setTimer(id, at: at) { [unowned self] in self.feed(.timerFired(id)) }
            case .cancelTimer(let id):
                loop.cancelTimer(id)
            case .childRemoved(let id):
                startTicks[id] = nil
                hooks?.removed(id)
                cgroups?.removeIfEmpty(ChildCgroups.name(of: id))
            case .exit(let status):
                exitStatus = status
            case .probe(let request):
                runProbe(request)
            case .decideExit(let question):
                // The delegate answers now, between two engine steps; the answer is an event
                // like any other, handled after the ones already queued.
                let decision = hooks?.decideExit.flatMap { decide in engine.spec(of: question.id).map { decide(question, $0) } }
                queue.append(question.answer(decision ?? question.proposed))
            case .childChanged, .groupChanged, .groupRemoved, .event:
                continue
            }
        }
        for effect in effects {
            switch effect {
            case .childChanged(let snapshot):
                pendingChanges.append(.upsertChild(record(of: snapshot)))
            case .childRemoved(let id):
                pendingChanges.append(.deleteChild(id: id.description))
            case .groupChanged(let group):
                pendingChanges.append(.upsertGroup(record(of: group)))
            case .groupRemoved(let path):
                pendingChanges.append(.deleteGroup(path: path))
            case .event(let event):
                record(event)
            case .spawn, .signal, .armTimer, .cancelTimer, .exit, .decideExit, .probe:
                continue
            }
        }
    }

    /// Where children's lines go, for a new pipe.
    var lineDestination: LineDestination {
        if let sink {
            if case .file(_, let format) = childOutput, format != .plain { return .formatted(sink, format) }
            return .sink(sink)
        }
        if case .lines(let handler) = childOutput { return .lines(handler) }
        return .discard
    }

    func spawn(_ spec: LaunchSpec) {
        let id = spec.id
        let spec = spec.ready == nil && spec.watchdog == nil ? spec : withNotifySocket(spec)
        let process: SpawnedProcess
        // Its limits first, so they hold from its first instruction (a no-op without them).
        if let cgroups, !spec.limits.isEmpty || !cgroups.limited.isEmpty {
            for problem in cgroups.applyLimits(spec.limits, for: id) { log.log(.warning, id: id.description, problem) }
        }
        // Into its own cgroup: born there (clone3), or joined before it can fork.
        let cgroupDir = cgroups?.directoryFD(for: id) ?? -1
        if cgroupDir >= 0 { director_spawn_set_next_cgroup(cgroupDir) }
        // The cgroup's OOM kills so far (nil without the memory controller): more at the exit
        // means the exit's cause is `oom`.
        let oomKillsBefore = cgroupDir >= 0 ? cgroups?.oomKills(for: id) : nil
        defer {
            // Also when the spawn failed before reaching the shim: the next spawn must not
            // find this (closed) fd.
            if cgroupDir >= 0 {
                director_spawn_set_next_cgroup(-1)
                close(cgroupDir)
            }
        }
        do {
            process = try ProcessSpawner.spawn(spec, environment: environment, withPidfd: reaper.needsPidfds, awaitingExec: !spawnsWithoutWaiting)
        } catch {
            if error.code == .system && DescriptorLimit.isExhaustion(error.errno) {
                holdSpawn(spec, error: error)
            } else {
                deferSpawnFailure(id, reason: error.message)
            }
            return
        }
        startTicks[id] = process.startTicks ?? ProcStat.startTicks(pid: process.pid)
        let name = id.description
        let pid = process.pid
        if spec.ready?.check == .notify || spec.watchdog != nil { notifyChildren[pid] = id }
        if process.readyFD >= 0 {
            do {
                readyPipes[id] = try ReadyPipe(fd: process.readyFD, loop: loop) { [unowned self] in
                    self.readyPipes[id] = nil
                    self.feed(.ready(id, pid: pid))
                }
            } catch {
                log.log(.error, id: name, "cannot read the readiness pipe of pid=\(pid): \(error.message)")
                close(process.readyFD)
            }
        }
        let streams = [(process.stdoutFD, ChildStream.stdout, spec.log.stdout), (process.stderrFD, .stderr, spec.log.stderr)]
            .filter { $0.0 >= 0 }
        let openStreams = OpenStreams(count: streams.count)
        // What a late spawn failure's message needs, and only that: the closure lives as long
        // as the child, and capturing `spec` or `process` whole would keep their copies too.
        let program = process.program, cwd = spec.cwd
        let onExit: (ChildExitStatus) -> Void = { [unowned self] status in
            self.endNotifications(id, pid: pid)
            // The pidfd is read before the pipes: what the child wrote last is read now, so
            // its lines come before its exit line.
            for pipe in openStreams.pipes { pipe.drainAvailable() }
            openStreams.pipes = []
            if self.cgroups != nil { self.orphans.endedCgroups.insert(ChildCgroups.name(of: id)) }
            // Asked at every exit, which also forgets the pid's entry (pids are reused).
            if let failure = ProcessSpawner.lateFailure(of: (pid, program), cwd: cwd), status == .code(127) {
                // The spawn returned before the exec, which then failed: a spawn failure.
                self.feed(.execFailed(id, pid: pid, reason: failure.message))
            } else if oomKillsBefore != nil, ChildCgroups.killedByOOM(before: oomKillsBefore, after: self.cgroups?.oomKills(for: id)) {
                self.feed(.exitedOutOfMemory(id, pid: pid, status: status))
            } else {
                self.feed(.exited(id, pid: pid, status: status))
            }
            self.scheduleOrphanSweep()
        }
        do {
            try reaper.track(pid: pid, pidfd: process.pidfd, onExit: onExit)
        } catch {
            // Without a watched pidfd the exit still arrives: SIGCHLD collection reaps tracked
            // children too. Losing it would leave the child "running" forever.
            log.log(.error, id: name, "cannot watch pid=\(pid), falling back to SIGCHLD: \(error.message)")
            if process.pidfd >= 0 { close(process.pidfd) }
            try? reaper.track(pid: pid, pidfd: -1, onExit: onExit)
        }
        // A dying child closes its pipes a few microseconds before the kernel announces its
        // exit on the pidfd, so the end-of-file alone would cost a loop turn (a wake-up) of its
        // own. When both pipes have ended, the exit is looked for at once: usually it is there
        // and the restart happens in the same turn.
        let onClose = { [unowned self] in
            openStreams.count -= 1
            if openStreams.count == 0 { self.reaper.reapIfExited(pid) }
        }
        for (fd, stream, filter) in streams {
            do {
                openStreams.pipes.append(
                    try OutputPipe(
                        fd: fd, id: name, stream: stream, filter: filter, destination: lineDestination, loop: loop,
                        file: spec.log.file ? logFiles.map { ($0, spec.log.maxSize, spec.log.keep) } : nil, onClose: onClose))
            } catch {
                // The child keeps running; its output on this stream is dropped (the pipe is
                // closed, so it gets EPIPE rather than blocking on a full pipe).
                log.log(.error, id: name, "cannot read \(stream.rawValue) of pid=\(pid): \(error.message)")
                close(fd)
            }
        }
        queue.append(.started(id, pid: process.pid))
    }

    /// A failed spawn is an exit like any other, but never handled in the turn it happened:
    /// with no delay its restart would spawn (and fail) again at once, forever, inside one
    /// turn, while SIGTERM, the control socket and the table waited and the turn's events
    /// piled up (20 MB a second). Failures are fed in the next turn, a bounded number per
    /// turn, so each turn ends, commits and listens.
    func deferSpawnFailure(_ id: ChildID, reason: String) {
        if failedSpawnReasons.updateValue(reason, forKey: id) == nil { failedSpawns.append(id) }
        scheduleFailedSpawns()
    }

    private func scheduleFailedSpawns() {
        guard !failedSpawnFeedScheduled, !failedSpawns.isEmpty else { return }
        failedSpawnFeedScheduled = true
        loop.runInNextTurn { [unowned self] in self.feedFailedSpawns() }
    }

    private func feedFailedSpawns() {
        failedSpawnFeedScheduled = false
        let batch = failedSpawns.prefix(Self.spawnFailuresPerTurn)
        failedSpawns.removeFirst(batch.count)
        for id in batch {
            guard let reason = failedSpawnReasons.removeValue(forKey: id) else { continue }
            queue.append(.spawnFailed(id, reason: reason))
        }
        // Spawns that fail while these are handled wait for the next turn too.
        drain()
        scheduleFailedSpawns()
    }

    // MARK: - Signals and operator commands

    func onSignal(_ signal: Int32) {
        switch signal {
        case SIGCHLD:
            reaper.collectExited()
        case SIGHUP:
            _ = reload(trigger: "SIGHUP")
        case SIGUSR1:
            // For an external logrotate: it moved the files, the next lines open new ones.
            logFiles?.reopen()
            log.log(.info, "received USR1: reopening the log files")
        case SIGINT where interruptCount > 0:
            log.log(.warning, "second interrupt: killing every child now")
            killEveryChild()
        default:
            interruptCount += signal == SIGINT ? 1 : 0
            log.log(.info, "received \(ProcessSignal(number: signal).name): stopping the tree")
            feed(.command(.shutdown))
        }
    }

    // MARK: - Table

    /// End of a loop turn: hands the turn's changes to the writer thread.
    func submitChanges() {
        guard !pendingChanges.isEmpty else { return }
        writer.submit(pendingChanges)
        // The first turn has two changes per child (~200 bytes each); a storm's turns have a
        // few dozen. Keeping the first turn's capacity was ~0.4 KB per child for good.
        pendingChanges.removeAll(keepingCapacity: pendingChanges.capacity <= Self.keptBufferCapacity)
    }

    /// Submits and waits (bounded) until the table holds everything so far: at start, after
    /// a reload and at the end, where readers must see the result at once.
    func commitTable() {
        submitChanges()
        if !writer.flush() { log.log(.warning, "state table commits are slow; continuing") }
    }

    /// The wall-clock time of a monotonic instant.
    func wall(_ instant: Instant) -> UnixMillis {
        clockOrigin.wall + (instant.nanoseconds - clockOrigin.mono.nanoseconds) / 1_000_000
    }

    func record(_ event: EventRecord) {
        let now = SystemClock.monotonic()
        let at = wall(now)
        if event.kind == .roll || event.kind == .rollDone || event.kind == .rollStopped { noteRoll(event) }
        pendingChanges.append(.appendEvent(NewEvent(at: at, id: event.subject, kind: event.kind.rawValue, detail: event.detail, node: node)))
        if let events, events.hasSubscribers {
            events.publish(SupervisorEvent(
                at: at, subject: event.subject, kind: event.kind, detail: event.detail, fields: event.fields, severity: event.severity))
        }
        var shown = event.log
        if let hooks { shown = askDelegate(hooks, about: event) && shown }
        guard shown else { return }
        // The engine says how much it matters; nothing here reads the text.
        let level: DaemonLog.Level =
            switch event.severity {
            case .info: .info
            case .warning: .warning
            case .error: .error
            }
        let verb = EventWording.verb(event.kind)
        // Some details already start with the verb ("deleted by exit rule"): do not say it twice.
        let message = event.detail.isEmpty ? verb : event.detail.hasPrefix(verb) ? event.detail : "\(verb) \(event.detail)"
        log.log(level, id: event.subject, message, fields: EventWording.fields(event))
    }
}

extension SupervisorRuntime {
    /// The delegate's `handleStart` and `handleTerminate`, called for the events that report
    /// them; their answer is whether the line is logged (the Erlang library's `{log, false}`).
    func askDelegate(_ hooks: DelegateHooks, about event: EventRecord) -> Bool {
        guard event.kind == .start || (event.kind == .exit && event.fields.requested == true),
            let id = ChildID(event.subject), let child = engine.snapshot(of: id), let job = engine.spec(of: id)
        else { return true }
        if event.kind == .start { return hooks.started(child, job) }
        return hooks.terminated(child, job, event.fields.status ?? .code(0))
    }
}

/// How many of a child's output pipes are still open.
private final class OpenStreams {
    /// Pipes not at end-of-file yet (0-2: a stream with `log: {stdout: false}` has none).
    var count: Int
    init(count: Int) { self.count = count }
    /// Until the exit: the pipes to drain before it is handled.
    var pipes: [OutputPipe] = []
}

/// How lifecycle events read in the daemon log (`web/api/0 started pid=123`).
enum EventWording {
    static func verb(_ kind: EventKind) -> String {
        switch kind {
        case .start: "started"
        case .exit: "exited"
        case .restart: "restarting"
        case .stop: "stopping"
        case .delete: "deleted"
        case .wait: "waiting"
        case .spawnFailed: "spawn failed"
        case .groupFailed: "group failed"
        case .groupGivenUp: "given up:"
        case .groupStarted: "group started:"
        case .scale: "scaled"
        case .reload: "reloaded"
        case .shutdown: "shutting down"
        case .ready: "ready"
        case .notReady: "not ready:"
        case .roll: "rolling update:"
        case .rollDone: "rolling update done:"
        case .rollStopped: "rolling update stopped:"
        }
    }
}

/// An absolute form of `path` (relative to the current directory).
package func absolutePath(_ path: String) -> String {
    if path.hasPrefix("/") { return path }
    var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
    guard getcwd(&buffer, buffer.count) != nil else { return path }
    let cwd = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    return path == "." ? cwd : cwd + "/" + path
}
