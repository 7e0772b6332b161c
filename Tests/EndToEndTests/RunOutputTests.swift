import Foundation
import Testing

/// Children's output in the daemon's stdout: prefixed lines, per-stream filters, long lines
/// cut and marked, and a fast writer that does not hold up anybody else.
@Suite(.serialized) struct RunOutputTests {
    @Test func linesArePrefixedWithTheChildIdAndFilteredPerStream() throws {
        let d = try DaemonHarness(files: ["g.yaml": """
            group: g
            jobs:
              - name: talk
                command: "echo keep-1; echo skip-me; echo other; echo DEBUG noisy >&2; echo warn-1 >&2; echo done >&2; exec sleep 3600"
                log:
                  stdout: {include: ["^keep", "^other"], exclude: ["other"]}
                  stderr: {exclude: ["^DEBUG"]}
              - name: plain
                command: "echo hello; echo oops >&2; exec sleep 3600"
            """])
        defer { d.stop() }
        try d.start()
        try d.waitForStdout("g/talk/0 stderr: done")
        let out = try d.waitForStdout("g/plain/0 stderr: oops")
        // The two streams are separate pipes: each keeps its order, their interleaving is free.
        let lines = out.split(separator: "\n")
        #expect(lines.filter { $0.hasPrefix("g/talk/0 stdout: ") } == ["g/talk/0 stdout: keep-1"],
            "include keeps keep-* and other*, then exclude drops other")
        #expect(lines.filter { $0.hasPrefix("g/talk/0 stderr: ") } == ["g/talk/0 stderr: warn-1", "g/talk/0 stderr: done"],
            "stderr drops ^DEBUG")
        #expect(out.contains("g/plain/0 stdout: hello\n"))
        #expect(!d.daemonStderr.contains("hello"), "children's lines go to stdout, not the daemon log")
    }

    @Test func aHundredKibLineIsCutAndMarked() throws {
        let d = try DaemonHarness(files: ["g.yaml": """
            group: g
            jobs:
              - name: long
                command: "head -c 102400 /dev/zero | tr '\\\\0' a; echo; echo after-the-long-line; exec sleep 3600"
            """])
        defer { d.stop() }
        try d.start()
        let out = try d.waitForStdout("g/long/0 stdout: after-the-long-line")
        let lines = out.split(separator: "\n", omittingEmptySubsequences: false).filter { $0.hasPrefix("g/long/0 ") }
        #expect(lines.count == 2, "the long line is one cut line, its rest dropped: \(lines.map { $0.prefix(40) })")
        let long = try #require(lines.first)
        let prefix = "g/long/0 stdout: "
        #expect(long.hasPrefix(prefix))
        #expect(long.hasSuffix(" [cut]"))
        let body = long.dropFirst(prefix.count).dropLast(" [cut]".count)
        #expect(body.count == 64 * 1024, "cut at 64 KiB")
        #expect(body.allSatisfy { $0 == "a" })
    }

    @Test func aFastWriterDoesNotStopAnotherChildsLines() throws {
        // `yes` writes as fast as the daemon reads; its lines are filtered out so the test does
        // not fill the disk, but every byte still goes through the daemon's loop.
        let d = try DaemonHarness(files: ["g.yaml": """
            group: g
            jobs:
              - name: flood
                command: ["yes", "spam"]
                log:
                  stdout: {exclude: ["^spam$"]}
              - name: ticker
                command: "sleep 0.5; for i in 1 2 3 4 5; do echo tick-$i; sleep 0.2; done; exec sleep 3600"
            """])
        defer { d.stop() }
        try d.start()
        try d.waitRunning(2, prefix: "g")
        let out = try d.waitForStdout("g/ticker/0 stdout: tick-5", timeout: 20)
        let ticks = out.split(separator: "\n").filter { $0.hasPrefix("g/ticker/0 ") }
        #expect(ticks.map(String.init) == (1...5).map { "g/ticker/0 stdout: tick-\($0)" })
        #expect(!out.contains("spam"))
        // The flood really flowed: the daemon read several pipe buffers from it (over 10 MB on
        // an idle machine; the bound leaves room for two cores busy with other work).
        let daemon = try #require(d.daemonPID)
        let io = try String(contentsOfFile: "/proc/\(daemon)/io", encoding: .utf8)
        let rchar = io.split(separator: "\n").first { $0.hasPrefix("rchar:") }.flatMap { Int($0.split(separator: " ").last ?? "") } ?? 0
        #expect(rchar > 1 << 18, "daemon read \(rchar) bytes")
        // And the operator is still served while the flood goes on.
        let r = try d.cli("stop", ["g/flood/0"])
        #expect(r.status == 0, "\(r.stderr)")
        try d.waitForRow("g/flood/0", "stopped") { $0["state"] as? String == "stopped" }
    }

    @Test func aFinalLineWithoutNewlineIsFlushedAtExit() throws {
        let d = try DaemonHarness(files: ["g.yaml": """
            group: g
            jobs:
              - name: partial
                command: "printf 'no newline at the end'"
                restart: temporary
            """])
        defer { d.stop() }
        try d.start()
        try d.waitForStdout("g/partial/0 stdout: no newline at the end\n")
    }

    @Test func aStdoutNobodyReadsDropsLinesButNeverStallsTheDaemon() throws {
        // The daemon's stdout is a pipe the test does not read at first: the pipe and the
        // daemon's 1 MiB buffer fill up, lines are dropped and counted, and supervision and
        // the control socket carry on.
        let d = try DaemonHarness(files: ["g.yaml": """
            group: g
            jobs:
              - name: flood
                command: ["yes", "spam"]
              - name: steady
                command: ["sleep", "3600"]
            """])
        let out = Pipe()
        let daemon = Process()
        daemon.executableURL = URL(fileURLWithPath: DirectorBinary.path)
        daemon.arguments = ["run", "--jobs", d.jobs, "--state", d.state]
        daemon.standardOutput = out
        _ = FileManager.default.createFile(atPath: d.stderrPath, contents: nil)
        daemon.standardError = FileHandle(forWritingAtPath: d.stderrPath)
        daemon.standardInput = FileHandle.nullDevice
        try daemon.run()
        defer {
            // Not the harness's daemon: stop it here; the harness then kills what it saw.
            if daemon.isRunning { daemon.terminate() }
            let deadline = Date().addingTimeInterval(10)
            while daemon.isRunning && Date() < deadline {
                _ = Self.readAvailable(out.fileHandleForReading.fileDescriptor)  // let it flush and exit
            }
            if daemon.isRunning { kill(daemon.processIdentifier, SIGKILL) }
            d.stop()
        }
        let rows = try d.waitRunning(2, prefix: "g")
        // Give the flood time to fill the pipe and the buffer.
        usleep(1_500_000)
        let steadyPID = try #require(rows.first { $0.id == "g/steady/0" }?.pid)
        kill(steadyPID, SIGKILL)
        try d.waitFor("steady replaced while stdout is blocked", prefix: "g/steady") { rows in
            rows.first?.state == "running" && rows.first?.pid != steadyPID
        }
        let stop = try d.cli("stop", ["g/flood/0"])
        #expect(stop.status == 0, "the control socket answers: \(stop.stderr)")
        try d.waitFor("flood stopped", prefix: "g/flood") { $0.first?.state == "stopped" }
        // Now read: the buffered lines, then the notice of what was dropped.
        var text = ""
        let deadline = Date().addingTimeInterval(20)
        while !text.contains("lines dropped") && Date() < deadline {
            // Keep only the tail: the drained buffer is a megabyte of spam before the notice.
            text = String(text.suffix(4096)) + Self.readAvailable(out.fileHandleForReading.fileDescriptor)
        }
        let notice = text.split(separator: "\n").first { $0.hasPrefix("... ") && $0.hasSuffix(" lines dropped") }
        #expect(notice != nil, "a drop notice follows once stdout drains")
        if let notice { #expect(Int(notice.split(separator: " ")[1]) ?? 0 > 0, "\(notice)") }
    }

    @Test func streamsThatAreNotCapturedGoToDevNullAndCostTheDaemonNoDescriptor() throws {
        // 100 children with `stdout: false, stderr: false`: no pipes, and the daemon (a
        // subreaper, collecting exits on SIGCHLD) holds no pidfd either, so its descriptor
        // count does not grow with them (it was three per child).
        let d = try DaemonHarness(files: ["g.yaml": """
            group: g
            jobs:
              - name: quiet
                command: "echo quiet-out; echo quiet-err >&2; exec sleep 3600"
                instances: 100
                log: {stdout: false, stderr: false}
              - name: loud
                command: "echo loud-out; exec sleep 3600"
            """])
        defer { d.stop() }
        try d.start()
        let rows = try d.waitRunning(101, timeout: 30)
        try d.waitForStdout("g/loud/0 stdout: loud-out")
        let quiet = rows.filter { $0.id.hasPrefix("g/quiet/") }
        #expect(quiet.count == 100)
        let child = try #require(quiet.first?.pid)
        for fd in 1...2 { #expect(link("/proc/\(child)/fd/\(fd)") == "/dev/null", "child fd \(fd)") }
        let daemon = try #require(d.runningDaemonPID)
        let fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(daemon)/fd").count) ?? 0
        // ~25 of the daemon's own and the 33 of the spawn slots (docs/runtime.md): one per
        // quiet child would be 100 more.
        #expect(fds > 0 && fds < 90, "the daemon holds \(fds) descriptors with 101 children")
        // Its exits still arrive (SIGCHLD), and nothing of its output reached anybody.
        kill(child, SIGKILL)
        try d.waitFor("g/quiet/0 replaced", prefix: "g/quiet/0") { $0.first?.restarts == 1 && $0.first?.state == "running" }
        #expect(!(try String(contentsOfFile: d.stdoutPath, encoding: .utf8)).contains("quiet-"))
        #expect(!d.daemonStderr.contains("quiet-"))
        #expect(!FileManager.default.fileExists(atPath: d.state + "/logs/g/quiet/0.log"))
    }

    @Test func aCapturedStreamBesideAnUncapturedOneIsStillLogged() throws {
        let d = try DaemonHarness(files: ["g.yaml": """
            group: g
            jobs:
              - name: half
                command: "echo half-out; echo half-err >&2; exec sleep 3600"
                log: {stdout: false}
            """])
        defer { d.stop() }
        try d.start()
        let out = try d.waitForStdout("g/half/0 stderr: half-err")
        #expect(!out.contains("half-out"))
        let child = try #require(try d.waitRunning(1).first?.pid)
        #expect(link("/proc/\(child)/fd/1") == "/dev/null")
        #expect(link("/proc/\(child)/fd/2").hasPrefix("pipe:"))
    }

    private func link(_ path: String) -> String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: path)) ?? ""
    }

    /// What can be read from `fd` within 100 ms (at most 1 MiB), as text.
    static func readAvailable(_ fd: Int32) -> String {
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&p, 1, 100) == 1 else { return "" }
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        let n = read(fd, &buffer, buffer.count)
        return n > 0 ? String(decoding: buffer[0..<n], as: UTF8.self) : ""
    }
}
