#if canImport(Glibc)
import Glibc
#endif
import DirectorCore
import DirectorManifest
import DirectorTable

/// Process groups a dead daemon left running. The table records each child's pid (its
/// process group id) and the pid's start time in clock ticks; a group is ours only when that
/// pid still has the same start time, so a reused pid is never signalled. Each group gets its
/// job's stop signal, then SIGKILL after the job's timeout (at most 10 s), before anything new
/// starts: a job never runs twice.
enum LeftoverProcesses {
    /// Longest wait for leftovers to stop on their stop signal.
    static let maxGrace: Duration = .seconds(10)

    /// Terminates every live leftover group of `rows`; returns how many there were.
    static func terminate(_ rows: [ChildRecord], specs: [String: JSONValue]) -> Int {
        struct Leftover { var pid: Int32; var ticks: UInt64; var deadline: Instant }
        let now = SystemClock.monotonic()
        var leftovers: [Leftover] = []
        for row in rows {
            guard let pid = row.pid, pid > 1, let ticks = row.startTicks, isAlive(pid: pid, ticks: ticks) else { continue }
            let jobKey = row.group.isEmpty ? row.job : row.group + "/" + row.job
            let (signal, grace) = stopPolicy(specs[jobKey])
            kill(-(row.pgid ?? pid), signal.number)
            leftovers.append(Leftover(pid: row.pgid ?? pid, ticks: ticks, deadline: now + grace))
        }
        let found = leftovers.count
        // Bounded wait: every leftover is gone or killed by the latest deadline.
        while !leftovers.isEmpty {
            let now = SystemClock.monotonic()
            leftovers.removeAll { l in
                if !isAlive(pid: l.pid, ticks: l.ticks) { return true }
                if now >= l.deadline {
                    kill(-l.pid, SIGKILL)
                    return true
                }
                return false
            }
            if !leftovers.isEmpty { usleep(10_000) }
        }
        return found
    }

    /// True when `pid` runs, is not a zombie, and started at `ticks`.
    static func isAlive(pid: Int32, ticks: UInt64) -> Bool {
        guard let stat = ProcStat.readSmallFile("/proc/\(pid)/stat"), ProcStat.startTicks(statLine: stat) == ticks
        else { return false }
        return ProcStat.isRunning(statLine: stat)
    }

    /// The job's stop signal and timeout from its stored spec; TERM and 5 s without one.
    static func stopPolicy(_ spec: JSONValue?) -> (ProcessSignal, Duration) {
        let shutdown = spec?["shutdown"]
        let signal = shutdown?["signal"]?.stringValue.flatMap { ProcessSignal(name: $0) } ?? .term
        var grace: Duration = .seconds(5)
        if let text = shutdown?["timeout"]?.stringValue {
            if text == "infinity" { grace = maxGrace } else if case .success(let d) = DurationText.parse(text) { grace = min(d, maxGrace) }
        }
        return (signal, grace)
    }
}
