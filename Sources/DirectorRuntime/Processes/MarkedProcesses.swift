#if canImport(Glibc)
import Glibc
#endif
import DirectorCore

/// Finds the processes a daemon started, by a marker in their environment, whether or not the
/// table knows them.
///
/// Every child gets `DIRECTOR_STATE=<absolute state directory>` (next to `DIRECTOR_ID`), and
/// its descendants inherit it, also those that leave its process group (`setsid`,
/// `setpgid`: self-daemonizing servers). Two gaps close with it:
/// - a daemon killed with SIGKILL between a spawn and the commit of its row: the next daemon
///   does not find that child in the table, but finds its marker (DESIGN §4: a job never runs
///   twice, including children spawned in the dead daemon's last moments);
/// - descendants that left the child's process group: `kill(-pgid)` misses them; the marker
///   (plus the subreaper, which makes them the daemon's children once their parent is gone)
///   attributes them to their child id, and they are stopped with it.
///
/// Only processes of the daemon's own user count: a marker is just an environment variable,
/// and another user must not be able to get their processes killed by setting it.
package enum MarkedProcesses {
    /// The marker's variable.
    package static let variable = "DIRECTOR_STATE"

    /// The marker of a state directory: its canonical absolute path (symbolic links and `..`
    /// resolved, so two spellings of one directory mark alike).
    package static func marker(forStateDirectory path: String) -> String {
        guard let resolved = realpath(path, nil) else { return absolutePath(path) }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// A marked process.
    package struct Process: Sendable, Hashable {
        /// Its pid.
        package var pid: Int32
        /// Its process group.
        package var pgid: Int32
        /// Its start time (clock ticks since boot), to tell it from a later process on the pid.
        package var startTicks: UInt64
        /// The child id it belongs to (`DIRECTOR_ID`), if it has one.
        package var childID: String?
    }

    /// Every live process among `pids` (default: all of /proc) of this user whose environment
    /// holds `DIRECTOR_STATE=marker`, this process excluded.
    package static func scan(marker: String, pids: [Int32]? = nil) -> [Process] {
        let needle = Array("\(variable)=\(marker)".utf8)
        let me = getpid()
        let uid = geteuid()
        var found: [Process] = []
        for pid in pids ?? allPIDs() where pid != me && pid > 1 {
            var st = stat()
            guard stat("/proc/\(pid)", &st) == 0, st.st_uid == uid else { continue }
            guard let environment = readEnvironment(pid), let entries = Optional(environment.split(separator: 0)),
                entries.contains(where: { $0.elementsEqual(needle) })
            else { continue }
            guard let line = ProcStat.readSmallFile("/proc/\(pid)/stat"), ProcStat.isRunning(statLine: line),
                let ticks = ProcStat.startTicks(statLine: line)
            else { continue }
            let idPrefix = Array("DIRECTOR_ID=".utf8)
            let id = entries.first { $0.starts(with: idPrefix) }.map { String(decoding: $0.dropFirst(idPrefix.count), as: UTF8.self) }
            found.append(Process(pid: pid, pgid: ProcStat.processGroup(statLine: line) ?? pid, startTicks: ticks, childID: id))
        }
        return found
    }

    /// Stops `processes`: the stop signal (and SIGCONT, so a stopped process can act on it)
    /// now, SIGKILL to whatever still runs after `grace`. Waits at most `grace` plus a moment.
    /// A process that leads its own group gets the signals as a group, so descendants that
    /// dropped the marker go with it.
    package static func terminate(_ processes: [Process], signal: Int32 = SIGTERM, grace: Duration = .seconds(2)) {
        guard !processes.isEmpty else { return }
        for p in processes { send(signal, to: p) }
        let deadline = SystemClock.monotonic() + grace
        var left = processes
        while !left.isEmpty && SystemClock.monotonic() < deadline {
            usleep(10_000)
            reapChildren()
            left.removeAll { !isAlive($0) }
        }
        for p in left where isAlive(p) { send(SIGKILL, to: p) }
        reapChildren()
    }

    /// Sends `signal` (then SIGCONT) to `p`, and to its group when it leads one.
    package static func send(_ signal: Int32, to p: Process) {
        guard isAlive(p) else { return }
        let groupLeader = p.pgid == p.pid && p.pgid != getpgrp()
        if groupLeader { _ = kill(-p.pgid, signal) } else { _ = kill(p.pid, signal) }
        if signal != SIGKILL && signal != SIGCONT {
            if groupLeader { _ = kill(-p.pgid, SIGCONT) } else { _ = kill(p.pid, SIGCONT) }
        }
    }

    /// True while `p` (the same process: same start time) runs.
    package static func isAlive(_ p: Process) -> Bool {
        LeftoverProcesses.isAlive(pid: p.pid, ticks: p.startTicks)
    }

    /// The daemon's own children: its spawned children and the orphans the subreaper took in
    /// (`/proc/self/task/*/children`; orphans are re-parented to any thread of the process).
    package static func ownChildren() -> [Int32] {
        var result: [Int32] = []
        guard let dir = opendir("/proc/self/task") else { return result }
        defer { closedir(dir) }
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            guard let tid = Int32(name) else { continue }
            guard let text = readWhole("/proc/self/task/\(tid)/children") else { continue }
            result += String(decoding: text, as: UTF8.self).split(separator: " ").compactMap { Int32($0.trimmingSpace) }
        }
        return result
    }

    /// Reaps any of this process's children that have exited and that nobody else owns.
    private static func reapChildren() {
        var info = siginfo_t()
        while waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) == 0 {
            let pid = info._sifields._sigchld.si_pid
            guard pid > 0, !OwnedChildren.contains(pid) else { return }
            var status: Int32 = 0
            _ = waitpid(pid, &status, WNOHANG)
        }
    }

    static func allPIDs() -> [Int32] {
        var result: [Int32] = []
        guard let dir = opendir("/proc") else { return result }
        defer { closedir(dir) }
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if let pid = Int32(name) { result.append(pid) }
        }
        return result
    }

    private static func readEnvironment(_ pid: Int32) -> [UInt8]? { readWhole("/proc/\(pid)/environ", limit: 1 << 20) }

    private static func readWhole(_ path: String, limit: Int = 1 << 22) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var result: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16384)
        while result.count < limit {
            let n = read(fd, &buffer, buffer.count)
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { break }
            result += buffer[0..<n]
        }
        return result
    }
}

extension Substring {
    fileprivate var trimmingSpace: Substring {
        var s = self
        while let last = s.last, last == "\n" || last == " " { s = s.dropLast() }
        return s
    }
}

extension ProcStat {
    /// Field 5 of a stat line: the process group.
    static func processGroup(statLine: String) -> Int32? {
        guard let close = statLine.lastIndex(of: ")") else { return nil }
        let rest = statLine[statLine.index(after: close)...].split(separator: " ")
        // rest[0] is field 3 (state), so field 5 is rest[2].
        guard rest.count > 2 else { return nil }
        return Int32(rest[2])
    }
}
