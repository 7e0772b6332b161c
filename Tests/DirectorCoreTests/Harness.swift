import DirectorManifest
import Testing

@testable import DirectorCore

// A stand-in for the runtime: a manual clock, pids handed out in order, armed timers fired
// when the clock passes them, and (optionally) every spawn acknowledged at once. Effects are
// rendered as short strings so scenario tables read like a log.

/// One step of a scenario table.
enum Step: CustomStringConvertible {
    case start
    case exit(String, code: Int32)
    case killed(String, signal: ProcessSignal)
    case spawnFailed(String)
    /// The child's current process never ran its program (the runtime's spawn returned before
    /// the exec, which failed).
    case execFailed(String)
    case started(String)
    /// The child's current process says READY=1.
    case ready(String)
    /// The child's current process sends another sd_notify key.
    case notify(String, Notification)
    /// The last probe asked for the child ends, ok or failed.
    case probed(String, ok: Bool)
    case advance(ms: Int64)
    case command(OperatorCommand)
    case reload(Manifest)
    /// Answers the last question asked about the child (`ExitVerdictSource.asked`), whether
    /// or not it still stands.
    case decide(String, ExitDecision)
    /// Answers this question.
    case answer(ExitQuestion, ExitDecision)

    var description: String {
        switch self {
        case .start: "start"
        case .exit(let id, let code): "exit \(id) code=\(code)"
        case .killed(let id, let signal): "killed \(id) \(signal)"
        case .spawnFailed(let id): "spawn_failed \(id)"
        case .execFailed(let id): "exec_failed \(id)"
        case .started(let id): "started \(id)"
        case .ready(let id): "ready \(id)"
        case .notify(let id, let n): "notify \(id) \(n)"
        case .probed(let id, let ok): "probed \(id) \(ok)"
        case .advance(let ms): "advance \(ms)ms"
        case .command(let c): "command \(c)"
        case .reload: "reload"
        case .decide(let id, let d): "decide \(id) \(d.action)"
        case .answer(let q, let d): "answer #\(q.number) \(q.id) \(d.action)"
        }
    }
}

struct Harness {
    var engine: Engine
    var now: Instant = .zero
    var nextPid: Int32 = 100
    /// The pid the simulated runtime knows per child.
    var pids: [ChildID: Int32] = [:]
    /// Armed timers and their due instants.
    var timers: [TimerID: Instant] = [:]
    /// Acknowledge every spawn with `.started` right away.
    var autoStart = true
    /// Every effect so far, in order.
    var all: [Effect] = []
    var lastReply: CommandReply?
    var lastSummary: ReloadSummary?
    /// Every question asked (`.decideExit`), in order.
    var questions: [ExitQuestion] = []
    /// Every probe asked for (`.probe`), in order.
    var probeRequests: [ProbeRequest] = []
    /// When set, every question is answered at once with its result (as a runtime whose
    /// delegate answers in the same drain).
    var answerAtOnce: ((ExitQuestion) -> ExitDecision)?

    init(
        _ manifest: Manifest, root: RootPolicy = RootPolicy(), restored: RestoredState = RestoredState(), seed: UInt64 = 1,
        exitVerdicts: ExitVerdictSource = .rules
    ) {
        engine = Engine(manifest: manifest, root: root, restored: restored, seed: seed, exitVerdicts: exitVerdicts)
    }

    /// Runs one step; returns the rendered action effects (spawns, signals, timers, removals,
    /// exit) it caused, auto-acknowledged starts and fired timers included.
    mutating func run(_ step: Step) -> [String] {
        var effects: [Effect] = []
        switch step {
        case .start:
            effects = engine.start(at: now)
        case .exit(let id, let code):
            effects = feed(.exited(cid(id), pid: pids[cid(id)] ?? -1, status: .code(code)))
        case .killed(let id, let signal):
            effects = feed(.exited(cid(id), pid: pids[cid(id)] ?? -1, status: .signal(signal)))
        case .spawnFailed(let id):
            effects = feed(.spawnFailed(cid(id), reason: "ENOENT"))
        case .execFailed(let id):
            effects = feed(.execFailed(cid(id), pid: pids[cid(id)] ?? -1, reason: "ENOEXEC"))
        case .started(let id):
            effects = feed(.started(cid(id), pid: newPid(for: cid(id))))
        case .ready(let id):
            effects = feed(.ready(cid(id), pid: pids[cid(id)] ?? -1))
        case .notify(let id, let n):
            effects = feed(.notified(cid(id), pid: pids[cid(id)] ?? -1, n))
        case .probed(let id, let ok):
            guard let request = probeRequests.last(where: { $0.id == cid(id) }) else { return ["no probe of \(id)"] }
            effects = feed(request.result(ok: ok, detail: ok ? "" : "connection refused"))
        case .advance(let ms):
            let end = now + .milliseconds(ms)
            while let (timer, at) = timers.filter({ $0.value <= end }).min(by: { $0.value < $1.value || ($0.value == $1.value && "\($0.key)" < "\($1.key)") }) {
                timers[timer] = nil
                now = max(now, at)
                effects += absorb(engine.handle(.timerFired(timer), at: now))
            }
            now = end
            return render(effects)
        case .command(let c):
            let (reply, out) = engine.command(c, at: now)
            lastReply = reply
            effects = out
        case .reload(let m):
            let (summary, out) = engine.reload(m, at: now)
            lastSummary = summary
            effects = out
        case .decide(let id, let decision):
            guard let question = questions.last(where: { $0.id == cid(id) }) else { return ["no question about \(id)"] }
            effects = feed(question.answer(decision))
        case .answer(let question, let decision):
            effects = feed(question.answer(decision))
        }
        return render(absorb(effects))
    }

