import Foundation
import Testing

/// Stopping children and the daemon: the job's shutdown signal, SIGKILL after the timeout,
/// `timeout: 0s`, SIGINT once and twice, and `director shutdown`.
@Suite(.serialized) struct RunShutdownTests {
    /// A job whose process group ignores SIGTERM (the shell and its `sleep`), says so on
    /// stdout once the trap is set, and keeps running.
    static func stubborn(timeout: String) -> String {
        """
        group: g
        jobs:
          - name: stubborn
            command: "trap '' TERM; echo trapped; while true; do sleep 0.2; done"
            shutdown: {signal: TERM, timeout: \(timeout)}
          - name: polite
            command: ["sleep", "3600"]
        """
    }

    @Test func childIgnoringTermIsKilledAfterItsTimeout() throws {
        let d = try DaemonHarness(files: ["g.yaml": Self.stubborn(timeout: "1s")])
        defer { d.stop() }
        try d.start()
        try d.waitRunning(2, prefix: "g")
        try d.waitForStdout("g/stubborn/0 stdout: trapped")
        let started = Date()
        let r = try d.cli("stop", ["g/stubborn/0"])
        #expect(r.status == 0, "\(r.stderr)")
        // Still alive while the timeout runs: TERM alone does not stop it.
        usleep(300_000)
        #expect(try d.row("g/stubborn/0")?["state"] as? String == "stopping")
        let row = try d.waitForRow("g/stubborn/0", "stopped") { $0["state"] as? String == "stopped" }
        #expect(Date().timeIntervalSince(started) >= 0.9, "the 1 s timeout is honoured before SIGKILL")
        #expect((row["last_exit"] as? [String: Any])?["signal"] as? String == "KILL")
        #expect(d.daemonStderr.contains("shutdown timeout"), "the log says why it was killed")
        #expect(try d.row("g/polite/0")?["state"] as? String == "running")
    }

    @Test func timeoutZeroKillsAtOnce() throws {
        let d = try DaemonHarness(files: ["g.yaml": Self.stubborn(timeout: "0s")])
        defer { d.stop() }
        try d.start()
        try d.waitRunning(2, prefix: "g")
        try d.waitForStdout("g/stubborn/0 stdout: trapped")
        let r = try d.cli("stop", ["g/stubborn/0"])
        #expect(r.status == 0, "\(r.stderr)")
        let row = try d.waitForRow("g/stubborn/0", "stopped") { $0["state"] as? String == "stopped" }
        #expect((row["last_exit"] as? [String: Any])?["signal"] as? String == "KILL", "\(row)")
    }

