#if canImport(Glibc)
import Glibc
#endif
import DirectorManifest

// `limits: {memory, cpu, pids}`: cgroup v2 controls of each child's own cgroup, written
// before the child joins it (so they hold from its first instruction), where the daemon's
// cgroups have the controllers. The daemon asks for them once, at start: its own cgroup's
// `cgroup.subtree_control` gives them to the base directory, whose own gives them to the
// children's cgroups. Either step may be refused: the controller is bound to a cgroup v1
// hierarchy (this machine), or the daemon's cgroup is not the root and has processes of its
// own (the kernel's "no internal processes" rule: EBUSY). Then `run` warns, naming each
// `limits` key that is not applied (ManifestWarnings).
extension ChildCgroups {
    /// Enables `memory`, `cpu` and `pids` for the children's cgroups where they are offered;
    /// returns what the children's cgroups have, and why the others are missing.
    static func enableLimitControllers(parent: String, base: String) -> LimitSupport {
        let wanted = CgroupHierarchy.limitControllers
        guard let offered = CgroupHierarchy.controllers(of: parent) else {
            return LimitSupport(available: [], reason: "\(parent)/cgroup.controllers cannot be read")
        }
        var problems: [String] = []
        let inBase = CgroupHierarchy.controllers(of: base) ?? []
        for controller in wanted where offered.contains(controller) && !inBase.contains(controller) {
            if let problem = writeControl(parent + "/cgroup.subtree_control", "+" + controller) { problems.append(problem) }
        }
        let nowInBase = CgroupHierarchy.controllers(of: base) ?? []
        for controller in wanted where nowInBase.contains(controller) {
            if let problem = writeControl(base + "/cgroup.subtree_control", "+" + controller) { problems.append(problem) }
        }
        let enabled = Set((CgroupHierarchy.readText(base + "/cgroup.subtree_control") ?? "").split(whereSeparator: \.isWhitespace).map(String.init))
        let available = enabled.intersection(wanted)
        var reasons: [String] = []
        if !Set(wanted).isSubset(of: offered) { reasons.append(LimitSupport.missingReason(directory: parent, offered: offered)) }
        reasons += problems
        return LimitSupport(available: available, reason: reasons.joined(separator: "; "))
    }

    /// Writes `value` to a cgroup interface file; the reason on failure.
    static func writeControl(_ path: String, _ value: String) -> String? {
        let fd = Glibc.open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { return "cannot open \(path): \(String(cString: strerror(errno)))" }
        defer { close(fd) }
        let bytes = Array(value.utf8)
        let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard n != bytes.count else { return nil }
        let why = String(cString: strerror(errno))
        if errno == EBUSY {
            return "writing \(value) to \(path) failed: \(why) (a cgroup with processes of its own cannot give controllers to "
                + "its children; run the daemon in a cgroup of its own, e.g. systemd's Delegate=yes with a sub-group)"
        }
        return "writing \(value) to \(path) failed: \(why)"
    }

    /// Writes the job's limits into the child's cgroup (created if needed) before its spawn:
    /// the controls whose controller the children's cgroups have, `max` for those the job
    /// does not set (a reload may have removed them). Returns a problem per control that
    /// could not be written.
    package func applyLimits(_ limits: CgroupLimits, for id: ChildID) -> [String] {
        let name = Self.name(of: id)
        guard !limits.isEmpty || limited.contains(name) else { return [] }
        guard !limitSupport.available.isEmpty else { return [] }
        guard mkdirat(baseFD, name, 0o755) == 0 || errno == EEXIST else {
            return ["cannot create the cgroup \(base)/\(name): \(String(cString: strerror(errno)))"]
        }
        let problems = Self.writeLimits(limits, controllers: limitSupport.available, directoryFD: baseFD, child: name)
        if limits.isEmpty { limited.remove(name) } else { limited.insert(name) }
        return problems
    }

    /// The writes of `applyLimits`, into `<directoryFD>/<child>/`: `memory.max`, `cpu.max`,
    /// `pids.max` for each controller in `controllers`, the job's value or `max`.
    static func writeLimits(_ limits: CgroupLimits, controllers: Set<String>, directoryFD: Int32, child: String) -> [String] {
        let set = Dictionary(limits.files.map { ($0.name, $0.value) }, uniquingKeysWith: { a, _ in a })
        var problems: [String] = []
        for (controller, file, unset) in [("memory", "memory.max", "max"), ("cpu", "cpu.max", "max"), ("pids", "pids.max", "max")]
        where controllers.contains(controller) {
            let value = set[file] ?? unset
            // O_TRUNC as `echo max > memory.max` does: cgroupfs ignores it, a plain file needs it.
            let fd = openat(directoryFD, child + "/" + file, O_WRONLY | O_TRUNC | O_CLOEXEC)
            guard fd >= 0 else {
                problems.append("limits.\(controller): cannot open \(file): \(String(cString: strerror(errno)))")
                continue
            }
            let bytes = Array(value.utf8)
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if n != bytes.count { problems.append("limits.\(controller): writing \(value) to \(file) failed: \(String(cString: strerror(errno)))") }
            close(fd)
        }
        return problems
    }
}

// `oom`: a child killed by the OOM killer in its own cgroup. `memory.events` counts the
// cgroup's OOM kills (`oom_kill N`); the count when a process starts and when it ends tell
// whether the killer struck during its life. The cgroup is the child's alone (its id), so
// the kill was of the child or of one of its descendants.
extension ChildCgroups {
    /// The `oom_kill` count of a `memory.events` text, or nil when it has none.
    static func oomKillCount(memoryEvents text: String) -> Int? {
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ")
            if fields.count == 2, fields[0] == "oom_kill" { return Int(fields[1]) }
        }
        return nil
    }

    /// True when the count grew between the process's start and its end (both read).
    static func killedByOOM(before: Int?, after: Int?) -> Bool {
        guard let before, let after else { return false }
        return after > before
    }

    /// The child's cgroup's `oom_kill` count now, or nil without the memory controller.
    package func oomKills(for id: ChildID) -> Int? {
        guard limitSupport.available.contains("memory") else { return nil }
        let fd = openat(baseFD, Self.name(of: id) + "/memory.events", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 1024)
        let n = read(fd, &buffer, buffer.count)
        guard n > 0 else { return nil }
        return Self.oomKillCount(memoryEvents: String(decoding: buffer[0..<n], as: UTF8.self))
    }
}
