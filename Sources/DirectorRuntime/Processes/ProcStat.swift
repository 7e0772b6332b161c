#if canImport(Glibc)
import Glibc
#endif

/// Reads `/proc/PID/stat`.
package enum ProcStat {
    /// The process start time in clock ticks since boot (field 22): with the pid it names one
    /// process for good, so a recorded pid can be checked against reuse after a daemon restart.
    package static func startTicks(pid: Int32) -> UInt64? {
        guard let text = readSmallFile("/proc/\(pid)/stat") else { return nil }
        return startTicks(statLine: text)
    }

    /// Field 22 of a stat line. The command name (field 2) may hold spaces and parentheses, so
    /// fields are counted after the last `)`.
    package static func startTicks(statLine: String) -> UInt64? {
        guard let close = statLine.lastIndex(of: ")") else { return nil }
        let rest = statLine[statLine.index(after: close)...].split(separator: " ")
        // rest[0] is field 3 (state), so field 22 is rest[19].
        guard rest.count > 19 else { return nil }
        return UInt64(rest[19])
    }

    /// True while `pid` exists and has not exited. A zombie (exited, not yet reaped by its
    /// parent) counts as gone: `kill(pid, 0)` still succeeds on it, so it cannot tell.
    package static func isRunning(pid: Int32) -> Bool {
        readSmallFile("/proc/\(pid)/stat").map(isRunning(statLine:)) ?? false
    }

    /// True when the state field of a stat line (field 3) is neither zombie nor dead.
    package static func isRunning(statLine: String) -> Bool {
        guard let close = statLine.lastIndex(of: ")") else { return false }
        let state = statLine[statLine.index(after: close)...].dropFirst().first
        return state != "Z" && state != "X"
    }

    /// The parent pid (field 4), or nil when the process is gone.
    package static func parent(of pid: Int32) -> Int32? {
        guard let text = readSmallFile("/proc/\(pid)/stat"), let close = text.lastIndex(of: ")") else { return nil }
        let rest = text[text.index(after: close)...].split(separator: " ")
        return rest.count > 1 ? Int32(rest[1]) : nil
    }

    /// True when `pid` descends from `ancestor` (a bounded walk up the parent chain).
    package static func isDescendant(_ pid: Int32, of ancestor: Int32) -> Bool {
        var current = pid
        for _ in 0..<64 {
            guard current > 1, let up = parent(of: current) else { return false }
            if up == ancestor { return true }
            current = up
        }
        return false
    }

    static func readSmallFile(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = read(fd, &buffer, buffer.count)
        guard n > 0 else { return nil }
        return String(decoding: buffer[0..<n], as: UTF8.self)
    }
}
