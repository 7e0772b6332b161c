#if canImport(Glibc)
import Glibc
#endif
import DirectorCore
import DirectorManifest

/// sd_notify for children with `ready: {notify: true}` or `watchdog:`: the socket is made at
/// the first such spawn (a tree without them never has one), `$NOTIFY_SOCKET` names it, and a
/// message counts for a child when its sender is in the child's process group (the child
/// leads its own group, so the group id is the child's pid) or is the main pid it announced.
///
/// The socket is abstract (`@director-<hash of the state directory>/notify`), not a file in
/// the state directory: that directory is 0700, so a child running as another `user` could
/// not reach a file there, and making it traversable would expose the table and the control
/// socket. An abstract name has no permissions, so anyone on the host may send to it — which
/// is safe because nothing is taken from a message but what the kernel vouches for: the
/// sender's pid (SO_PASSCRED, which an unprivileged process cannot forge), and a pid outside
/// every child's process group is ignored. The name is bound by this daemon alone (one per
/// state directory, under its lock); if another process squats it, a random suffix is taken.
extension SupervisorRuntime {
    /// `spec` with `NOTIFY_SOCKET` (and `WATCHDOG_USEC`, `WATCHDOG_PID`) when its job wants
    /// them; unchanged when the socket cannot be made (logged; the child then runs and its
    /// readiness or watchdog times out).
    func withNotifySocket(_ spec: LaunchSpec) -> LaunchSpec {
        guard spec.ready?.check == .notify || spec.watchdog != nil else { return spec }
        if notify == nil {
            do {
                notify = try makeNotifySocket()
            } catch {
                log.log(.error, id: spec.id.description, "cannot make the notify socket: \(error.message)")
                return spec
            }
        }
        var spec = spec
        spec.env.append(EnvVar(name: "NOTIFY_SOCKET", value: notify!.address))
        if let watchdog = spec.watchdog {
            spec.env.append(EnvVar(name: "WATCHDOG_USEC", value: String(watchdog.nanosecondsClamped / 1000)))
            // Ten digits of room: the spawn shim writes the child's pid there.
            spec.env.append(EnvVar(name: "WATCHDOG_PID", value: "0000000000"))
        }
        return spec
    }

    private func makeNotifySocket() throws(RuntimeError) -> NotifySocket {
        let base = stateDirectory.map { "@director-\(Self.hashText(absolutePath($0.path)))" } ?? "@director-embedded-\(getpid())"
        let handler: (Int32, String) -> Void = { [unowned self] pid, text in self.notified(pid: pid, text: text) }
        do {
            return try NotifySocket(address: base + "/notify", loop: loop, onMessage: handler)
        } catch {
            // Taken (a squatter, or a second supervisor in this process): a name nobody can guess.
            return try NotifySocket(address: base + "-\(String(UInt64.random(in: 0 ... .max), radix: 16))/notify", loop: loop, onMessage: handler)
        }
    }

    /// FNV-1a 64 of `text` in hex: a short, stable name for a state directory.
    static func hashText(_ text: String) -> String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            h ^= UInt64(byte)
            h = h &* 0x0000_0100_0000_01b3
        }
        return String(h, radix: 16)
    }

    /// The child a message from `pid` is for, and that child's pid.
    private func sender(_ pid: Int32) -> (leader: Int32, id: ChildID)? {
        if let id = notifyChildren[pid] { return (pid, id) }
        let group = getpgid(pid)
        if group > 0, let id = notifyChildren[group] { return (group, id) }
        return mainPIDs[pid]
    }

    /// One datagram: each known key reaches the engine; unknown keys are ignored (sd_notify).
    func notified(pid: Int32, text: String) {
        guard pid > 0, let (leader, id) = sender(pid) else { return }  // not one of our children
        for (key, value) in NotifySocket.fields(text) {
            switch key {
            case "READY" where value == "1": feed(.ready(id, pid: leader))
            case "STATUS": feed(.status(id, pid: leader, text: String(value)))
            case "WATCHDOG" where value == "1": feed(.notified(id, pid: leader, .watchdog))
            case "WATCHDOG" where value == "trigger": feed(.notified(id, pid: leader, .watchdogTrigger))
            case "WATCHDOG_USEC":
                if let usec = Int64(value), usec >= 0 { feed(.notified(id, pid: leader, .watchdogInterval(.microseconds(usec)))) }
            case "RELOADING" where value == "1": feed(.notified(id, pid: leader, .reloading))
            case "STOPPING" where value == "1": feed(.notified(id, pid: leader, .stopping))
            case "RESTART_RESET" where value == "1": feed(.notified(id, pid: leader, .restartReset))
            case "MAINPID": announceMainPID(String(value), of: id, leader: leader)
            default: break
            }
        }
    }

    /// `MAINPID=N`: taken only for a descendant of the child (anything else would let a child
    /// speak for a process it does not own). Its later messages count for the child even if
    /// it left the child's process group; supervision stays with the child's own pid.
    private func announceMainPID(_ text: String, of id: ChildID, leader: Int32) {
        guard let main = Int32(text), main > 0 else { return }
        if main == leader { return }
        guard ProcStat.isDescendant(main, of: leader) else {
            log.log(.warning, id: id.description, "ignored MAINPID=\(main): not a descendant of pid=\(leader)")
            return
        }
        mainPIDs[main] = (leader, id)
        log.log(.info, id: id.description, "main pid is now \(main) (pid=\(leader) is still the one supervised)")
    }

    /// The child's process ended: its notify, readiness-pipe and probe state goes with it.
    /// On every exit, so each check is of an empty collection for a tree without these keys.
    func endNotifications(_ id: ChildID, pid: Int32) {
        if !notifyChildren.isEmpty { notifyChildren[pid] = nil }
        if !mainPIDs.isEmpty { mainPIDs = mainPIDs.filter { $0.value.leader != pid } }
        if !readyPipes.isEmpty { readyPipes.removeValue(forKey: id)?.close() }
        probeRunner?.cancel(id)
    }

    /// Carries out `Effect.probe`.
    func runProbe(_ request: ProbeRequest) {
        if probeRunner == nil {
            probeRunner = ProbeRunner(loop: loop, reaper: reaper, environment: environment) { [unowned self] event in
                self.feed(event)
            }
        }
        let launch = engine.spec(of: request.id).map { LaunchSpec(job: $0, id: request.id) }
        probeRunner?.start(request, launch: launch)
    }
}
