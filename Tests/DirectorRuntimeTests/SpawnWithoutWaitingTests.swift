#if canImport(Glibc)
import Glibc
#endif
import CDirectorSys
import DirectorCore
import Testing
@testable import DirectorRuntime

/// The daemon's spawn returns before the child's exec (`awaitingExec: false`): the child then
/// runs beside its parent in the parent's memory until it execs. What it reads must be its own
/// copy, what it does must not touch the parent, and its failures must still be told.
@Suite struct SpawnWithoutWaitingTests {
    @Test func everyChildRunsWithItsOwnArgumentsEnvironmentAndDirectory() throws {
        // 60 spawns in a row: more than the 16 slots are in flight at times, so the waiting
        // spawn serves some of them; each child must still get exactly what it was given,
        // although the caller's buffers are freed and reused as soon as each spawn returns.
        let dir = TempDir()
        defer { dir.cleanup() }
        var children: [ChildGuard] = []
        for i in 0..<60 {
            let spec = launch(
                ["/bin/sh", "-c", "printf '%s %s %s' \"$1\" \"$N\" \"$(pwd)\"", "sh", "argument-\(i)"],
                cwd: dir.path, env: ["N": "value-\(i)"], id: "t/job/\(i)")
            children.append(try ChildGuard(spec, awaitingExec: false))
        }
        // Exits first, then the slots let go of the pipes (the daemon settles once a turn), so
        // each read ends at once.
        for child in children { #expect(child.waitExit() == .code(0)) }
        director_spawn_settle()
        for (i, child) in children.enumerated() {
            #expect(child.readStdout(seconds: 2) == "argument-\(i) value-\(i) \(dir.path)")
        }
    }

    @Test func theChildLeadsItsOwnProcessGroupWhenTheSpawnReturns() throws {
        // A stop right after the spawn signals the group; it must exist although the child may
        // not have run a single instruction yet (the parent makes it the leader too).
        for _ in 0..<40 {
            let child = try ChildGuard(launch(["/bin/sleep", "30"]), awaitingExec: false)
            #expect(kill(-child.pid, SIGKILL) == 0, "kill(-\(child.pid)): \(String(cString: strerror(errno)))")
            #expect(child.waitExit() == .signal(.kill))
        }
    }

    @Test func aFailureInTheChildIsToldAtItsExitAndOnlyOnce() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        // A script whose interpreter is executable but neither a binary nor a script: the
        // check before the spawn passes it, only execve finds out, in the child.
        dir.write("garbage.bin", "neither a binary nor a script\n", mode: 0o755)
        dir.write("nested.sh", "#!\(dir.path)/garbage.bin\n", mode: 0o755)
        let program = dir.path + "/nested.sh"
        let child = try ChildGuard(launch([program]), awaitingExec: false)
        #expect(child.waitExit() == .code(127))
        let failure = try #require(ProcessSpawner.lateFailure(of: (child.pid, child.process.program), cwd: "/"))
        #expect(failure.code == .notExecutable)
        #expect(failure.errno == ENOEXEC)
        #expect(failure.message == "cannot execute \(program): Exec format error")
        #expect(ProcessSpawner.lateFailure(of: (child.pid, child.process.program), cwd: "/") == nil)

        // A program's own exit 127 is not a spawn failure.
        let own = try ChildGuard(launch(["/bin/sh", "-c", "exit 127"]), awaitingExec: false)
        #expect(own.waitExit() == .code(127))
        #expect(ProcessSpawner.lateFailure(of: (own.pid, own.process.program), cwd: "/") == nil)
    }

