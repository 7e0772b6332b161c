#if canImport(Glibc)
import Glibc
#endif
import CDirectorSys
import DirectorCore
import DirectorManifest

/// A started child: its pid (also its process group id) and the daemon's ends of its pipes.
/// The caller owns the fds (each may be -1: a stream not captured, no pidfd asked for).
package struct SpawnedProcess: Sendable, Hashable {
    /// The pid; the child leads its own process group, so this is also the pgid.
    package var pid: Int32
    /// Read end of the child's stdout (non-blocking, close-on-exec); -1 when `log: {stdout:
    /// false}` gave the child /dev/null instead.
    package var stdoutFD: Int32
    /// Read end of the child's stderr (non-blocking, close-on-exec); -1 as for stdout.
    package var stderrFD: Int32
    /// A pidfd for the child, readable once it exits; -1 when not asked for, or on kernels
    /// without pidfd_open.
    package var pidfd: Int32
    /// Its start time as /proc/PID/stat field 22 shows it (clock ticks since boot), known
    /// from the clock around the clone without reading /proc; nil in the rare case the clone
    /// straddled a tick (then read it with `ProcStat.startTicks(pid:)`).
    package var startTicks: UInt64? = nil
    /// Read end of the readiness pipe of `ready: {fd: N}` (non-blocking, close-on-exec), or -1.
    package var readyFD: Int32 = -1
    /// The program as it was executed (after the PATH search), for the message of a failure
    /// found after the spawn returned (`ProcessSpawner.lateFailure`).
    package var program: String = ""
}

/// Why a child could not be started.
package struct SpawnError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A stable code to match on.
    package enum Code: String, Sendable, Hashable {
        /// The program does not exist (ENOENT), also after a PATH search.
        case notFound = "not_found"
        /// The program exists but cannot be executed (EACCES, ENOEXEC, ...).
        case notExecutable = "not_executable"
        /// The working directory is missing or not enterable.
        case badDirectory = "bad_directory"
        /// The system refused resources (pipes, fds, processes).
        case system
        /// The job's `user` or `group` is unknown, or the switch to them was refused.
        case badUser = "bad_user"
        /// One of the job's `rlimits` was refused (e.g. a hard limit above the daemon's).
        case badLimit = "bad_limit"
    }

    /// What went wrong, stable.
    package var code: Code
    /// For people, e.g. `cannot execute /x: No such file or directory`.
    package var message: String
    /// The errno behind it.
    package var errno: Int32

    /// The message.
    package var description: String { message }
}

