import Foundation
import Testing

/// What a person at a terminal sees (issue 16): `ps` in colour only on a terminal, `ps
/// --watch` redrawn in place and ended by Ctrl-C with status 0, and `make run` ended by Ctrl-C
/// without make's `*** … Interrupt`. Each runs on a pseudo-terminal (Scripts/pty_run.py);
/// Ctrl-C is typed, so the terminal sends SIGINT to the foreground process group as a
/// keyboard does.
@Suite(.serialized) struct TerminalTests {
    struct Run {
        var output: String
        var exited: Bool
        var status: Int?
        var signal: Int?
    }

    /// Runs `argv` on a pseudo-terminal until `waitFor` has been printed `count` times
    /// (at most `limit` seconds), then types Ctrl-C when asked and waits for the exit.
    static func onTerminal(
        _ argv: [String], cwd: String = "/", waitFor: String = "\u{0}", count: Int = 1, ctrlC: Bool = false,
        limit: Double = 20, environment: [String: String] = [:]
    ) throws -> Run {
        let script = RepoPaths.root + "/Tests/EndToEndTests/Scripts/pty_run.py"
        // swift test sets NO_COLOR; a person's terminal does not unless asked.
        let unset = environment["NO_COLOR"] == nil ? ["-u", "NO_COLOR"] : []
        let r = try CommandResult.run(
            ["/usr/bin/env"] + unset + ["/usr/bin/python3", script, cwd, waitFor, String(count), ctrlC ? "1" : "0", String(limit), "--"] + argv,
            environment: environment)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any], "\(r.stderr)")
        return Run(
            output: object["output"] as? String ?? "", exited: object["exited"] as? Bool ?? false,
            status: (object["status"] as? NSNumber)?.intValue, signal: (object["signal"] as? NSNumber)?.intValue)
    }

    static func daemon(_ tag: TaggedProcesses) throws -> DaemonHarness {
        let d = try DaemonHarness(files: ["t.yaml": """
            group: t
            jobs:
              - name: up
                command: ["sleep", "3600"]
                \(tag.envLine)
              - name: done
                command: "exit 0"
                restart: transient
                \(tag.envLine)
            """])
        try d.start()
        try d.waitFor("up running, done waiting") { rows in
            rows.contains { $0.id == "t/up/0" && $0.state == "running" } && rows.contains { $0.id == "t/done/0" && $0.state == "waiting" }
        }
        return d
    }

    @Test func psColoursTheStateOnATerminalOnly() throws {
        let tag = TaggedProcesses()
        let d = try Self.daemon(tag)
        defer { d.stop(); tag.killAll() }
        let ps = [DirectorBinary.path, "ps", "--state", d.state]

        let coloured = try Self.onTerminal(ps, waitFor: "t/up/0")
        #expect(coloured.status == 0, "\(coloured)")
        #expect(coloured.output.contains("\u{1B}[32mrunning\u{1B}[0m"), "\(coloured.output.debugDescription)")
        #expect(coloured.output.contains("\u{1B}[31mwaiting\u{1B}[0m"), "\(coloured.output.debugDescription)")

        let noColor = try Self.onTerminal(ps, waitFor: "t/up/0", environment: ["NO_COLOR": "1"])
        #expect(noColor.output.contains("t/up/0") && !noColor.output.contains("\u{1B}["), "\(noColor.output.debugDescription)")
        let never = try Self.onTerminal(ps + ["--color", "never"], waitFor: "t/up/0")
        #expect(!never.output.contains("\u{1B}["), "\(never.output.debugDescription)")

        // Not a terminal: plain unless forced.
        let piped = try d.cli("ps")
        #expect(!piped.stdout.contains("\u{1B}["))
        let forced = try d.cli("ps", ["--color", "always"])
        #expect(forced.stdout.contains("\u{1B}[32mrunning\u{1B}[0m"), "\(forced.stdout.debugDescription)")
    }

    @Test func watchRedrawsInPlaceAndCtrlCEndsItWithStatusZero() throws {
        let tag = TaggedProcesses()
        let d = try Self.daemon(tag)
        defer { d.stop(); tag.killAll() }
        // Three frames drawn, then Ctrl-C.
        let run = try Self.onTerminal(
            [DirectorBinary.path, "ps", "--watch", "--interval", "200ms", "--state", d.state], waitFor: "every 200ms: ", count: 3,
            ctrlC: true)
        #expect(run.exited && run.status == 0, "Ctrl-C is the way out: \(run)")
        let out = run.output
        #expect(out.hasPrefix("\u{1B}[?25l"), "the cursor is hidden while it draws: \(out.prefix(40).debugDescription)")
        #expect(out.hasSuffix("\u{1B}[?25h\r\n"), "and given back at the end: \(out.suffix(40).debugDescription)")
        // Each frame starts at the top left and clears what the last one left.
        let frames = out.components(separatedBy: "\u{1B}[H").dropFirst()
        #expect(frames.count >= 3, "\(out.debugDescription)")
        for frame in frames.dropLast() {
            #expect(frame.hasPrefix("every 200ms: "), "\(frame.debugDescription)")
            #expect(frame.contains("\u{1B}[J"), "the rest of the screen cleared")
            #expect(frame.contains("\u{1B}[32mrunning"), "coloured on a terminal")
            // In place: no frame scrolls, every line is cleared to its end.
            for line in frame.components(separatedBy: "\r\n").dropLast() { #expect(line.hasSuffix("\u{1B}[K"), "\(line.debugDescription)") }
        }
    }

    @Test func watchCutsLinesToTheTerminalWidth() throws {
        let tag = TaggedProcesses()
        let d = try Self.daemon(tag)
        defer { d.stop(); tag.killAll() }
        // `stty cols 40` on the pseudo-terminal, then the watch in the same terminal.
        let run = try Self.onTerminal(
            ["/bin/sh", "-c", "stty cols 40 rows 10 && exec \"$0\" ps --watch --wide --interval 200ms --state \"$1\"", DirectorBinary.path, d.state],
            waitFor: "every 200ms: ", count: 2, ctrlC: true)
        #expect(run.status == 0, "\(run)")
        let frame = try #require(run.output.components(separatedBy: "\u{1B}[H").dropFirst().first)
        for line in frame.components(separatedBy: "\r\n").dropLast() {
            let visible = TerminalTests.visible(line)
            #expect(visible.count <= 40, "\(visible.count) columns: \(visible)")
        }
    }

    @Test func makeRunEndsCleanlyOnCtrlC() throws {
        let dir = try TemporaryDirectory()
        try FileManager.default.createDirectory(atPath: dir.path + "/jobs", withIntermediateDirectories: true)
        let tag = TaggedProcesses()
        try dir.write("jobs/m.yaml", """
            group: m
            jobs:
              - name: s
                command: ["sleep", "3600"]
                \(tag.envLine)
            """)
        defer { tag.killAll(); CgroupProbe.removeDaemonCgroups(stateDirectory: dir.path + "/state") }
        // `-o build -o deps`: the run recipe as it is, without its build step, which would
        // relink the director binary other tests are running (it is built: the tests are).
        // --ignore-lock: `swift test` holds the lock on .build while this test runs.
        let path = "/opt/swift/usr/bin:" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
        let run = try Self.onTerminal(
            ["/usr/bin/env", "PATH=" + path, "make", "-o", "build", "-o", "deps", "run", "JOBS=" + dir.path + "/jobs", "STATE=" + dir.path + "/state", "SWIFTPM_FLAGS=--ignore-lock"],
            cwd: RepoPaths.root, waitFor: "m/s/0 started pid=", ctrlC: true, limit: 600)
        #expect(run.output.contains("m/s/0 started pid="), "\(run.output.suffix(3000))")
        #expect(run.output.contains("director stopped status=0"), "the tree stopped: \(run.output.suffix(2000))")
        // The daemon exited 0, so make has nothing to report: no `make: *** [run] Interrupt`.
        #expect(!run.output.contains("make: ***"), "\(run.output.suffix(2000))")
        #expect(tag.live().isEmpty, "the child stopped with the tree")
    }

    /// `text` without its SGR and cursor sequences.
    static func visible(_ text: String) -> String {
        var out = ""
        var escape = false
        for ch in text {
            if escape {
                if ch.isLetter { escape = false }
            } else if ch == "\u{1B}" {
                escape = true
            } else {
                out.append(ch)
            }
        }
        return out
    }
}