    @Test func whatTheParentCanSeeIsStillThrownAtOnce() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        dir.write("plain.txt", "text\n", mode: 0o644)
        dir.write("garbage.bin", "neither a binary nor a script\n", mode: 0o755)
        dir.write("orphan.sh", "#!/nonexistent/director-interpreter\n", mode: 0o755)
        let cases: [(argv: [String], cwd: String, message: String)] = [
            ([dir.path + "/missing"], "/", "cannot execute \(dir.path)/missing: No such file or directory"),
            ([dir.path + "/plain.txt"], "/", "cannot execute \(dir.path)/plain.txt: Permission denied"),
            ([dir.path], "/", "cannot execute \(dir.path): Permission denied"),
            ([dir.path + "/orphan.sh"], "/", "cannot execute \(dir.path)/orphan.sh: No such file or directory"),
            // A format only execve knows: the spawn waits for its answer.
            ([dir.path + "/garbage.bin"], "/", "cannot execute \(dir.path)/garbage.bin: Exec format error"),
            (["/bin/true"], dir.path + "/nowhere", "cwd \(dir.path)/nowhere: No such file or directory"),
        ]
        for c in cases {
            let error = #expect(throws: SpawnError.self, "\(c.argv)") {
                try ChildGuard(launch(c.argv, cwd: c.cwd), awaitingExec: false)
            }
            #expect(error?.message == c.message)
        }
        // A relative program is found from the job's directory, as execve after chdir finds it.
        dir.write("tool.sh", "#!/bin/sh\necho relative\n", mode: 0o755)
        let child = try ChildGuard(launch(["./tool.sh"], cwd: dir.path), awaitingExec: false)
        #expect(child.readStdout() == "relative\n")
    }

    @Test func aFailingChildLeavesTheCallersErrnoAlone() throws {
        // The child shares the calling thread's TLS, errno included. Its failed chdir must not
        // write there: this thread is running, not suspended as under vfork.
        var reset = sigset_t()
        sigfillset(&reset)
        var out = director_spawned()
        var step: Int32 = 0
        let argv: [UnsafeMutablePointer<CChar>?] = [strdup("/bin/true"), nil]
        let envp: [UnsafeMutablePointer<CChar>?] = [nil]
        defer { free(argv[0]) }
        for _ in 0..<20 {
            director_spawn_set_next_async(1)
            let rc = director_spawn("/bin/true", argv, envp, "/nonexistent-director-dir", -1, -1, &reset, &out, &step)
            try #require(rc == 0)
            errno = 0
            var info = siginfo_t()
            while waitid(P_PID, id_t(out.pid), &info, WEXITED) != 0 && errno == EINTR { errno = 0 }
            #expect(errno == 0, "the child's failure wrote errno \(errno) into this thread")
            var code: Int32 = 0
            #expect(director_spawn_late_failure(out.pid, &code, &step) == 1)
            #expect(code == ENOENT && step == Int32(DIRECTOR_SPAWN_STEP_CHDIR))
            if out.pidfd >= 0 { close(out.pidfd) }
        }
    }

    @Test func aSettledSlotLetsGoOfTheChildsPipe() throws {
        // Until the child has unshared the fd table, a slot holds the write end of its pipe;
        // once settled, the pipe ends when the child's own end closes.
        let child = try ChildGuard(launch(["/bin/sh", "-c", "echo done"]), awaitingExec: false)
        #expect(child.waitExit() == .code(0))
        director_spawn_settle()
        #expect(readAll(child.process.stdoutFD, seconds: 5) == "done\n")
        var byte: UInt8 = 0
        #expect(read(child.process.stdoutFD, &byte, 1) == 0, "no end-of-file: a slot still holds the pipe")
    }
}

/// The check before a spawn that does not wait: what it can tell, it tells as `execve` would.
@Suite struct ProgramCheckTests {
    @Test func binariesAndScriptsRunAndTheirFailuresHaveExecvesErrno() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        dir.write("ok.sh", "#!/bin/sh\necho hi\n", mode: 0o755)
        dir.write("spaced.sh", "#!  /bin/sh -e\necho hi\n", mode: 0o755)
        dir.write("orphan.sh", "#!/nonexistent/interpreter\n", mode: 0o755)
        dir.write("relative.sh", "#!sh\n", mode: 0o755)
        dir.write("garbage.bin", "neither a binary nor a script\n", mode: 0o755)
        dir.write("quiet.sh", "#!/bin/sh\n", mode: 0o644)
        dir.write("unreadable.sh", "#!/bin/sh\n", mode: 0o111)
        #expect(ProgramCheck.verdict("/bin/true", cwd: "/") == .runs)
        #expect(ProgramCheck.verdict("/bin/true", cwd: "/") == .runs, "remembered")
        #expect(ProgramCheck.verdict(dir.path + "/ok.sh", cwd: "/") == .runs)
        #expect(ProgramCheck.verdict(dir.path + "/spaced.sh", cwd: "/") == .runs)
        #expect(ProgramCheck.verdict("./ok.sh", cwd: dir.path) == .runs, "relative to the job's cwd")
        #expect(ProgramCheck.verdict("./ok.sh", cwd: "/") == .fails(ENOENT))
        #expect(ProgramCheck.verdict(dir.path + "/orphan.sh", cwd: "/") == .fails(ENOENT))
        #expect(ProgramCheck.verdict(dir.path + "/missing", cwd: "/") == .fails(ENOENT))
        #expect(ProgramCheck.verdict(dir.path + "/quiet.sh", cwd: "/") == .fails(EACCES))
        #expect(ProgramCheck.verdict(dir.path, cwd: "/") == .fails(EACCES))
        #expect(ProgramCheck.verdict(dir.path + "/relative.sh", cwd: "/") == .unknown)
        #expect(ProgramCheck.verdict(dir.path + "/garbage.bin", cwd: "/") == .unknown)
        if getuid() != 0 {
            // Executable but not readable: only execve can look inside.
            #expect(ProgramCheck.verdict(dir.path + "/unreadable.sh", cwd: "/") == .unknown)
        }
    }
}
