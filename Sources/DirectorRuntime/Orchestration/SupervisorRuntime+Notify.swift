#if canImport(Glibc)
import Glibc
#endif
import DirectorCore
import DirectorManifest

/// sd_notify for children with `ready: {notify: true}`: the socket is made at the first such
/// spawn (a tree without `ready:` never has one), `$NOTIFY_SOCKET` names it, and a message
/// counts for a child when its sender is in the child's process group (the child leads its
/// own group, so the group id is the child's pid).
extension SupervisorRuntime {
    /// `spec` with `NOTIFY_SOCKET` when its job wants it; nil when the socket cannot be made
    /// (logged once per spawn; the child then runs and its readiness times out).
    func withNotifySocket(_ spec: LaunchSpec) -> LaunchSpec {
        guard spec.ready?.check == .notify else { return spec }
        if notify == nil {
            let address = stateDirectory.map { absolutePath($0.path) + "/notify.sock" } ?? "@director-notify-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
            do {
                notify = try NotifySocket(address: address, loop: loop) { [unowned self] pid, text in
                    self.notified(pid: pid, text: text)
                }
            } catch {
                log.log(.error, id: spec.id.description, "cannot make the notify socket: \(error.message)")
                return spec
            }
        }
        var spec = spec
        spec.env.append(EnvVar(name: "NOTIFY_SOCKET", value: notify!.address))
        return spec
    }

    /// One datagram: READY=1 and STATUS= reach the engine; other keys are ignored.
    func notified(pid: Int32, text: String) {
        guard pid > 0 else { return }
        let group = getpgid(pid)
        guard let (leader, id) = notifyChildren[pid].map({ (pid, $0) }) ?? (group > 0 ? notifyChildren[group].map { (group, $0) } : nil)
        else { return }  // not one of our children's process groups
        for (key, value) in NotifySocket.fields(text) {
            switch key {
            case "READY" where value == "1": feed(.ready(id, pid: leader))
            case "STATUS": feed(.status(id, pid: leader, text: String(value)))
            default: break
            }
        }
    }
}
