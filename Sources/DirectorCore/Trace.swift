import DirectorManifest

extension Engine {
    /// One line for `director run --trace`: the event, the child's state before and after,
    /// and the effects, e.g.
    /// `exited web/api/0 pid=12 code=1 | running -> starting | event(exit) event(restart) spawn(web/api/0)`.
    public static func traceLine(event: EngineEvent, before: ChildState?, after: ChildState?, effects: [Effect]) -> String {
        let states = "\(before?.rawValue ?? "-") -> \(after?.rawValue ?? "-")"
        let list = effects.isEmpty ? "no effects" : effects.map(describe).joined(separator: " ")
        return "\(describe(event)) | \(states) | \(list)"
    }

    /// The child an event is about, for looking up states around a trace line.
    public static func subject(of event: EngineEvent) -> ChildID? {
        switch event {
        case .started(let id, _), .spawnFailed(let id, _), .exited(let id, _, _): return id
        case .timerFired(.restart(let id)), .timerFired(.shutdownTimeout(let id)), .timerFired(.resetRestarts(let id)),
            .timerFired(.readyTimeout(let id)), .timerFired(.probe(let id)), .timerFired(.watchdog(let id)):
            return id
        case .exitDecided(let id, _, _), .ready(let id, _), .status(let id, _, _), .notified(let id, _, _),
            .probed(let id, _, _), .exitedOutOfMemory(let id, _, _), .execFailed(let id, _, _):
            return id
        case .command, .reload: return nil
        }
    }

    /// A short text for an event.
    public static func describe(_ event: EngineEvent) -> String {
        switch event {
        case .started(let id, let pid): "started \(id) pid=\(pid)"
        case .spawnFailed(let id, let reason): "spawn_failed \(id) \(reason)"
        case .exited(let id, let pid, let status): "exited \(id) pid=\(pid) \(status)"
        case .timerFired(let timer): "timer \(describe(timer))"
        case .command(let command): "command \(describe(command))"
        case .reload(let manifest): "reload groups=\(manifest.groups.count)"
        case .exitDecided(let id, let decision, let number): "exit_decided \(id) #\(number) \(describe(decision))"
        case .ready(let id, let pid): "ready \(id) pid=\(pid)"
        case .status(let id, let pid, let text): "status \(id) pid=\(pid) \(text)"
        case .exitedOutOfMemory(let id, let pid, let status): "exited \(id) pid=\(pid) \(status) cause=oom"
        case .execFailed(let id, let pid, let reason): "exec_failed \(id) pid=\(pid) \(reason)"
        case .notified(let id, let pid, let n): "notified \(id) pid=\(pid) \(n)"
        case .probed(let id, let pid, let o): "probed \(id) pid=\(pid) #\(o.number) \(o.ok ? "ok" : "failed \(o.detail)")"
        }
    }

    /// A short text for an effect.
    public static func describe(_ effect: Effect) -> String {
        switch effect {
        case .spawn(let launch): "spawn(\(launch.id))"
        case .signal(let id, let pid, let signal): "signal(\(id) pid=\(pid) \(signal))"
        case .armTimer(let timer, let at): "arm(\(describe(timer)) at=\(at))"
        case .cancelTimer(let timer): "cancel(\(describe(timer)))"
        case .childChanged(let snap): "row(\(snap.id)=\(snap.state.rawValue))"
        case .childRemoved(let id): "removed(\(id))"
        case .groupChanged(let group): "group(\(group.path.isEmpty ? "<root>" : group.path)=\(group.state.rawValue))"
        case .groupRemoved(let path): "group_removed(\(path))"
        case .event(let record): "event(\(record.kind.rawValue))"
        case .exit(let status): "exit(\(status))"
        case .decideExit(let q): "decide_exit(\(q.id) #\(q.number) proposed=\(describe(q.proposed)))"
        case .probe(let r): "probe(\(r.id) \(r.purpose.rawValue) \(r.probe.kind) #\(r.number))"
        }
    }

    private static func describe(_ decision: ExitDecision) -> String {
        var text = decision.action.rawValue
        if let after = decision.after { text += " after=\(format(after))" }
        if let rule = decision.ruleIndex { text += " rule=\(rule)" }
        if !decision.log { text += " log=false" }
        return text
    }

    private static func describe(_ timer: TimerID) -> String {
        switch timer {
        case .restart(let id): "restart \(id)"
        case .shutdownTimeout(let id): "shutdown_timeout \(id)"
        case .resetRestarts(let id): "reset_restarts \(id)"
        case .readyTimeout(let id): "ready_timeout \(id)"
        case .probe(let id): "probe \(id)"
        case .watchdog(let id): "watchdog \(id)"
        }
    }

    private static func describe(_ command: OperatorCommand) -> String {
        switch command {
        case .stop(let ids): "stop \(ids.map(\.description).joined(separator: ","))"
        case .restart(let ids): "restart \(ids.map(\.description).joined(separator: ","))"
        case .delete(let ids): "delete \(ids.map(\.description).joined(separator: ","))"
        case .scale(let job, let n): "scale \(job) \(n)"
        case .start(let ids): "start \(ids.map(\.description).joined(separator: ","))"
        case .shutdown: "shutdown"
        case .rollingRestart(let ids): "restart --rolling \(ids.map(\.description).joined(separator: ","))"
        }
    }
}
