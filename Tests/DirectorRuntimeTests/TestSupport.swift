#if canImport(Glibc)
import Glibc
#endif
import DirectorCore
import DirectorManifest
@testable import DirectorRuntime

/// A launch spec for tests.
func launch(_ argv: [String], cwd: String = "/", env: [String: String] = [:], id: String = "t/job/0") -> LaunchSpec {
    LaunchSpec(
        id: ChildID(id)!, argv: argv, cwd: cwd,
        env: env.sorted { $0.key < $1.key }.map { EnvVar(name: $0.key, value: $0.value) },
        log: LogPolicy())
}

/// A spawned child that is always killed (whole process group) and reaped at the end of the
/// test, even when an expectation failed.
final class ChildGuard {
    let process: SpawnedProcess
    private var reaped = false

    /// `awaitingExec: false` returns before the child's exec, as the daemon spawns.
    init(
        _ spec: LaunchSpec, environment: [String: String] = ProcessSpawner.currentEnvironment(), awaitingExec: Bool = true
    ) throws {
        process = try ProcessSpawner.spawn(spec, environment: SpawnEnvironment(environment), awaitingExec: awaitingExec)
    }

    var pid: Int32 { process.pid }

    /// Reads the child's stdout until EOF (bounded by `seconds`).
    func readStdout(seconds: Int = 10) -> String { readAll(process.stdoutFD, seconds: seconds) }

    /// Waits for the exit (bounded) and returns the status.
    func waitExit(seconds: Int = 10) -> DirectorCore.ChildExitStatus? {
        for _ in 0..<(seconds * 100) {
            if let s = ProcessReaper.waitExited(pid, block: false) { reaped = true; return s }
            usleep(10_000)
        }
        return nil
    }

    deinit {
        kill(-pid, SIGKILL)
        if !reaped { _ = ProcessReaper.waitExited(pid, block: true) }
        close(process.stdoutFD)
        close(process.stderrFD)
        if process.pidfd >= 0 { close(process.pidfd) }
    }
}

/// Reads a non-blocking fd until EOF, polling, at most `seconds`.
func readAll(_ fd: Int32, seconds: Int = 10) -> String {
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    for _ in 0..<(seconds * 100) {
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        _ = poll(&p, 1, 10)
        let n = read(fd, &buffer, buffer.count)
        if n == 0 { break }
        if n > 0 { bytes += buffer[0..<n] }
    }
    return String(decoding: bytes, as: UTF8.self)
}

/// A fresh temporary directory, removed (recursively) by `cleanup`.
struct TempDir {
    let path: String
    init() {
        var template = Array("/tmp/director-rt-XXXXXX".utf8CString)
        path = String(cString: mkdtemp(&template)!)
    }
    func cleanup() {
        let pid = fork()
        if pid == 0 {
            execv("/bin/rm", [strdup("rm"), strdup("-rf"), strdup(path), nil])
            _exit(127)
        }
        var status: Int32 = 0
        waitpid(pid, &status, 0)
    }
    func write(_ name: String, _ text: String, mode: mode_t = 0o644) {
        let fd = open(path + "/" + name, O_WRONLY | O_CREAT | O_TRUNC, mode)
        _ = text.utf8CString.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count - 1) }
        close(fd)
    }
}

/// Whether a process exists (a zombie counts as existing).
func processExists(_ pid: Int32) -> Bool { kill(pid, 0) == 0 }

/// The state letter of `/proc/PID/stat`, e.g. "Z" for a zombie.
func processState(_ pid: Int32) -> String? {
    guard let line = ProcStat.readSmallFile("/proc/\(pid)/stat"), let close = line.lastIndex(of: ")") else { return nil }
    return line[line.index(after: close)...].split(separator: " ").first.map(String.init)
}