    /// Runs a table of steps, checking each step's rendered effects.
    mutating func check(_ table: [(Step, [String])], sourceLocation: Testing.SourceLocation = #_sourceLocation) {
        for (index, (step, expected)) in table.enumerated() {
            let got = run(step)
            #expect(got == expected, "step \(index): \(step)", sourceLocation: sourceLocation)
        }
    }

    func state(_ id: String) -> ChildState? { engine.snapshot(of: cid(id))?.state }
    func restarts(_ id: String) -> Int? { engine.snapshot(of: cid(id))?.restarts }
    /// The question about `id` that still awaits its answer.
    func question(_ id: String) -> ExitQuestion? { engine.openQuestion(for: cid(id)) }
    func events(_ kind: EventKind) -> [EventRecord] {
        all.compactMap { if case .event(let r) = $0, r.kind == kind { r } else { nil } }
    }

    private mutating func feed(_ event: EngineEvent) -> [Effect] { engine.handle(event, at: now) }

    private mutating func newPid(for id: ChildID) -> Int32 {
        nextPid += 1
        pids[id] = nextPid
        return nextPid
    }

    /// Records effects, tracks timers, and acknowledges spawns when `autoStart`.
    private mutating func absorb(_ effects: [Effect]) -> [Effect] {
        var result: [Effect] = []
        var queue = effects[...]
        while let effect = queue.popFirst() {
            all.append(effect)
            result.append(effect)
            switch effect {
            case .armTimer(let t, let at): timers[t] = at
            case .cancelTimer(let t): timers[t] = nil
            case .spawn(let launch) where autoStart:
                let more = engine.handle(.started(launch.id, pid: newPid(for: launch.id)), at: now)
                queue = more[...] + queue
            case .probe(let request):
                probeRequests.append(request)
            case .decideExit(let question):
                questions.append(question)
                if let answerAtOnce {
                    // After the effects of the event that asked, as a runtime's drain would.
                    queue += engine.handle(question.answer(answerAtOnce(question)), at: now)
                }
            default: break
            }
        }
        return result
    }

    func render(_ effects: [Effect]) -> [String] {
        effects.compactMap { effect in
            switch effect {
            case .spawn(let l): "spawn \(l.id)"
            case .signal(let id, _, let s): "signal \(id) \(s)"
            case .armTimer(let t, let at): "arm \(Self.name(t)) +\((at.nanoseconds - now.nanoseconds) / 1_000_000)ms"
            case .cancelTimer(let t): "cancel \(Self.name(t))"
            case .childRemoved(let id): "removed \(id)"
            case .exit(let status): "exit \(status)"
            case .decideExit(let q): "ask \(q.id) \(q.status) -> \(q.proposed.action)"
            case .probe(let r): "probe \(r.id) \(r.purpose.rawValue) \(r.probe.kind)"
            case .event(let r) where r.kind == .groupFailed: "failed \(r.subject)"
            case .event(let r) where r.kind == .groupGivenUp: "given up \(r.subject)"
            case .event(let r) where r.kind == .groupStarted: "started group \(r.subject)"
            default: nil
            }
        }
    }

    static func name(_ t: TimerID) -> String {
        switch t {
        case .restart(let id): "restart \(id)"
        case .shutdownTimeout(let id): "kill \(id)"
        case .resetRestarts(let id): "reset \(id)"
        case .readyTimeout(let id): "ready_timeout \(id)"
        case .probe(let id): "probe \(id)"
        case .watchdog(let id): "watchdog \(id)"
        }
    }
}

/// The engine's exit status (Testing has its own `ChildExitStatus`).
typealias ChildExitStatus = DirectorCore.ChildExitStatus

func cid(_ text: String) -> ChildID { ChildID(text)! }

// MARK: Manifest builders

func job(
    _ name: String, instances: Int = 1, restart: RestartType = .permanent, delay: Duration = .zero,
    backoff: Backoff? = nil, resetAfter: Duration = .seconds(60), onExit: [ExitRule] = [],
    shutdown: Shutdown = Shutdown(signal: .term, timeout: .after(.seconds(5))), command: [String] = ["/bin/worker"]
) -> GroupChild {
    .job(
        JobSpec(
            name: name, command: .argv(command + ["{{instance}}"]), instances: instances, cwd: "/srv",
            restart: restart, delay: delay, backoff: backoff, resetAfter: resetAfter, onExit: onExit,
            shutdown: shutdown))
}

func group(
    _ name: String, _ children: [GroupChild], strategy: Strategy = .oneForOne, intensity: Int = 100,
    period: Duration = .seconds(60)
) -> GroupSpec {
    GroupSpec(name: name, strategy: strategy, intensity: intensity, period: period, children: children)
}

func nested(_ g: GroupSpec) -> GroupChild { .group(g) }
