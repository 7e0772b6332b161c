import Foundation
import Testing

/// Issue 13 with real processes: OTP's treatment of temporary children and of the stop order
/// when a group escalates, the root policy (`--root-failure give-up|exit`), and waiting
/// children across a daemon restart. Every process started is cleaned up by `DaemonHarness`
/// (the daemon by pid, children by the process groups recorded in the table).
@Suite(.serialized) struct EngineSemanticsTests {
    /// OTP: one_for_all [a, b temporary, c], `kill -9 a` → a and c start again, b is gone.
    @Test func temporaryChildStoppedByOneForAllIsRemoved() throws {
        let d = try DaemonHarness(files: ["g.yaml": """
            group: g
            strategy: one_for_all
            jobs:
              - name: a
                command: ["sleep", "3600"]
              - name: b
                command: ["sleep", "3600"]
                restart: temporary
              - name: c
                command: ["sleep", "3600"]
            """])
        defer { d.stop() }
        try d.start()
        let rows = try d.waitRunning(3)
        let before = Dictionary(uniqueKeysWithValues: rows.map { ($0.id, $0.pid!) })
        kill(before["g/a/0"]!, SIGKILL)
        let after = try d.waitFor("a and c restarted, b gone") { rows in
            rows.map(\.id) == ["g/a/0", "g/c/0"] && rows.allSatisfy { $0.state == "running" && $0.pid != nil }
                && rows.allSatisfy { $0.pid != before[$0.id] }
        }
        #expect(after.count == 2)
        #expect(eventually("b's process is gone") { !ProcFS.isAlive(before["g/b/0"]!) })
        let events = try d.events()
        let delete = events.first { $0["id"] as? String == "g/b/0" && $0["kind"] as? String == "delete" }
        #expect((delete?["detail_text"] as? String)?.contains("temporary") == true, "\(events.suffix(10))")
        // Still gone a moment later: nothing starts it again.
        usleep(300_000)
        #expect(try d.children().map(\.id) == ["g/a/0", "g/c/0"])
    }

