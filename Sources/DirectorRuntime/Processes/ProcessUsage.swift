#if canImport(Glibc)
import Glibc
#endif

/// CPU time and resident memory of one child, summed over its processes, read from `/proc`
/// (what `director ps` shows in CPU and MEM).
///
/// A child's processes are the members of its own cgroup when the daemon gave it one
/// (`ChildCgroups`: also descendants that left the process group), else its process group
/// (the child leads its own). Memory is the sum of the members' resident set sizes: a page
/// two members share counts twice, as in `ps`/`top` sums; it is the number an operator can
/// check against `ps -o rss`.
package struct ProcessUsage: Sendable, Hashable {
    /// User plus system CPU time of the processes alive now, in clock ticks (`cpuTicksPerSecond`).
    /// A member that exited no longer counts: the sum can go down between two samples.
    package var cpuTicks: UInt64
    /// Resident memory, in bytes.
    package var residentBytes: UInt64
    /// How many processes were summed.
    package var processes: Int
    /// The leader's age in clock ticks (now minus its start time, both since boot), for a CPU
    /// percentage since start that depends on no wall clock.
    package var leaderAgeTicks: UInt64

    /// CPU as a percentage of one core since the leader started (what ps(1) shows), or nil
    /// before one tick has passed.
    package var cpuPercentSinceStart: Double? {
        guard leaderAgeTicks > 0 else { return nil }
        return Double(cpuTicks) / Double(leaderAgeTicks) * 100
    }

    /// CPU as a percentage of one core between `earlier` and this sample (what top(1) shows);
    /// nil when `earlier` is not older. A sum that went down (a member exited) counts as 0.
    package func cpuPercent(since earlier: ProcessUsage) -> Double? {
        guard leaderAgeTicks > earlier.leaderAgeTicks else { return nil }
        let used = cpuTicks > earlier.cpuTicks ? cpuTicks - earlier.cpuTicks : 0
        return Double(used) / Double(leaderAgeTicks - earlier.leaderAgeTicks) * 100
    }

    /// `sysconf(_SC_CLK_TCK)`, the unit of `cpuTicks` (100 on Linux).
    package static let cpuTicksPerSecond = UInt64(max(sysconf(Int32(_SC_CLK_TCK)), 1))
}

/// Samples `ProcessUsage` for children, each named by its leader's pid and start ticks.
package enum ProcessUsageSampler {
    /// One child to sample: the recorded pid and process group, and the start ticks that
    /// prove the pid still names the recorded process (nil: not checked).
    package struct Leader: Sendable, Hashable {
        package var pid: Int32
        package var pgid: Int32
        package var startTicks: UInt64?

        /// Creates a leader.
        package init(pid: Int32, pgid: Int32, startTicks: UInt64?) {
            self.pid = pid
            self.pgid = pgid
            self.startTicks = startTicks
        }
    }

    /// The usage of each leader that is alive (and still the recorded process), by pid.
    /// `/proc` is scanned once, and only when some leader has no cgroup of its own.
    package static func sample(_ leaders: [Leader]) -> [Int32: ProcessUsage] {
        guard !leaders.isEmpty else { return [:] }
        let now = uptimeTicks()
        let mount = ChildCgroups.cgroup2Mount()
        var result: [Int32: ProcessUsage] = [:]
        var byGroup: [Int32: Leader] = [:]
        for leader in leaders {
            guard let line = ProcStat.readSmallFile("/proc/\(leader.pid)/stat"), ProcStat.isRunning(statLine: line),
                let started = ProcStat.startTicks(statLine: line)
            else { continue }
            if let recorded = leader.startTicks, recorded != started { continue }
            let age = now > started ? now - started : 0
            if let mount, let members = cgroupMembers(of: leader.pid, mount: mount) {
                var usage = ProcessUsage(cpuTicks: 0, residentBytes: 0, processes: 0, leaderAgeTicks: age)
                for pid in members {
                    guard let stat = ProcStat.readSmallFile("/proc/\(pid)/stat"), let fields = StatFields(stat) else { continue }
                    usage.add(fields)
                }
                result[leader.pid] = usage
            } else {
                result[leader.pid] = ProcessUsage(cpuTicks: 0, residentBytes: 0, processes: 0, leaderAgeTicks: age)
                byGroup[leader.pgid] = leader
            }
        }
        guard !byGroup.isEmpty else { return result }
        for pid in MarkedProcesses.allPIDs() {
            guard let stat = ProcStat.readSmallFile("/proc/\(pid)/stat"), let fields = StatFields(stat),
                let leader = byGroup[fields.processGroup]
            else { continue }
            result[leader.pid]?.add(fields)
        }
        return result
    }

    /// The pids of the cgroup `pid` is in, when it is a child cgroup of a director daemon
    /// (`…/director-<hash>/d-<id>`); nil otherwise (the process group decides).
    static func cgroupMembers(of pid: Int32, mount: String) -> [Int32]? {
        guard let text = ChildCgroups.readText("/proc/\(pid)/cgroup") else { return nil }
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("0::") }) else { return nil }
        let path = String(line.dropFirst(3))
        let parts = path.split(separator: "/")
        guard parts.count >= 2, parts[parts.count - 1].hasPrefix("d-"), parts[parts.count - 2].hasPrefix("director-") else {
            return nil
        }
        guard let procs = ChildCgroups.readText(mount + path + "/cgroup.procs") else { return nil }
        return procs.split(separator: "\n").compactMap { Int32($0) }
    }

    /// Seconds since boot (`/proc/uptime`) in clock ticks.
    static func uptimeTicks() -> UInt64 {
        guard let text = ProcStat.readSmallFile("/proc/uptime"), let first = text.split(separator: " ").first,
            let seconds = Double(first)
        else { return 0 }
        return UInt64(seconds * Double(ProcessUsage.cpuTicksPerSecond))
    }
}

/// The fields of a `/proc/PID/stat` line the usage needs.
struct StatFields {
    var processGroup: Int32
    var cpuTicks: UInt64
    var residentPages: UInt64

    /// Parses a stat line; fields are counted after the last `)` (the command name may hold
    /// spaces and parentheses). A zombie has no memory and its time is its parent's now.
    init?(_ line: String) {
        guard let close = line.lastIndex(of: ")") else { return nil }
        let rest = line[line.index(after: close)...].split(separator: " ")
        // rest[0] is field 3 (state): field 5 (pgrp) is rest[2], 14 and 15 (utime, stime)
        // rest[11] and rest[12], 24 (rss, in pages) rest[21].
        guard rest.count > 21, rest[0] != "Z", rest[0] != "X", let group = Int32(rest[2]),
            let user = UInt64(rest[11]), let system = UInt64(rest[12]), let rss = Int64(rest[21])
        else { return nil }
        processGroup = group
        cpuTicks = user + system
        residentPages = UInt64(max(rss, 0))
    }
}

extension ProcessUsage {
    private static let pageSize = UInt64(max(sysconf(Int32(_SC_PAGESIZE)), 1))

    mutating func add(_ fields: StatFields) {
        cpuTicks += fields.cpuTicks
        residentBytes += fields.residentPages * Self.pageSize
        processes += 1
    }
}
