#if canImport(Glibc)
import Glibc
#endif
import DirectorRuntime
import DirectorTable

// The commands that talk to the daemon over <state>/control.sock.

/// Sends one request and returns the reply's result; a refused request becomes a user error
/// with the daemon's message (several lines for manifest errors).
func exchange(_ state: String, _ request: ControlRequest) throws -> JSONValue {
    let reply: ControlReply
    do { reply = try ControlClient(stateDirectory: state).send(request) } catch { throw UserError(error.message) }
    switch reply {
    case .ok(let result): return result
    case .failure(let failure):
        if failure.code.rawValue == "invalid_manifest" {
            // One FILE:LINE:COL line per error, as `validate` prints them.
            writeStandardError(failure.message + "\n")
            throw UserError("reload refused: the manifests are invalid; nothing changed")
        }
        throw UserError(failure.message)
    }
}

extension StartCommand {
    func sendStart() throws {
        try sendRouted(ids, state: stateOptions.state, shared: sharedTable, verb: "starting", already: "already running") { .start(ids: $0) }
    }
}

extension StopCommand {
    func sendStop() throws {
        try sendRouted(ids, state: stateOptions.state, shared: sharedTable, verb: "stopping", already: "already stopped") { .stop(ids: $0) }
    }
}

extension RestartCommand {
    func sendRestart() throws {
        let rolling = self.rolling
        try sendRouted(ids, state: stateOptions.state, shared: sharedTable, verb: rolling ? "rolling" : "restarting") {
            rolling ? .rollingRestart(ids: $0) : .restart(ids: $0)
        }
    }
}

extension DeleteCommand {
    func sendDelete() throws { printIDs(try exchange(stateOptions.state, .delete(ids: ids)), verb: "deleted") }
}

extension ScaleCommand {
    func sendScale() throws {
        _ = try exchange(stateOptions.state, .scale(job: job, instances: instances))
        print("\(job): scaling to \(instances)")
    }
}

extension ReloadCommand {
    func sendReload() throws {
        let r = try exchange(stateOptions.state, .reload)
        let n = { (k: String) in r[k]?.intValue ?? 0 }
        let rolling = n("rolling") > 0 ? ", rolling \(n("rolling")) job(s)" : ""
        print("reloaded: generation \(n("generation")), started \(n("started")), stopped \(n("stopped")), restarted \(n("restarted")), scaled \(n("scaled")), updated in place \(n("updated_in_place"))\(rolling)")
    }
}

extension ShutdownCommand {
    /// Asks for a shutdown, then waits (bounded) until the daemon process is gone, so that a
    /// script can rely on the tree being stopped when the command returns.
    func sendShutdown() throws {
        let r = try exchange(stateOptions.state, .shutdown)
        guard let pid = r["pid"]?.intValue.map(Int32.init) else { return }
        for _ in 0..<(wait * 50) {
            // Not `kill(pid, 0)`: it succeeds on a zombie, and a parent that never reaps the
            // daemon would keep this command waiting after the daemon has exited.
            if !ProcStat.isRunning(pid: pid) { print("stopped"); return }
            usleep(20_000)
        }
        throw UserError("the daemon (pid \(pid)) is still stopping after \(wait)s")
    }
}

/// `ID: VERB` for each affected id; `ID: ALREADY` for those the daemon found already there
/// (the reply's `already`: a stop of a stopped child, a start of a running one).
func printIDs(_ result: JSONValue, verb: String, already: String? = nil) {
    let there = Set((result["already"]?.arrayValue ?? []).compactMap(\.stringValue))
    for id in result["ids"]?.arrayValue ?? [] {
        guard let s = id.stringValue else { continue }
        print("\(s): \(there.contains(s) ? already ?? verb : verb)")
    }
}