    /// OTP: g one_for_all [x, in [p, q], y], `kill in/p` with `in` at intensity 0 → the stop
    /// order is q (in stops itself), then y, x (g's siblings, reverse order).
    @Test func escalatingNestedGroupStopsItsOwnChildrenFirst() throws {
        let d = try DaemonHarness(files: ["g.yaml": """
            group: g
            strategy: one_for_all
            jobs:
              - name: x
                command: ["sleep", "3600"]
              - group:
                  name: in
                  intensity: 0
                  jobs:
                    - name: p
                      command: ["sleep", "3600"]
                    - name: q
                      command: ["sleep", "3600"]
              - name: y
                command: ["sleep", "3600"]
            """])
        defer { d.stop() }
        try d.start()
        let rows = try d.waitRunning(4)
        let before = Dictionary(uniqueKeysWithValues: rows.map { ($0.id, $0.pid!) })
        kill(before["g/in/p/0"]!, SIGKILL)
        try d.waitFor("everything restarted") { rows in
            rows.count == 4 && rows.allSatisfy { $0.state == "running" && $0.pid != nil && $0.pid != before[$0.id] }
        }
        let stops = try d.events().filter { $0["kind"] as? String == "stop" }.compactMap { $0["id"] as? String }
        #expect(stops == ["g/in/q/0", "g/y/0", "g/x/0"])
        for (id, pid) in before { #expect(!ProcFS.isAlive(pid), "\(id)'s old process must be gone") }
    }

    static let good = """
        group: good
        jobs:
          - name: sleeper
            command: ["sleep", "3600"]
        """

    static func bad(_ program: String) -> String {
        """
        group: bad
        jobs:
          - name: tool
            command: ["\(program)"]
        """
    }

    /// The issue's new-user scenario: `good.yaml` and `bad.yaml` (a missing binary), all
    /// defaults. The default root policy gives `bad` up and leaves `good` alone; once the
    /// binary exists, `director start bad` starts it again with a fresh window.
    @Test func oneBrokenGroupIsGivenUpAndTheOthersKeepRunning() throws {
        let bin = try TemporaryDirectory()
        let program = bin.path + "/tool"
        let d = try DaemonHarness(files: ["good.yaml": Self.good, "bad.yaml": Self.bad(program)])
        defer { d.stop() }
        try d.start()
        let good = try d.waitRunning(1, prefix: "good")
        try d.waitForStderr(" bad given up:")
        #expect(d.runningDaemonPID != nil, "the daemon keeps running")
        #expect(d.waitExit(timeout: 0.5) == nil)
        let now = try d.children()
        #expect(now.first { $0.id == "good/sleeper/0" }?.pid == good[0].pid, "good is untouched")
        #expect(now.first { $0.id == "bad/tool/0" }.map { $0.state == "stopped" && $0.pid == nil } == true)
        let ps = try d.cli("ps")
        #expect(ps.stdout.contains("group bad failed:"), "\(ps.stdout)")
        let line = d.daemonStderr.split(separator: "\n").first { $0.contains(" bad given up:") }
        #expect(line?.contains(" error ") == true, "\(line ?? "")")
        #expect(line?.contains("intensity") == true || line?.contains("restarts") == true, "\(line ?? "")")

        // Fix the job, then start the group again.
        try bin.write("tool", executable: true, "#!/bin/sh\nexec sleep 3600\n")
        let r = try d.cli("start", ["bad"])
        #expect(r.status == 0, "\(r.stderr)")
        let rows = try d.waitRunning(2)
        #expect(rows.first { $0.id == "good/sleeper/0" }?.pid == good[0].pid)
        let ps2 = try d.cli("ps")
        // The group line is gone (LAST EXIT still says `code=127 (spawn_failed)`: the last exit was one).
        #expect(!ps2.stdout.contains("group bad failed"), "\(ps2.stdout)")
    }

    /// Dropping a broken manifest into a running daemon's jobs directory gives that group up
    /// through hot reload, and nothing else.
    @Test func aBrokenGroupAddedByReloadIsGivenUp() throws {
        let d = try DaemonHarness(files: ["good.yaml": Self.good])
        defer { d.stop() }
        try d.start()
        let good = try d.waitRunning(1)
        try d.write("bad.yaml", Self.bad("/nonexistent/director-test/tool"))
        #expect(try d.cli("reload").status == 0)
        try d.waitForStderr(" bad given up:")
        #expect(d.waitExit(timeout: 0.5) == nil, "the daemon keeps running")
        #expect(try d.children(prefix: "good").first?.pid == good[0].pid)
    }

    /// `--root-failure exit` keeps OTP's behaviour: every child stops, exit status 1.
    @Test func rootFailureExitStopsTheTreeWithStatusOne() throws {
        let d = try DaemonHarness(files: ["good.yaml": Self.good, "bad.yaml": Self.bad("/nonexistent/director-test/tool")])
        defer { d.stop() }
        try d.start(["--root-failure", "exit"])
        #expect(d.waitExit(timeout: 20) == 1)
        #expect(d.daemonStderr.contains("root supervisor failed"), "\(d.daemonStderr.suffix(2000))")
    }

    /// A waiting child stays waiting across a daemon restart (as an operator's stop does), with
    /// its last exit and restart count, until its job's manifest changes.
    @Test func waitingChildStaysWaitingAcrossARestart() throws {
        let dir = try TemporaryDirectory()
        let runs = dir.path + "/runs"
        let manifest = { (tag: String) in
            """
            group: flaky
            jobs:
              - name: flaky
                command: ["/bin/sh", "-c", "echo run >> \(runs); exit 0"]
                restart: transient
                env: {TAG: "\(tag)"}
            """
        }
        let d = try DaemonHarness(files: ["flaky.yaml": manifest("1")])
        defer { d.stop() }
        try d.start()
        let first = try d.waitForRow("flaky/flaky/0", "waiting") { $0["state"] as? String == "waiting" }
        #expect((first["last_exit"] as? [String: Any])?["code"] as? Int == 0)
        d.signal(SIGTERM)
        #expect(d.waitExit() == 0)

        try d.start()
        try d.waitForStderr("director ")
        usleep(700_000)
        let row = try #require(try d.row("flaky/flaky/0"))
        #expect(row["state"] as? String == "waiting")
        #expect((row["last_exit"] as? [String: Any])?["code"] as? Int == 0, "\(row)")
        #expect((row["last_exit"] as? [String: Any])?["at"] as? String == (first["last_exit"] as? [String: Any])?["at"] as? String)
        let lines = (try? String(contentsOfFile: runs, encoding: .utf8))?.split(separator: "\n").count
        #expect(lines == 1, "the waiting child must not run again")

        // A change of its job's manifest ends the wait.
        d.signal(SIGTERM)
        #expect(d.waitExit() == 0)
        try d.write("flaky.yaml", manifest("2"))
        try d.start()
        #expect(eventually("the changed job runs again") {
            ((try? String(contentsOfFile: runs, encoding: .utf8))?.split(separator: "\n").count ?? 0) == 2
        })
    }

    /// The daemon logs what `validate` warns about, at start and at reload (point 5).
    @Test func theDaemonLogsTheWarningsAtStartAndReload() throws {
        let d = try DaemonHarness(files: ["good.yaml": """
            group: good
            jobs:
              - name: s
                command: ["sleep", "3600"]
            """, "w.yaml": ValidateWarningTests.manifest(program: "director-no-such-program")])
        defer { d.stop() }
        try d.start()
        let text = try d.waitForStderr("is not found on the PATH")
        let line = text.split(separator: "\n").first { $0.contains("is not found on the PATH") }
        #expect(line?.contains(" warning w/job ") == true, "\(line ?? "")")
        #expect(line?.contains(d.jobs + "/w.yaml:3:") == true, "\(line ?? "")")
        try d.waitRunning(1, prefix: "good")
        try d.write("w.yaml", ValidateWarningTests.manifest(program: "sleep", cwd: "/nonexistent/director-cwd"))
        #expect(try d.cli("reload").status == 0)
        try d.waitForStderr("reload (control): " + d.jobs + "/w.yaml:3:")
        #expect(d.daemonStderr.contains("cwd /nonexistent/director-cwd does not exist"))
    }
}
