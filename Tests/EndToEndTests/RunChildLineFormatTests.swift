import Foundation
import Testing

/// Children's lines on the daemon's stdout: a timestamp, JSON under `--log-format json`,
/// coloured ids on a terminal (`--color`, `NO_COLOR`), and a child's last lines before its
/// exit line.
@Suite(.serialized) struct RunChildLineFormatTests {
    static let talker = """
        group: g
        jobs:
          - name: hi
            command: "echo hello; exec sleep 3600"
        """

    @Test func linesStartWithTheTimeTheyWereRead() throws {
        let d = try DaemonHarness(files: ["g.yaml": Self.talker])
        defer { d.stop() }
        let before = Int64(Date().timeIntervalSince1970 * 1000)
        try d.start()
        try d.waitForStdout("g/hi/0 stdout: hello")
        let line = try #require(d.rawDaemonStdout.split(separator: "\n").first { $0.contains("g/hi/0 stdout: hello") })
        let stamp = try #require(line.split(separator: " ").first)
        let at = try #require(tableMillis(String(stamp)), "\(line)")
        #expect(at >= before - 5 && at <= Int64(Date().timeIntervalSince1970 * 1000) + 5)
        #expect(line == "\(stamp) g/hi/0 stdout: hello")
    }

    @Test func jsonLinesUnderLogFormatJSON() throws {
        let d = try DaemonHarness(files: ["g.yaml": Self.talker])
        defer { d.stop() }
        try d.start(["--log-format", "json", "--color", "always"])
        try d.waitForStdout("hello")
        let line = try #require(d.rawDaemonStdout.split(separator: "\n").first)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "\(line)")
        #expect(object["id"] as? String == "g/hi/0")
        #expect(object["stream"] as? String == "stdout")
        #expect(object["msg"] as? String == "hello")
        #expect(tableMillis(object["at"]) != nil)
        #expect(!line.contains("\u{1B}"), "no colour in JSON")
    }

    @Test func colourIsAskedForOrFollowsTheTerminal() throws {
        let always = try DaemonHarness(files: ["g.yaml": Self.talker])
        defer { always.stop() }
        try always.start(["--color", "always"])
        try always.waitForStdout("stdout: hello")
        #expect(always.rawDaemonStdout.range(of: #"Z \x{1B}\[3[1-6]mg/hi/0\x{1B}\[0m stdout: hello"#, options: .regularExpression) != nil,
            "\(always.rawDaemonStdout.debugDescription)")
        let auto = try DaemonHarness(files: ["g.yaml": Self.talker])
        defer { auto.stop() }
        try auto.start()
        try auto.waitForStdout("stdout: hello")
        #expect(!auto.rawDaemonStdout.contains("\u{1B}"), "a file is no terminal")

        // In a pseudo-terminal: coloured, unless NO_COLOR says otherwise.
        let coloured = try Self.inTerminal(environment: [:])
        #expect(coloured.contains("\u{1B}[3"), "\(coloured.debugDescription)")
        let plain = try Self.inTerminal(environment: ["NO_COLOR": "1"])
        #expect(plain.contains("g/hi/0 stdout: hello") && !plain.contains("\u{1B}["), "\(plain.debugDescription)")
    }

    /// Runs `director run` on a pseudo-terminal (Python's pty), returns what it printed up to
    /// the child's line; the script stops the daemon (SIGTERM, then SIGKILL) by its pid.
    static func inTerminal(environment: [String: String]) throws -> String {
        let d = try DaemonHarness(files: ["g.yaml": talker])
        defer { d.stop() }
        let script = """
            import os, pty, select, signal, sys, time
            pid, fd = pty.fork()
            if pid == 0:
                os.execv(sys.argv[1], [sys.argv[1], "run", "--jobs", sys.argv[2], "--state", sys.argv[3]])
            out = b""
            deadline = time.time() + 20
            while b"stdout: hello" not in out and time.time() < deadline:
                r, _, _ = select.select([fd], [], [], 0.2)
                if r:
                    try:
                        out += os.read(fd, 4096)
                    except OSError:
                        break
            os.kill(pid, signal.SIGTERM)
            for _ in range(100):
                if os.waitpid(pid, os.WNOHANG)[0]: break
                time.sleep(0.05)
            else:
                os.kill(pid, signal.SIGKILL); os.waitpid(pid, 0)
            sys.stdout.write(out.decode("utf-8", "replace"))
            """
        // Without NO_COLOR unless asked: the test runner may set it (swift test does).
        let unset = environment["NO_COLOR"] == nil ? ["-u", "NO_COLOR"] : []
        let r = try CommandResult.run(
            ["/usr/bin/env"] + unset + ["/usr/bin/python3", "-c", script, DirectorBinary.path, d.jobs, d.state],
            environment: environment)
        #expect(r.status == 0, "\(r.stderr)")
        return r.stdout
    }

    /// Twenty children print a line and exit at once; each child's line comes before its
    /// exit line in one shared output (the daemon reads the pidfd first, so before, the
    /// line was often read in the turn after the exit was logged).
    @Test func aChildsLastLineComesBeforeItsExitLine() throws {
        let d = try DaemonHarness(files: ["g.yaml": """
            group: g
            jobs:
              - name: last
                command: "echo last words; exit 3"
                instances: 20
                restart: temporary
            """])
        defer { d.stop() }
        let combined = d.dir.path + "/combined.out"
        _ = FileManager.default.createFile(atPath: combined, contents: nil)
        let handle = try #require(FileHandle(forWritingAtPath: combined))
        let p = Process()
        p.executableURL = URL(fileURLWithPath: DirectorBinary.path)
        p.arguments = ["run", "--jobs", d.jobs, "--state", d.state]
        p.standardOutput = handle
        p.standardError = handle
        p.standardInput = FileHandle.nullDevice
        try p.run()
        defer { if p.isRunning { kill(p.processIdentifier, SIGKILL); p.waitUntilExit() } }
        let done = eventually("20 exits") {
            let text = (try? String(contentsOfFile: combined, encoding: .utf8)) ?? ""
            return text.components(separatedBy: " exited ").count == 21
        }
        kill(p.processIdentifier, SIGTERM)
        p.waitUntilExit()
        try #require(done)
        let lines = try String(contentsOfFile: combined, encoding: .utf8).split(separator: "\n")
        for i in 0..<20 {
            let id = "g/last/\(i)"
            let said = lines.firstIndex { $0.hasSuffix("\(id) stdout: last words") }
            let exited = lines.firstIndex { $0.contains(" \(id) exited ") }
            #expect(said != nil && exited != nil && said! < exited!, "\(id): line \(said ?? -1), exit \(exited ?? -1)")
        }
    }
}