/// Starts children with posix_spawn's semantics through our own vfork-style shim (see
/// `director_spawn`): own process group, clean signal state, stdin from /dev/null,
/// stdout/stderr into pipes, only fds 0-2 inherited.
package enum ProcessSpawner {
    /// Starts `spec`. The environment is `baseEnvironment` (normally `currentEnvironment()`,
    /// read once at daemon start) with `spec.env` on top: the spec wins.
    package static func spawn(_ spec: LaunchSpec, baseEnvironment: [String: String]) throws(SpawnError) -> SpawnedProcess {
        try spawn(spec, environment: SpawnEnvironment(baseEnvironment))
    }

    /// Starts `spec` with a prepared base environment (the daemon builds one at start: the
    /// restart path then copies no dictionary and converts no string it did not change).
    /// `withPidfd: false` makes no pidfd: for a supervisor that collects exits on SIGCHLD
    /// (the subreaping daemon), which then holds one descriptor less per child.
    ///
    /// `awaitingExec: false` returns as soon as the child exists, not once it has exec'd (see
    /// `director_spawn_set_next_async`): the caller goes on while the child sets itself up,
    /// which in a crash storm is most of a restart's time. The failures that can be seen from
    /// here (a missing or non-executable program or `#!` interpreter, a bad working directory:
    /// `ProgramCheck`) are still thrown first, and a program of a format only `execve` knows
    /// is spawned waiting. One that happens in the child all the same exits it with 127; the
    /// caller asks `lateFailure(of:)` at every exit of such a child. Spawns with a `user`,
    /// `group`, `rlimits`, `watchdog` or `ready: {fd: N}` wait for the exec whatever is asked.
    package static func spawn(
        _ spec: LaunchSpec, environment base: SpawnEnvironment, withPidfd: Bool = true, awaitingExec: Bool = true
    ) throws(SpawnError) -> SpawnedProcess {
        guard let program = spec.argv.first, !program.isEmpty else {
            throw SpawnError(code: .notFound, message: "cannot execute an empty command", errno: ENOENT)
        }
        let path: String
        if program.contains("/") {
            path = program
        } else {
            let searchPath = spec.env.last { $0.name == "PATH" }?.value ?? base.path ?? "/usr/local/bin:/usr/bin:/bin"
            switch resolve(program, searchPath: searchPath) {
            case .success(let p): path = p
            case .failure(let e):
                // Nothing ran: a missing directory is still the first thing to report.
                throw directoryProblem(spec.cwd) ?? failure(e.errno, step: Int32(DIRECTOR_SPAWN_STEP_EXEC), program: program, cwd: spec.cwd)
            }
        }
        // `ready: {fd: N}`: the child's fd N is the write end of a pipe the daemon reads (s6).
        var readyTarget: Int32 = -1
        if case .fd(let n) = spec.ready?.check { readyTarget = n }
        // The spawns the shim can make without waiting (see `director_spawn_set_next_async`);
        // the others wait whatever is asked, and are not checked here (as another user, the
        // child may enter a directory the daemon cannot).
        var withoutWaiting = !awaitingExec && spec.identity.isInherited && spec.watchdog == nil && readyTarget < 0
        if withoutWaiting {
            // What the child would fail at, told now rather than as an exit 127.
            if let problem = directoryProblem(spec.cwd) { throw problem }
            switch ProgramCheck.verdict(path, cwd: spec.cwd) {
            case .runs: break
            case .fails(let code): throw failure(code, step: Int32(DIRECTOR_SPAWN_STEP_EXEC), program: path, cwd: spec.cwd)
            case .unknown: withoutWaiting = false  // execve's answer, waited for
            }
        }

        // A stream the job does not capture (`log: {stdout: false}`) gets no pipe: the shim
        // leaves the child /dev/null there, and the daemon holds nothing for it.
        let out = try pipe(if: spec.log.capturesStdout, closingOnFailure: [])
        let err = try pipe(if: spec.log.capturesStderr, closingOnFailure: [out])
        let ready = try pipe(if: readyTarget >= 0, closingOnFailure: [out, err])
        var spawned = director_spawned()
        var step: Int32 = 0
        var failedResource: Int32 = -1
        let rc: Int32
        do {
            rc = try SpawnIdentity.with(spec.identity) { identity in
                withCStrings(spec.argv) { argv in
                    base.withEnvironment(adding: spec.env, locating: spec.watchdog == nil ? nil : "WATCHDOG_PID") { envp, pidText in
                        base.withResetSignals { signals in
                            director_spawn_set_next_extras(ready.write, readyTarget, pidText)
                            director_spawn_set_next_pidfd(withPidfd ? 1 : 0)
                            director_spawn_set_next_async(withoutWaiting ? 1 : 0)
                            return director_spawn_as(
                                path, argv, envp, spec.cwd.isEmpty ? nil : spec.cwd, out.write, err.write, signals, identity,
                                &spawned, &step)
                        }
                    }
                }
            } failed: { failedResource = $0 }
        } catch {
            director_spawn_set_next_extras(-1, -1, nil)
            director_spawn_set_next_pidfd(1)
            director_spawn_set_next_async(0)
            closeBoth(out); closeBoth(err); closeBoth(ready)
            throw error
        }
        for fd in [out.write, err.write, ready.write] where fd >= 0 { close(fd) }
        guard rc == 0 else {
            for fd in [out.read, err.read, ready.read] where fd >= 0 { close(fd) }
            throw failure(rc, step: step, program: path, cwd: spec.cwd, identity: spec.identity, resource: failedResource)
        }
        let pid = spawned.pid
        // Registered before anyone can reap it: orphan collection must never take it.
        OwnedChildren.insert(pid)
        let pidfd = spawned.pidfd >= 0 || !withPidfd ? spawned.pidfd : director_pidfd_open(pid, 0)
        return SpawnedProcess(
            pid: pid, stdoutFD: out.read, stderrFD: err.read, pidfd: pidfd,
            startTicks: spawned.start_ticks == 0 ? nil : spawned.start_ticks, readyFD: ready.read, program: path)
    }

    /// Why the child `process` of a spawn that did not wait for its exec exited 127 without
    /// running its program, or nil when it did run it (then the 127 is the program's own).
    /// Told once per process; ask when its exit is collected, not before.
    package static func lateFailure(of process: (pid: Int32, program: String), cwd: String) -> SpawnError? {
        var code: Int32 = 0
        var step: Int32 = 0
        guard director_spawn_late_failure(process.pid, &code, &step) == 1 else { return nil }
        return failure(code, step: step, program: process.program, cwd: cwd)
    }

    /// The daemon's environment, from `environ`.
    package static func currentEnvironment() -> [String: String] {
        var result: [String: String] = [:]
        var cursor = environ
        while let entry = cursor.pointee {
            let text = String(cString: entry)
            if let eq = text.firstIndex(of: "=") {
                result[String(text[..<eq])] = String(text[text.index(after: eq)...])
            }
            cursor += 1
        }
        return result
    }

    /// Finds `program` like execvp: a name with a slash is used as is, otherwise the first
    /// executable file on the search path; EACCES when only non-executable candidates exist.
    static func resolve(_ program: String, searchPath: String) -> Result<String, SpawnError> {
        if program.contains("/") { return .success(program) }
        var sawDenied = false
        for dir in searchPath.split(separator: ":", omittingEmptySubsequences: false) {
            let candidate = (dir.isEmpty ? "." : String(dir)) + "/" + program
            var st = stat()
            guard stat(candidate, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { continue }
            if access(candidate, X_OK) == 0 { return .success(candidate) }
            sawDenied = true
        }
        let code = sawDenied ? EACCES : ENOENT
        return .failure(SpawnError(code: .notFound, message: "", errno: code))
    }

    /// Why `cwd` cannot be a working directory, or nil (also for an empty `cwd`).
    private static func directoryProblem(_ cwd: String) -> SpawnError? {
        guard !cwd.isEmpty else { return nil }
        var st = stat()
        let e: Int32 = stat(cwd, &st) != 0 ? errno : (st.st_mode & S_IFMT) != S_IFDIR ? ENOTDIR : access(cwd, X_OK) != 0 ? EACCES : 0
        return e == 0 ? nil : SpawnError(code: .badDirectory, message: "cwd \(cwd): \(errorText(e))", errno: e)
    }

    /// Turns the spawn shim's errno and failed step into a message: the shim says whether
    /// chdir or execve failed, so `ENOENT` is told apart without looking at the directory.
    private static func failure(
        _ code: Int32, step: Int32, program: String, cwd: String, identity: ProcessIdentity = ProcessIdentity(),
        resource: Int32 = -1
    ) -> SpawnError {
        if let problem = SpawnIdentity.failure(code, step: step, identity: identity, resource: resource) { return problem }
        if step == Int32(DIRECTOR_SPAWN_STEP_CHDIR) {
            return SpawnError(code: .badDirectory, message: "cwd \(cwd): \(errorText(code))", errno: code)
        }
        if step == Int32(DIRECTOR_SPAWN_STEP_SETUP) {
            return SpawnError(code: .system, message: "cannot start \(program): \(errorText(code))", errno: code)
        }
        let kind: SpawnError.Code = switch code {
        case ENOENT, ENOTDIR: .notFound
        case EACCES, ENOEXEC, EPERM, EISDIR, ETXTBSY, ELOOP: .notExecutable
        default: .system
        }
        return SpawnError(code: kind, message: "cannot execute \(program): \(errorText(code))", errno: code)
    }
}

/// A new output pipe when `wanted`, else (-1, -1); when it cannot be made, the pipes made
/// before it are closed and the failure is a spawn error.
private func pipe(
    if wanted: Bool, closingOnFailure made: [(read: Int32, write: Int32)]
) throws(SpawnError) -> (read: Int32, write: Int32) {
    guard wanted else { return (-1, -1) }
    do { return try FileDescriptors.outputPipe() } catch {
        for p in made { closeBoth(p) }
        throw SpawnError(code: .system, message: error.message, errno: error.errno ?? 0)
    }
}

/// Closes both ends of a pipe that may not have been made (-1).
private func closeBoth(_ pipe: (read: Int32, write: Int32)) {
    if pipe.read >= 0 { close(pipe.read) }
    if pipe.write >= 0 { close(pipe.write) }
}

/// Runs `body` with a NULL-terminated C array of the strings.
func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> R) -> R {
    let pointers: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) } + [nil]
    defer { for p in pointers { free(p) } }
    return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
}
