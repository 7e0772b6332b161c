#if canImport(Glibc)
import Glibc
#endif
import CDirectorSys
import DirectorManifest

/// A cgroup (v2) per child, where the daemon may create them: every descendant of a child is
/// found in its cgroup, also one that left the child's process group (`setsid`) *and* cleared
/// its environment (`env -i`), which the `DIRECTOR_STATE` marker cannot see.
///
/// Layout: `<cgroup2 mount><the daemon's own cgroup>/director-<hash of the state directory>/
/// d-<child id, '/' as '+'>` (names are `[A-Za-z0-9_.-]`, so `+` cannot clash; the `d-` prefix
/// keeps clear of interface files such as `cgroup.procs`). A child is born in its cgroup
/// (clone3's `CLONE_INTO_CGROUP`, Linux 5.7+), or where clone3 is refused joins it in the
/// spawn shim before anything else (`director_spawn_set_next_cgroup`): nothing it forks is
/// ever outside. Being born there is also the cheaper way: a migration by `cgroup.procs`
/// waits for an RCU grace period while the daemon is suspended in the spawn. No controller is needed (this machine's unified hierarchy has none): the
/// cgroup is used for membership only, read from `cgroup.procs`.
///
/// Where no cgroup2 hierarchy is mounted or the daemon may not create cgroups in it (no
/// delegation, read-only), `open` returns nil with the reason and the marker and subreaper
/// remain the only way (docs/runtime.md).
package final class ChildCgroups {
    /// The directory holding the children's cgroups.
    package let base: String
    let baseFD: Int32
    /// The `limits` controllers the children's cgroups have (CgroupLimitsWriter.swift).
    package internal(set) var limitSupport = LimitSupport(available: [], reason: "not checked")
    /// Child cgroups whose limits were written, so that a job's limits removed by a reload
    /// are set back to `max`.
    var limited: Set<String> = []
    /// Child cgroups created by this daemon.
    private var created: Set<String> = []

    private init(base: String, fd: Int32) {
        self.base = base
        self.baseFD = fd
    }

    deinit { close(baseFD) }

    /// Creates (or takes over, after a dead daemon) the cgroup directory for the daemon of
    /// `marker`, or gives the reason why there is none.
    package static func open(marker: String) -> Result<ChildCgroups, CgroupUnavailable> {
        // The knob that turns them off (measuring their cost, or a host whose cgroup manager
        // must not see groups it did not create).
        if let off = getenv("DIRECTOR_CGROUPS"), String(cString: off) == "off" {
            return .failure(CgroupUnavailable(reason: "DIRECTOR_CGROUPS=off"))
        }
        guard let mount = cgroup2Mount() else { return .failure(CgroupUnavailable(reason: "no cgroup2 hierarchy is mounted")) }
        guard let own = ownCgroup() else { return .failure(CgroupUnavailable(reason: "/proc/self/cgroup names no cgroup2 group")) }
        let parent = own == "/" ? mount : mount + own
        let base = parent + "/director-" + hash(marker)
        if mkdir(base, 0o755) != 0 && errno != EEXIST {
            return .failure(CgroupUnavailable(reason: "cannot create \(base): \(String(cString: strerror(errno)))"))
        }
        let fd = Glibc.open(base, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else { return .failure(CgroupUnavailable(reason: "cannot open \(base): \(String(cString: strerror(errno)))")) }
        let cgroups = ChildCgroups(base: base, fd: fd)
        cgroups.claim()
        cgroups.limitSupport = enableLimitControllers(parent: parent, base: base)
        sweepAbandoned(in: parent, except: base)
        return .success(cgroups)
    }

    // MARK: - Owners
    //
    // A daemon killed with SIGKILL cannot remove its cgroups, and the next daemon on the same
    // state directory may never come (a test's, a benchmark's temporary one). So each base
    // holds an empty group `owner-<pid>-<start ticks>` naming its daemon, and a daemon at
    // start removes the bases of dead owners whose children's groups are all empty (a
    // populated one is left for its own state directory's next daemon, which stops those
    // processes first).

    private static let ownerPrefix = "owner-"

    /// Names this daemon as the owner (the previous owner's name goes).
    private func claim() {
        // The new name first, then the old ones go: the base never has no owner.
        let me = getpid()
        let mine = "\(Self.ownerPrefix)\(me)-\(ProcStat.startTicks(pid: me) ?? 0)"
        mkdirat(baseFD, mine, 0o755)
        for name in entries(of: baseFD) where name.hasPrefix(Self.ownerPrefix) && name != mine { unlinkat(baseFD, name, AT_REMOVEDIR) }
    }

    /// Removes the empty trees of dead daemons beside `own`.
    static func sweepAbandoned(in parent: String, except own: String) {
        let parentFD = Glibc.open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard parentFD >= 0 else { return }
        defer { close(parentFD) }
        for name in entries(of: parentFD) where name.hasPrefix("director-") && parent + "/" + name != own {
            let fd = openat(parentFD, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW)
            guard fd >= 0 else { continue }
            defer { close(fd) }
            let names = entries(of: fd)
            let owners = names.filter { $0.hasPrefix(ownerPrefix) }
            // A base without an owner is mid-creation (a daemon between its mkdir and its
            // `claim`, or inside `claim`) or from a build before owners existed: left alone.
            // Removing it when empty, as before, raced with daemons starting beside this one:
            // the new daemon kept an fd to a deleted directory and its children got no cgroup.
            guard !owners.isEmpty else { continue }
            // Alive: its owner still runs (same pid, same start).
            if owners.contains(where: { isAlive(owner: $0) }) { continue }
            let children = names.filter { $0.hasPrefix("d-") }
            let populated = children.contains { child in
                guard let text = ChildCgroups.readText(parent + "/" + name + "/" + child + "/cgroup.procs") else { return false }
                return !text.isEmpty
            }
            guard !populated else { continue }
            for child in children + owners { unlinkat(fd, child, AT_REMOVEDIR) }
            unlinkat(parentFD, name, AT_REMOVEDIR)
        }
    }

    private static func isAlive(owner name: String) -> Bool {
        let parts = name.dropFirst(ownerPrefix.count).split(separator: "-")
        guard parts.count == 2, let pid = Int32(parts[0]), let ticks = UInt64(parts[1]) else { return false }
        return ProcStat.isRunning(pid: pid) && ProcStat.startTicks(pid: pid) == ticks
    }

    /// The names of the subdirectories of a directory fd.
    static func entries(of directoryFD: Int32) -> [String] {
        guard let dir = fdopendir(dup(directoryFD)) else { return [] }
        defer { closedir(dir) }
        rewinddir(dir)
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if entry.pointee.d_type == UInt8(DT_DIR), name != ".", name != ".." { names.append(name) }
        }
        return names
    }

    private func entries(of fd: Int32) -> [String] { Self.entries(of: fd) }

    /// The name of a child's cgroup.
    package static func name(of id: ChildID) -> String {
        "d-" + replacing(UInt8(ascii: "/"), with: UInt8(ascii: "+"), in: Substring(id.description))
    }

    /// The child id of a cgroup name, if it is one.
    package static func childID(ofName name: String) -> String? {
        guard name.hasPrefix("d-") else { return nil }
        return replacing(UInt8(ascii: "+"), with: UInt8(ascii: "/"), in: name.dropFirst(2))
    }

    /// `text` with every `byte` replaced, on the UTF-8 bytes (an ASCII byte is never inside a
    /// longer character): mapping the Characters was 2 % of the daemon's CPU in a restart
    /// storm (a spawn and an exit each name the cgroup).
    private static func replacing(_ byte: UInt8, with replacement: UInt8, in text: Substring) -> String {
        String(decoding: text.utf8.map { $0 == byte ? replacement : $0 }, as: UTF8.self)
    }

    /// An fd of the child's cgroup directory for the next spawn (created at its first spawn),
    /// or -1 when the cgroup cannot be made; the caller closes it after the spawn.
    package func directoryFD(for id: ChildID) -> Int32 {
        let name = Self.name(of: id)
        if !created.contains(name) {
            guard mkdirat(baseFD, name, 0o755) == 0 || errno == EEXIST else { return -1 }
            created.insert(name)
        }
        return openat(baseFD, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    }

    /// The names of every child cgroup under `base` (also those a dead daemon left).
    package func childNames() -> [String] {
        entries(of: baseFD).filter { $0.hasPrefix("d-") }.sorted()
    }

    /// The pids in a child cgroup now.
    package func members(_ name: String) -> [Int32] {
        let fd = openat(baseFD, name + "/cgroup.procs", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return [] }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while bytes.count < 1 << 20 {
            let n = read(fd, &chunk, chunk.count)
            guard n > 0 else { break }
            bytes += chunk[0..<n]
        }
        return bytes.split(separator: UInt8(ascii: "\n")).compactMap { Int32(String(decoding: $0, as: UTF8.self)) }
    }

    /// Removes a child's cgroup if it is empty (a populated one is kept: EBUSY).
    package func removeIfEmpty(_ name: String) {
        if unlinkat(baseFD, name, AT_REMOVEDIR) == 0 { created.remove(name) }
    }

    /// Removes every empty child cgroup (at start, those a dead daemon left).
    package func removeChildren() {
        for name in childNames() { removeIfEmpty(name) }
    }

    /// At the end: every empty child cgroup, the owner's name, then the base directory if
    /// it is empty.
    package func removeAll() {
        removeChildren()
        for name in entries(of: baseFD) where name.hasPrefix(Self.ownerPrefix) { unlinkat(baseFD, name, AT_REMOVEDIR) }
        rmdir(base)
    }

    /// The members of every child cgroup as processes (with start ticks and child id), for
    /// the same checks as the marker's scan.
    package func processes(in names: [String]) -> [MarkedProcesses.Process] {
        var found: [MarkedProcesses.Process] = []
        let me = getpid()
        for name in names {
            for pid in members(name) where pid != me {
                guard let line = ProcStat.readSmallFile("/proc/\(pid)/stat"), ProcStat.isRunning(statLine: line),
                    let ticks = ProcStat.startTicks(statLine: line)
                else { continue }
                found.append(MarkedProcesses.Process(
                    pid: pid, pgid: ProcStat.processGroup(statLine: line) ?? pid, startTicks: ticks,
                    childID: Self.childID(ofName: name)))
            }
        }
        return found
    }

    // MARK: - Finding the hierarchy

    static func cgroup2Mount() -> String? { CgroupHierarchy.mountPoint() }

    static func ownCgroup() -> String? { CgroupHierarchy.ownCgroup() }

    /// A whole small text file (at most 1 MiB).
    static func readText(_ path: String) -> String? { CgroupHierarchy.readText(path) }

    /// FNV-1a, 64 bits, as hex: a short stable name for the state directory.
    static func hash(_ text: String) -> String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            h ^= UInt64(byte)
            h = h &* 0x100_0000_01b3
        }
        return String(h, radix: 16)
    }
}

/// Why the daemon has no cgroups for its children.
package struct CgroupUnavailable: Error, Sendable {
    package var reason: String
}
