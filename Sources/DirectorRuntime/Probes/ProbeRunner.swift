#if canImport(Glibc)
import Glibc
#endif
import DirectorCore
import DirectorManifest

/// Runs the engine's probes (`Effect.probe`) without blocking the loop: TCP and HTTP as
/// non-blocking sockets on it (`SocketProbe`), `exec` as a helper process with its own process
/// group, reaped like a child and SIGKILLed when it overruns its timeout.
/// At most one probe per child runs (the engine asks for the next one only after a result).
/// Each result is reported once, as `EngineEvent.probed`; a probe whose child has ended is
/// cancelled and reports nothing.
final class ProbeRunner {
    private enum Work {
        case socket(SocketProbe)
        case exec(pid: Int32)
    }

    private struct Running {
        var request: ProbeRequest
        var work: Work?
    }

    private struct TimeoutKey: Hashable {
        let id: ChildID
    }

    private let loop: EventLoop
    private let reaper: ProcessReaper
    private let environment: SpawnEnvironment
    private let report: (EngineEvent) -> Void
    private var running: [ChildID: Running] = [:]

    init(loop: EventLoop, reaper: ProcessReaper, environment: SpawnEnvironment, report: @escaping (EngineEvent) -> Void) {
        self.loop = loop
        self.reaper = reaper
        self.environment = environment
        self.report = report
    }

    /// Starts `request`; `launch` is the child's own launch spec (an `exec` probe runs in its
    /// working directory, with its environment and identity).
    func start(_ request: ProbeRequest, launch: LaunchSpec?) {
        let id = request.id
        cancel(id)
        running[id] = Running(request: request)
        loop.setTimer(TimeoutKey(id: id), at: loop.now + request.timeout) { [unowned self] in
            self.finish(id, number: request.number, ok: false, detail: "timed out after \(Self.format(request.timeout))")
        }
        let done: (Bool, String) -> Void = { [unowned self] ok, detail in
            self.finish(id, number: request.number, ok: ok, detail: detail)
        }
        switch request.probe {
        case .tcp(let port):
            let probe = SocketProbe(host: "127.0.0.1", port: port, request: nil, loop: loop, done: done)
            attach(.socket(probe), to: id, number: request.number)
        case .http(let target):
            let probe = SocketProbe(
                host: target.host, port: target.port,
                request: SocketProbe.httpRequest(path: target.path, authority: target.authority), loop: loop, done: done)
            attach(.socket(probe), to: id, number: request.number)
        case .exec(let argv):
            startHelper(argv, request: request, launch: launch, done: done)
        }
    }

    private func attach(_ work: Work, to id: ChildID, number: UInt64) {
        // The probe may have ended already (a refused connect is known at once).
        guard running[id]?.request.number == number else {
            if case .socket(let s) = work { s.cancel() }
            return
        }
        running[id]?.work = work
    }

    private func startHelper(_ argv: [String], request: ProbeRequest, launch: LaunchSpec?, done: @escaping (Bool, String) -> Void) {
        var spec = launch ?? LaunchSpec(id: request.id, argv: argv, cwd: "", env: [], log: LogPolicy())
        spec.argv = argv
        spec.ready = nil
        spec.watchdog = nil
        // Its output goes to /dev/null: nobody reads it, and a pipe nobody drained would only
        // block the helper until its timeout.
        spec.log.capturesStdout = false
        spec.log.capturesStderr = false
        let process: SpawnedProcess
        do { process = try ProcessSpawner.spawn(spec, environment: environment, withPidfd: reaper.needsPidfds) } catch {
            return done(false, error.message)
        }
        let pid = process.pid
        let onExit: (ChildExitStatus) -> Void = { [unowned self] status in
            if case .exec(let p)? = self.running[request.id]?.work, p == pid { self.running[request.id]?.work = nil }
            switch status {
            case .code(0): done(true, "")
            case .code(let c): done(false, "exit code \(c)")
            case .signal(let s): done(false, "killed by \(s.name)")
            }
        }
        do { try reaper.track(pid: pid, pidfd: process.pidfd, onExit: onExit) } catch {
            if process.pidfd >= 0 { close(process.pidfd) }
            try? reaper.track(pid: pid, pidfd: -1, onExit: onExit)
        }
        attach(.exec(pid: pid), to: request.id, number: request.number)
    }

    private func finish(_ id: ChildID, number: UInt64, ok: Bool, detail: String) {
        guard let run = running[id], run.request.number == number else { return }
        stop(run)
        running[id] = nil
        loop.cancelTimer(TimeoutKey(id: id))
        report(run.request.result(ok: ok, detail: detail))
    }

    /// Ends the probe of `id`, if any, without a result (its process has ended).
    func cancel(_ id: ChildID) {
        guard let run = running.removeValue(forKey: id) else { return }
        stop(run)
        loop.cancelTimer(TimeoutKey(id: id))
    }

    private func stop(_ run: Running) {
        switch run.work {
        case .socket(let s): s.cancel()
        case .exec(let pid):
            // Still running (it overran, or its child ended): the helper's whole group goes.
            // Its exit is reaped later and finds no probe to report to.
            _ = kill(-pid, SIGKILL)
        case nil: break
        }
    }

    /// How many probes run now (tests).
    var count: Int { running.count }

    private static func format(_ d: Duration) -> String { "\(d.nanosecondsClamped / 1_000_000)ms" }
}
