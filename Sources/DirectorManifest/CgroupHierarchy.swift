import Glibc

/// Where this process sits in the cgroup v2 hierarchy, and which controllers `limits` could
/// use there. Read from `/proc/self/mountinfo`, `/proc/self/cgroup` and the cgroup's own
/// `cgroup.controllers`; the daemon's cgroups per child (DirectorRuntime's `ChildCgroups`)
/// and `director validate`'s warnings both start from here.
public enum CgroupHierarchy {
    /// The controllers `limits` needs, by key: `memory` (memory.max), `cpu` (cpu.max),
    /// `pids` (pids.max).
    public static let limitControllers = ["memory", "cpu", "pids"]

    /// The mount point of the cgroup2 hierarchy, or nil when none is mounted.
    public static func mountPoint() -> String? {
        guard let text = readText("/proc/self/mountinfo") else { return nil }
        for line in text.split(separator: "\n") {
            // `... mount-point ... - fstype source options`
            let halves = line.split(separator: " - ", maxSplits: 1)
            guard halves.count == 2, halves[1].hasPrefix("cgroup2 ") else { continue }
            let fields = halves[0].split(separator: " ")
            if fields.count > 4 { return String(fields[4]) }
        }
        return nil
    }

    /// This process's cgroup2 path (`/` or `/system.slice/x.service`), or nil.
    public static func ownCgroup() -> String? {
        guard let text = readText("/proc/self/cgroup") else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("0::") {
            return String(line.dropFirst(3))
        }
        return nil
    }

    /// The controllers of the cgroup v1 hierarchies this process is in (`4:memory:/x` lines of
    /// `/proc/self/cgroup`; `cpu,cpuacct` counts as both).
    public static func v1Controllers() -> Set<String> {
        guard let text = readText("/proc/self/cgroup") else { return [] }
        var names = Set<String>()
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard fields.count == 3, fields[0] != "0" else { continue }
            for name in fields[1].split(separator: ",") where !name.hasPrefix("name=") { names.insert(String(name)) }
        }
        return names
    }

    /// The controllers listed in a cgroup directory's `cgroup.controllers` (what its
    /// children may be given), or nil when it cannot be read.
    public static func controllers(of directory: String) -> Set<String>? {
        let path = directory + "/cgroup.controllers"
        // An empty file (no controller) reads as nil from `readText`: tell it from a missing one.
        guard access(path, R_OK) == 0 else { return nil }
        let text = readText(path) ?? ""
        return Set(text.split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init))
    }

    /// A whole small text file (at most 1 MiB: mountinfo can exceed a page); nil when it
    /// cannot be read or is empty.
    public static func readText(_ path: String) -> String? {
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 8192)
        while bytes.count < 1 << 20 {
            let n = read(fd, &chunk, chunk.count)
            guard n > 0 else { break }
            bytes += chunk[0..<n]
        }
        return bytes.isEmpty ? nil : String(decoding: bytes, as: UTF8.self)
    }
}

/// Which of `limits`' controllers the daemon's children's cgroups have, and why the others
/// are missing: what `validate` and `run` warn about (`ManifestWarnings`).
public struct LimitSupport: Sendable, Hashable {
    /// Controllers the children's cgroups have (`memory`, `cpu`, `pids`).
    public var available: Set<String>
    /// Why the others are not there, for the warning.
    public var reason: String

    /// Creates one.
    public init(available: Set<String>, reason: String) {
        self.available = available
        self.reason = reason
    }

    /// What a daemon started here now could use, judged without creating anything: the
    /// controllers this process's own cgroup offers (`cgroup.controllers`). `director run`
    /// uses what its cgroups really got instead (it may enable them, or fail to).
    public static func probe() -> LimitSupport {
        if let off = getenv("DIRECTOR_CGROUPS"), String(cString: off) == "off" {
            return LimitSupport(available: [], reason: "cgroups per child are off (DIRECTOR_CGROUPS=off)")
        }
        guard let mount = CgroupHierarchy.mountPoint() else {
            return LimitSupport(available: [], reason: "no cgroup2 hierarchy is mounted")
        }
        guard let own = CgroupHierarchy.ownCgroup() else {
            return LimitSupport(available: [], reason: "/proc/self/cgroup names no cgroup2 group")
        }
        let directory = own == "/" ? mount : mount + own
        guard let offered = CgroupHierarchy.controllers(of: directory) else {
            return LimitSupport(available: [], reason: "\(directory)/cgroup.controllers cannot be read")
        }
        let available = offered.intersection(CgroupHierarchy.limitControllers)
        return LimitSupport(available: available, reason: Self.missingReason(directory: directory, offered: offered))
    }

    /// `the cgroup v2 group DIR offers only hugetlb (cgroup.controllers)`.
    public static func missingReason(directory: String, offered: Set<String>) -> String {
        let list = offered.isEmpty ? "no controller" : "only " + offered.sorted().joined(separator: ", ")
        var text = "the daemon's cgroup \(directory) offers \(list) (cgroup.controllers)"
        // A hybrid host: the controllers exist but a cgroup v1 hierarchy holds them, and a
        // controller serves one hierarchy only.
        let v1 = CgroupHierarchy.v1Controllers().intersection(CgroupHierarchy.limitControllers).subtracting(offered)
        if !v1.isEmpty { text += "; \(v1.sorted().joined(separator: ", ")) are bound to cgroup v1 hierarchies on this host" }
        return text
    }
}
