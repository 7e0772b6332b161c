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
        // Executable but neither a binary nor a script: only execve finds out, in the child.
        dir.write("garbage.bin", "neither a binary nor a script\n", mode: 0o755)
        let program = dir.path + "/garbage.bin"
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
        #expect(throws: SpawnError.self) { try ChildGuard(launch([dir.path + "/missing"]), awaitingExec: false) }
        #expect(throws: SpawnError.self) { try ChildGuard(launch([dir.path + "/plain.txt"]), awaitingExec: false) }
        #expect(throws: SpawnError.self) { try ChildGuard(launch(["/bin/true"], cwd: dir.path + "/nowhere"), awaitingExec: false) }
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
