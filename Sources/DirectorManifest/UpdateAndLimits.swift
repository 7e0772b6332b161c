// How a job's instances are replaced when its process changes (`update`), and the cgroup v2
// limits its processes run under (`limits`).

/// A job's `update`: how a reload that changes the job's process (and `director restart
/// --rolling`) replaces its running instances.
public struct UpdatePolicy: Sendable, Hashable {
    /// The two ways.
    public enum Mode: String, Sendable, Hashable, CaseIterable {
        /// Every instance is restarted at once (stop, then start): today's behaviour.
        case restart
        /// One instance (or `maxSurge`) at a time: a new process is started and must be ready
        /// before an old one is stopped, so the pool never drops below its size.
        case rolling
    }

    /// The way.
    public var mode: Mode
    /// Processes started beyond the pool's size during a roll (spare instances, numbered
    /// after the pool: `web/api/4` for a pool of 4). ≥ 0.
    public var maxSurge: Int
    /// Ready instances the roll may take away below the pool's size (old ones stopped before
    /// their replacement is ready). ≥ 0; `maxSurge` and `maxUnavailable` are not both 0.
    public var maxUnavailable: Int

    /// 1: one spare at a time.
    public static let defaultMaxSurge = 1
    /// 0: never below the pool's size.
    public static let defaultMaxUnavailable = 0

    /// Creates a policy; the default restarts every instance at once.
    public init(
        _ mode: Mode = .restart, maxSurge: Int = UpdatePolicy.defaultMaxSurge,
        maxUnavailable: Int = UpdatePolicy.defaultMaxUnavailable
    ) {
        self.mode = mode
        self.maxSurge = maxSurge
        self.maxUnavailable = maxUnavailable
    }

    /// `update: rolling` with the defaults (1 spare, none unavailable).
    public static let rolling = UpdatePolicy(.rolling)
}

/// A job's `limits`: cgroup v2 controls written into each child's own cgroup before it
/// starts (`memory.max`, `cpu.max`, `pids.max`). Applied only where the daemon has cgroups
/// with those controllers; elsewhere `validate` and `run` warn, naming the key.
public struct CgroupLimits: Sendable, Hashable {
    /// `memory.max` in bytes (`512M`), or nil.
    public var memory: Int?
    /// CPUs (`1.5` = 150% of one CPU): `cpu.max` as `quota period` with a 100 ms period, or nil.
    public var cpu: Double?
    /// `pids.max`: tasks in the cgroup, or nil.
    public var pids: Int?

    /// The period `cpu.max` is written with: 100 ms, the kernel's default.
    public static let cpuPeriodMicroseconds = 100_000

    /// Creates limits; nil leaves a control unset.
    public init(memory: Int? = nil, cpu: Double? = nil, pids: Int? = nil) {
        self.memory = memory
        self.cpu = cpu
        self.pids = pids
    }

    /// True when nothing is set.
    public var isEmpty: Bool { memory == nil && cpu == nil && pids == nil }

    /// The controllers these limits need (`memory`, `cpu`, `pids`), with the key naming each.
    public var controllers: [String] {
        var names: [String] = []
        if memory != nil { names.append("memory") }
        if cpu != nil { names.append("cpu") }
        if pids != nil { names.append("pids") }
        return names
    }

    /// The interface files and what is written in them, in a fixed order: `memory.max`,
    /// `cpu.max`, `pids.max`.
    public var files: [(name: String, value: String)] {
        var out: [(String, String)] = []
        if let memory { out.append(("memory.max", String(memory))) }
        if let cpu {
            let quota = max(1000, Int((cpu * Double(Self.cpuPeriodMicroseconds)).rounded()))
            out.append(("cpu.max", "\(quota) \(Self.cpuPeriodMicroseconds)"))
        }
        if let pids { out.append(("pids.max", String(pids))) }
        return out
    }
}
