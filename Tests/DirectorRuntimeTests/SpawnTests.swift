#if canImport(Glibc)
import Glibc
#endif
import CDirectorSys
import DirectorCore
import DirectorManifest
import Testing
@testable import DirectorRuntime

@Suite struct SpawnTests {
    /// Starts `argv` while this thread blocks `blocked` and the process ignores `ignored`, as
    /// the daemon blocks its signalfd signals and ignores SIGPIPE; both are restored after.
    private func launchWhile(blocking blocked: Int32, ignoring ignored: Int32, _ argv: [String]) throws -> ChildGuard {
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, blocked)
        var old = sigset_t()
        pthread_sigmask(SIG_BLOCK, &set, &old)
        let oldHandler = signal(ignored, SIG_IGN)
        defer {
            signal(ignored, oldHandler)
            pthread_sigmask(SIG_SETMASK, &old, nil)
        }
        return try ChildGuard(launch(argv))
    }

    @Test func argvIsPassedVerbatimAndPathIsSearched() throws {
        let child = try ChildGuard(launch(["printf", "%s|", "a b", "", "c"]))
        #expect(child.readStdout() == "a b||c|")
        #expect(child.waitExit() == .code(0))
    }

    @Test func shellCommandRuns() throws {
        let child = try ChildGuard(launch(["/bin/sh", "-c", "echo $((6*7))"]))
        #expect(child.readStdout() == "42\n")
    }

    @Test func environmentIsDaemonsPlusSpecAndSpecWins() throws {
        let base = ["PATH": "/usr/bin:/bin", "KEEP": "base", "OVERRIDE": "base"]
        let spec = launch(
            ["/bin/sh", "-c", "echo $KEEP $OVERRIDE $DIRECTOR_ID"],
            env: ["OVERRIDE": "spec", "DIRECTOR_ID": "web/api/0"])
        let child = try ChildGuard(spec, environment: base)
        #expect(child.readStdout() == "base spec web/api/0\n")
    }

    @Test func cwdIsApplied() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let child = try ChildGuard(launch(["/bin/pwd"], cwd: dir.path))
        #expect(child.readStdout() == dir.path + "\n")
    }

    @Test func stdinIsDevNull() throws {
        let child = try ChildGuard(launch(["/bin/sh", "-c", "readlink /proc/self/fd/0; cat; echo end"]))
        #expect(child.readStdout() == "/dev/null\nend\n")
    }

    @Test func onlyStandardFdsAreInherited() throws {
        let child = try ChildGuard(launch(["/bin/sh", "-c", "ls /proc/self/fd | wc -l"]))
        // 0, 1, 2 and the fd `ls` opens on the directory.
        #expect(child.readStdout().trimmingSpaces == "4")
    }

    @Test(arguments: [false, true])
    func aChildGetsThreeFdsHoweverManyTheParentHolds(copyWholeTable: Bool) throws {
        // 300 pipes (600 fds) open here: the child shares no fd table with us and inherits none
        // of them, on the fast path (a private table of three fds) and on the path for kernels
        // without CLOSE_RANGE_UNSHARE (a full copy, then closed).
        var extra: [Int32] = []
        defer { for fd in extra { close(fd) } }
        for _ in 0..<300 {
            var fds: [Int32] = [-1, -1]
            guard director_pipe_cloexec(&fds) == 0 else { break }
            extra += fds
        }
        #expect(extra.count == 600)
        director_spawn_copy_whole_fd_table(copyWholeTable ? 1 : 0)
        defer { director_spawn_copy_whole_fd_table(0) }
        let child = try ChildGuard(launch(["/bin/sh", "-c", "ls /proc/self/fd | wc -l; readlink /proc/self/fd/0"]))
        #expect(child.readStdout().split(separator: "\n").map { String($0).trimmingSpaces } == ["4", "/dev/null"])
    }

    @Test func theParentKeepsNoWriteEndOfTheChildsPipes() throws {
        // End-of-file comes as soon as the child exits: nothing in this process (such as the
        // spawn's own slots) still holds the pipes' write ends.
        let child = try ChildGuard(launch(["/bin/true"]))
        for fd in [child.process.stdoutFD, child.process.stderrFD] {
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            #expect(poll(&p, 1, 5_000) == 1)
            var byte: UInt8 = 0
            #expect(read(fd, &byte, 1) == 0, "end-of-file on fd \(fd)")
        }
    }

    @Test func childLeadsItsOwnProcessGroup() throws {
        let child = try ChildGuard(launch(["/bin/sleep", "30"]))
        #expect(getpgid(child.pid) == child.pid)
        #expect(child.pid != getpgrp())
    }

    @Test func stderrHasItsOwnPipe() throws {
        let child = try ChildGuard(launch(["/bin/sh", "-c", "echo out; echo err >&2"]))
        #expect(child.readStdout() == "out\n")
        #expect(readAll(child.process.stderrFD) == "err\n")
    }

    @Test(arguments: [
        (["/nonexistent/program"], "/", SpawnError.Code.notFound, "cannot execute /nonexistent/program: No such file or directory"),
        (["no-such-program-anywhere"], "/", .notFound, "cannot execute no-such-program-anywhere: No such file or directory"),
        (["/dev/null"], "/", .notExecutable, "cannot execute /dev/null: Permission denied"),
        (["/bin/true"], "/nope", .badDirectory, "cwd /nope: No such file or directory"),
        (["/bin/true"], "/etc/hostname", .badDirectory, "cwd /etc/hostname: Not a directory"),
    ])
    func spawnFailuresAreReported(argv: [String], cwd: String, code: SpawnError.Code, message: String) {
        do {
            let p = try ProcessSpawner.spawn(launch(argv, cwd: cwd), baseEnvironment: ["PATH": "/usr/bin:/bin"])
            kill(-p.pid, SIGKILL)
            _ = ProcessReaper.waitExited(p.pid, block: true)
            Issue.record("spawn of \(argv) in \(cwd) succeeded")
        } catch {
            #expect(error.code == code)
            #expect(error.message == message)
        }
    }

    @Test func nonExecutableOnPathIsPermissionDenied() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        dir.write("tool", "#!/bin/sh\n", mode: 0o644)
        #expect(throws: SpawnError.self) {
            _ = try ProcessSpawner.spawn(launch(["tool"]), baseEnvironment: ["PATH": dir.path])
        }
        let result = ProcessSpawner.resolve("tool", searchPath: dir.path)
        guard case .failure(let e) = result else { Issue.record("resolved"); return }
        #expect(e.errno == EACCES)
    }

    @Test func relativeProgramResolvesAgainstCwd() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        dir.write("run.sh", "#!/bin/sh\necho relative\n", mode: 0o755)
        let child = try ChildGuard(launch(["./run.sh"], cwd: dir.path))
        #expect(child.readStdout() == "relative\n")
    }

    @Test(arguments: [
        ("exit 3", DirectorCore.ChildExitStatus.code(3)),
        ("exit 0", .code(0)),
        ("kill -SEGV $$", .signal(ProcessSignal(number: SIGSEGV))),
        ("kill -KILL $$", .signal(.kill)),
    ])
    func exitCodeAndSignalAreExact(script: String, expected: DirectorCore.ChildExitStatus) throws {
        let child = try ChildGuard(launch(["/bin/sh", "-c", script]))
        #expect(child.waitExit() == expected)
    }

    @Test func blockedAndIgnoredSignalsAreResetInTheChild() throws {
        // The daemon blocks SIGTERM (for its signalfd); a child must still die from it.
        let child = try launchWhile(blocking: SIGTERM, ignoring: SIGTERM, ["/bin/sh", "-c", "exec sleep 30"])
        usleep(50_000)
        kill(child.pid, SIGTERM)
        #expect(child.waitExit() == .signal(.term))
    }

    @Test func childStartsWithNoSignalBlockedIgnoredOrCaught() throws {
        // The test process blocks SIGTERM and ignores SIGUSR2 while the spawn environment is
        // prepared and the child starts, like the daemon with its signalfd and SIGPIPE.
        let child = try launchWhile(blocking: SIGTERM, ignoring: SIGUSR2, ["/bin/sleep", "30"])
        let status = try #require(ProcStat.readSmallFile("/proc/\(child.pid)/status"))
        for field in ["SigBlk", "SigIgn", "SigCgt"] {
            let line = try #require(status.split(separator: "\n").first { $0.hasPrefix(field + ":") })
            #expect(line.hasSuffix("0000000000000000"), "\(line)")
        }
    }

    @Test func aSourceFdAmongTheStandardOnesIsNotOverwritten() throws {
        // A caller whose fd 0 is the child's stdout pipe: a naive dup2(/dev/null, 0) first
        // would leave the child writing to /dev/null.
        var fds: [Int32] = [-1, -1]
        #expect(director_pipe_cloexec(&fds) == 0)
        let saved = dup(0)
        #expect(dup2(fds[1], 0) == 0)
        close(fds[1])
        var spawned = director_spawned()
        var step: Int32 = 0
        let rc = withCStrings(["/bin/sh", "-c", "readlink /proc/self/fd/0"]) { argv in
            withCStrings(["PATH=/usr/bin:/bin"]) { envp in
                director_spawn("/bin/sh", argv, envp, nil, 0, 2, nil, &spawned, &step)
            }
        }
        let pid = spawned.pid
        if spawned.pidfd >= 0 { close(spawned.pidfd) }
        dup2(saved, 0)
        close(saved)
        #expect(rc == 0)
        #expect(readAll(fds[0]) == "/dev/null\n")
        close(fds[0])
        #expect(ProcessReaper.waitExited(pid, block: true) == .code(0))
    }

    @Test func thePidfdComesWithTheSpawnAndAnnouncesTheExit() throws {
        let child = try ChildGuard(launch(["/bin/sleep", "30"]))
        #expect(child.process.pidfd >= 0)
        var target = [UInt8](repeating: 0, count: 256)
        let n = target.withUnsafeMutableBufferPointer { buffer in
            buffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: buffer.count) {
                readlink("/proc/self/fd/\(child.process.pidfd)", $0, buffer.count - 1)
            }
        }
        let link = String(decoding: target.prefix(max(n, 0)), as: UTF8.self)
        #expect(link.contains("pidfd"), "\(link)")
        var p = pollfd(fd: child.process.pidfd, events: Int16(POLLIN), revents: 0)
        #expect(poll(&p, 1, 0) == 0, "not readable while the child runs")
        kill(child.pid, SIGKILL)
        #expect(poll(&p, 1, 10_000) == 1, "readable once it has exited")
        #expect(child.waitExit() == .signal(.kill))
    }

    @Test func startTicksAreKnownFromTheClockAndMatchProc() throws {
        var known = 0
        for _ in 0..<30 {
            let child = try ChildGuard(launch(["/bin/sleep", "30"]))
            guard let ticks = child.process.startTicks else { continue }
            known += 1
            #expect(ticks == ProcStat.startTicks(pid: child.pid), "pid \(child.pid)")
        }
        // The window is the clone (from the parent's clock reading before it to the child's
        // first one), a few tens of µs of a 10 ms tick; a loaded machine may stretch it (then
        // the ticks are nil, read later). Most must be known.
        #expect(known >= 15)
    }

    @Test func killingTheProcessGroupKillsGrandchildren() throws {
        let child = try ChildGuard(launch(["/bin/sh", "-c", "sleep 30 & echo $!; wait"]))
        var line = ""
        var buffer = [UInt8](repeating: 0, count: 64)
        for _ in 0..<500 where !line.hasSuffix("\n") {
            let n = read(child.process.stdoutFD, &buffer, buffer.count)
            if n > 0 { line += String(decoding: buffer[0..<n], as: UTF8.self) } else { usleep(10_000) }
        }
        let grandchild = Int32(line.trimmingSpaces)!
        #expect(getpgid(grandchild) == child.pid)
        kill(-child.pid, SIGKILL)
        #expect(child.waitExit() == .signal(.kill))
        // The grandchild was re-parented (to init or a subreaper) and dies with its group.
        var gone = false
        for _ in 0..<500 {
            if !processExists(grandchild) || processState(grandchild) == "Z" { gone = true; break }
            usleep(10_000)
        }
        #expect(gone)
    }

    @Test func startTicksComeFromStatField22() throws {
        #expect(ProcStat.startTicks(statLine: "42 (a) b) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 777 19") == 777)
        let child = try ChildGuard(launch(["/bin/sleep", "30"]))
        let ticks = ProcStat.startTicks(pid: child.pid)
        #expect(ticks != nil)
        #expect(ticks! >= ProcStat.startTicks(pid: getpid())!)
    }
}

extension String {
    var trimmingSpaces: String {
        String(self.drop(while: { $0 == " " || $0 == "\n" }).reversed().drop(while: { $0 == " " || $0 == "\n" }).reversed())
    }
}
