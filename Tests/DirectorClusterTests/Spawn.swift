import Foundation

/// Starting processes from this test binary without Foundation.Process (see
/// `PrivatePostgres`: an in-process subreaper may reap any child, and signalfds take
/// SIGCHLD). Outcomes are read from files the commands write, never from a wait status that
/// someone else may have collected.
enum Spawn {
    /// posix_spawn with a clean signal state (the test process may have signals blocked for
    /// a supervisor's signalfd; children must not inherit that), in a session of its own, with
    /// stdin from /dev/null and stdout/stderr to the given files (or /dev/null).
    static func process(_ argv: [String], stdout: String = "/dev/null", stderr: String = "/dev/null", environment: [String: String] = [:]) -> Result<pid_t, SpawnError> {
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attr, &empty)
        var all = sigset_t()
        sigfillset(&all)
        posix_spawnattr_setsigdefault(&attr, &all)
        // 0x80 is glibc's POSIX_SPAWN_SETSID (not exported to Swift): a session of its own, so
        // a Ctrl-C or a test's kill of a process group never reaches it.
        posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | 0x80))
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, stdout, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, stderr, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        var env = ProcessInfo.processInfo.environment
        for (k, v) in environment { env[k] = v }
        let cArgs = argv.map { strdup($0) } + [nil]
        let cEnv = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for a in cArgs + cEnv { free(a) } }
        var pid: pid_t = 0
        let rc = cArgs.withUnsafeBufferPointer { args in
            cEnv.withUnsafeBufferPointer { envp in
                posix_spawn(&pid, argv[0], &actions, &attr, UnsafeMutablePointer(mutating: args.baseAddress!), UnsafeMutablePointer(mutating: envp.baseAddress!))
            }
        }
        guard rc == 0 else { return .failure(SpawnError(description: "posix_spawn \(argv[0]): \(String(cString: strerror(rc)))")) }
        return .success(pid)
    }

    /// Why a process did not start.
    struct SpawnError: Error, CustomStringConvertible {
        var description: String
    }

    /// What a command printed and how it exited.
    struct Output {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// Runs `argv` to completion through `sh`, which writes the exit status to a file: the
    /// status is known even when another thread of this process reaped the shell.
    static func run(_ argv: [String], timeout: Double = 60) throws -> Output {
        let dir = try makeTemporaryDirectory("director-cmd")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let script = #""$@" >"$D/out" 2>"$D/err"; echo $? >"$D/rc.tmp"; mv "$D/rc.tmp" "$D/rc""#
        let pid = try process(["/bin/sh", "-c", script, "sh"] + argv, environment: ["D": dir]).get()
        let deadline = Date().addingTimeInterval(timeout)
        var reaped = false
        while access(dir + "/rc", F_OK) != 0 {
            if !reaped {
                var status: Int32 = 0
                let r = waitpid(pid, &status, WNOHANG)
                if r == pid || (r < 0 && errno == ECHILD) { reaped = true }
            }
            if Date() > deadline {
                kill(pid, SIGKILL)
                throw CommandTimeout(command: argv.joined(separator: " "))
            }
            usleep(10_000)
        }
        if !reaped {
            for _ in 0..<100 {
                var status: Int32 = 0
                let r = waitpid(pid, &status, WNOHANG)
                if r == pid || (r < 0 && errno == ECHILD) { break }
                usleep(5_000)
            }
        }
        func read(_ name: String) -> String { (try? String(contentsOfFile: dir + "/" + name, encoding: .utf8)) ?? "" }
        return Output(status: Int32(read("rc").trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1, stdout: read("out"), stderr: read("err"))
    }

    struct CommandTimeout: Error, CustomStringConvertible {
        var command: String
        var description: String { "timed out: \(command)" }
    }
}

/// A new directory `/tmp/PREFIX-XXXXXX` (mkdtemp), mode 0700.
func makeTemporaryDirectory(_ prefix: String) throws -> String {
    var template = Array("/tmp/\(prefix)-XXXXXX".utf8CString)
    return try template.withUnsafeMutableBufferPointer { buffer throws -> String in
        guard let path = mkdtemp(buffer.baseAddress!) else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        return String(cString: path)
    }
}