    @Test func oneSigintStopsGracefullyAndExitsZero() throws {
        let d = try DaemonHarness(files: ["g.yaml": Self.stubborn(timeout: "1s")])
        defer { d.stop() }
        try d.start()
        let rows = try d.waitRunning(2, prefix: "g")
        try d.waitForStdout("g/stubborn/0 stdout: trapped")
        d.signal(SIGINT)
        #expect(d.waitExit(timeout: 20) == 0)
        for row in rows { #expect(ProcFS.waitGone(row.pid!), "\(row.id) is gone") }
        let after = try d.children()
        #expect(after.allSatisfy { $0.state == "stopped" && $0.pid == nil }, "\(after)")
        #expect(after.first { $0.id == "g/polite/0" }?.lastExit?["signal"] as? String == "TERM")
        #expect(after.first { $0.id == "g/stubborn/0" }?.lastExit?["signal"] as? String == "KILL")
    }

    @Test func secondSigintKillsAtOnce() throws {
        let d = try DaemonHarness(files: ["g.yaml": Self.stubborn(timeout: "120s")])
        defer { d.stop() }
        try d.start()
        let rows = try d.waitRunning(2, prefix: "g")
        try d.waitForStdout("g/stubborn/0 stdout: trapped")
        d.signal(SIGINT)
        try d.waitForRow("g/stubborn/0", "stopping") { $0["state"] as? String == "stopping" }
        #expect(d.process?.isRunning == true, "the first interrupt waits for the 120 s timeout")
        let second = Date()
        d.signal(SIGINT)
        #expect(d.waitExit(timeout: 20) == 0)
        #expect(Date().timeIntervalSince(second) < 60, "far sooner than the 120 s timeout")
        for row in rows { #expect(ProcFS.waitGone(row.pid!), "\(row.id) is gone") }
        #expect(d.daemonStderr.contains("second interrupt"))
    }

    @Test func shutdownCommandReturnsAfterTheDaemonExited() throws {
        let d = try DaemonHarness(files: ["g.yaml": Self.stubborn(timeout: "1s")])
        defer { d.stop() }
        try d.start()
        let rows = try d.waitRunning(2, prefix: "g")
        try d.waitForStdout("g/stubborn/0 stdout: trapped")
        let r = try d.cli("shutdown")
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("stopped"))
        // By the time the command returned, every child and the daemon itself are gone.
        for row in rows { #expect(!ProcFS.isAlive(row.pid!), "\(row.id) must already be gone") }
        #expect(!ProcFS.isAlive(d.daemonPID!))
        #expect(d.waitExit(timeout: 5) == 0)
        let again = try d.cli("shutdown")
        #expect(again.status == 1, "no daemon any more")
    }

    @Test func shutdownCommandDoesNotWaitForTheParentToReapTheDaemon() throws {
        // The daemon's parent never reaps it (`exec sleep` replaces the shell that started
        // it): once stopped it is a zombie, and `director shutdown` must still return.
        let d = try DaemonHarness(files: ["g.yaml": Self.stubborn(timeout: "1s")])
        try d.dir.write("parent.sh", executable: true, """
            #!/bin/sh
            "$1" run --jobs "$2" --state "$3" >"$4" 2>"$5" </dev/null &
            echo $! > "$6"
            exec sleep 120
            """)
        let parent = Process()
        parent.executableURL = URL(fileURLWithPath: d.dir.path + "/parent.sh")
        let pidFile = d.dir.path + "/daemon.pid"
        parent.arguments = [DirectorBinary.path, d.jobs, d.state, d.stdoutPath, d.stderrPath, pidFile]
        try parent.run()
        let daemonPID = { () -> Int32? in
            (try? String(contentsOfFile: pidFile, encoding: .utf8)).flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        }
        defer {
            // The daemon is not the harness's: end it (and its children) by its own pid.
            if let pid = daemonPID(), ProcFS.isAlive(pid) { kill(pid, SIGTERM); if !ProcFS.waitGone(pid) { kill(pid, SIGKILL) } }
            kill(parent.processIdentifier, SIGKILL)
            parent.waitUntilExit()
            d.stop()
        }
        let rows = try d.waitRunning(2, prefix: "g")
        let r = try d.cli("shutdown", ["--wait", "20"])
        #expect(r.status == 0, "\(r.stderr)")
        for row in rows { #expect(!ProcFS.isAlive(row.pid!)) }
        let pid = try #require(daemonPID())
        #expect(!ProcFS.isAlive(pid), "the daemon has exited (a zombie of a careless parent)")
    }

    @Test func shutdownDoesNotWaitForChildrenInBackoffOrWaiting() throws {
        let d = try DaemonHarness(files: ["g.yaml": """
            group: g
            intensity: 100
            jobs:
              - name: crash
                command: "exit 1"
                delay: 60s
              - name: done
                command: "exit 0"
                restart: transient
              - name: empty
                command: ["sleep", "3600"]
                instances: 0
            """])
        defer { d.stop() }
        try d.start()
        try d.waitFor("backoff and waiting", prefix: "g") { rows in
            rows.map(\.state).sorted() == ["backoff", "waiting"]
        }
        let sent = Date()
        d.signal(SIGTERM)
        #expect(d.waitExit(timeout: 20) == 0)
        #expect(Date().timeIntervalSince(sent) < 30, "not held up by the 60 s restart delay")
        #expect(try d.children().allSatisfy { $0.pid == nil })
    }

    /// Trees in which nothing runs: an empty pool, a temporary job that is gone, no job at all.
    static let idleTrees = [
        "group: g\njobs:\n  - name: job\n    command: [\"sleep\", \"3600\"]\n    instances: 0\n",
        "group: g\njobs:\n  - name: job\n    command: \"exit 0\"\n    restart: temporary\n",
        "group: g\njobs: []\n",
    ]

    @Test(arguments: idleTrees)
    func shutdownWithNoLiveChildExits(_ manifest: String) throws {
        let d = try DaemonHarness(files: ["g.yaml": manifest])
        defer { d.stop() }
        try d.start()
        try d.waitForStderr("director ")
        try d.waitFor("no live child", prefix: "g") { $0.allSatisfy { $0.pid == nil } }
        usleep(300_000)
        let r = try d.cli("shutdown", ["--wait", "20"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(d.waitExit(timeout: 5) == 0, "\(d.daemonStderr.suffix(1000))")
    }
}
