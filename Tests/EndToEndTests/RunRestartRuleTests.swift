import Foundation
import Testing

/// Restart decisions with real processes: delays and backoff visible in the table, `after`,
/// `wait` until an operator restarts, transient and temporary jobs, and the `stop` action.
@Suite(.serialized) struct RunRestartRuleTests {
    /// A shell command that exits `code` the first time (a marker file remembers it) and then
    /// sleeps, so a restarted child stays up.
    static func failOnce(_ marker: String, code: Int) -> String {
        "\"if [ -e \(marker) ]; then exec sleep 3600; else touch \(marker); exit \(code); fi\""
    }

    @Test func backoffIsVisibleAsStateWithNextRestartAt() throws {
        let d = try DaemonHarness(files: ["g.yaml": """
            group: g
            intensity: 100
            jobs:
              - name: crash
                command: "exit 1"
                backoff: {initial: 2s, max: 4s, factor: 2}
            """])
        defer { d.stop() }
        try d.start()
        let row = try d.waitForRow("g/crash/0", "in backoff") { $0["state"] as? String == "backoff" }
        let exitAt = try #require(tableMillis((row["last_exit"] as? [String: Any])?["at"]))
        let next = try #require(tableMillis(row["next_restart_at"]), "next_restart_at must be set: \(row)")
        // The first backoff step is `initial` (no jitter configured): exactly 2 s after the exit.
        #expect(next - exitAt == 2000, "next_restart_at \(next) vs exit \(exitAt)")
        // It does come back: the restart count grows, the second step is longer.
        let later = try d.waitForRow("g/crash/0", "second backoff") {
            ($0["restarts"] as? NSNumber)?.intValue == 2 && $0["state"] as? String == "backoff"
        }
        let exit2 = try #require(tableMillis((later["last_exit"] as? [String: Any])?["at"]))
        let next2 = try #require(tableMillis(later["next_restart_at"]))
        #expect(next2 - exit2 == 4000, "second step doubles: \(later)")
    }

    @Test func ruleWithAfterOverridesTheDelay() throws {
        let d = try DaemonHarness(files: ["g.yaml": """
            group: g
            jobs:
              - name: job
                command: \(Self.failOnce("MARK", code: 3))
                delay: 30s
                on_exit:
                  - when: {code: [3]}
                    do: restart
                    after: 1s
            """])
        defer { d.stop() }
        try d.start()
        let row = try d.waitForRow("g/job/0", "in backoff") { $0["state"] as? String == "backoff" }
        let exitAt = try #require(tableMillis((row["last_exit"] as? [String: Any])?["at"]))
        let next = try #require(tableMillis(row["next_restart_at"]))
        #expect(next - exitAt == 1000, "the rule's after (1s), not delay (30s): \(row)")
        // Well before the 30 s delay, the replacement runs.
        let running = try d.waitForRow("g/job/0", "restarted after 1s", timeout: 15) { $0["state"] as? String == "running" }
        #expect((running["restarts"] as? NSNumber)?.intValue == 1)
        let started = try #require(tableMillis(running["started_at"]))
        #expect(started >= next - 20, "not restarted before next_restart_at")
    }

    @Test func waitRuleThenOperatorRestart() throws {
        let d = try DaemonHarness(files: ["g.yaml": """
            group: g
            jobs:
              - name: job
                command: \(Self.failOnce("MARK", code: 2))
                on_exit:
                  - when: {code: [2]}
                    do: wait
            """])
        defer { d.stop() }
        try d.start()
        let waiting = try d.waitForRow("g/job/0", "waiting") { $0["state"] as? String == "waiting" }
        #expect(((waiting["last_exit"] as? [String: Any])?["code"] as? NSNumber)?.intValue == 2)
        // It stays waiting: nothing restarts it on its own.
        usleep(500_000)
        #expect(try d.row("g/job/0")?["state"] as? String == "waiting")

        let r = try d.cli("restart", ["g/job/0"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("g/job/0"))
        let running = try d.waitForRow("g/job/0", "running after restart") { $0["state"] as? String == "running" }
        #expect((running["restarts"] as? NSNumber)?.intValue == 0, "an operator restart resets the count")
    }

    @Test func transientRestartsOnErrorAndWaitsOnCleanExit() throws {
        let d = try DaemonHarness(files: ["g.yaml": """
            group: g
            jobs:
              - name: job
                command: "if [ -e MARK ]; then exit 0; else touch MARK; exit 4; fi"
                restart: transient
            """])
        defer { d.stop() }
        try d.start()
        // Exit 4 → restart; then exit 0 → wait.
        let row = try d.waitForRow("g/job/0", "waiting after clean exit") { $0["state"] as? String == "waiting" }
        #expect((row["restarts"] as? NSNumber)?.intValue == 1)
        #expect(((row["last_exit"] as? [String: Any])?["code"] as? NSNumber)?.intValue == 0)
        let kinds = try d.events().filter { $0["id"] as? String == "g/job/0" }.compactMap { $0["kind"] as? String }
        #expect(kinds == ["start", "exit", "restart", "start", "exit", "wait"], "\(kinds)")
    }

    @Test func temporaryChildIsDeletedWhenItExits() throws {
        let d = try DaemonHarness(files: ["g.yaml": """
            group: g
            jobs:
              - name: once
                command: "exit 1"
                restart: temporary
              - name: stays
                command: ["sleep", "3600"]
            """])
        defer { d.stop() }
        try d.start()
        try d.waitForEvent("once deleted") { $0["id"] as? String == "g/once/0" && $0["kind"] as? String == "delete" }
        let rows = try d.waitRunning(1, prefix: "g")
        #expect(rows.map(\.id) == ["g/stays/0"], "the temporary child left the table")
        #expect(try d.events().filter { $0["id"] as? String == "g/once/0" && $0["kind"] as? String == "start" }.count == 1)
    }

    @Test func stopActionFailsTheGroupAndTheRootRestartsItWhole() throws {
        let d = try DaemonHarness(files: ["g.yaml": """
            group: g
            jobs:
              - name: steady
                command: ["sleep", "3600"]
              - name: fatal
                # Fails once, after the test has seen the first processes.
                command: "if [ -e MARK ]; then exec sleep 3600; else touch MARK; sleep 2; exit 5; fi"
                on_exit:
                  - when: {code: [5]}
                    do: stop
            """, "other.yaml": """
            group: other
            jobs:
              - name: bystander
                command: ["sleep", "3600"]
            """])
        defer { d.stop() }
        try d.start()
        let before = try d.waitRunning(1, prefix: "g/steady")
        #expect(try d.events().filter { $0["kind"] as? String == "group_failed" }.isEmpty, "too late to see the first pids")
        let bystander = try d.waitRunning(1, prefix: "other")
        try d.waitForEvent("group g failed") { $0["id"] as? String == "g" && $0["kind"] as? String == "group_failed" }
        let after = try d.waitFor("g restarted whole", prefix: "g") { rows in
            rows.count == 2 && rows.allSatisfy { $0.state == "running" }
                && rows.first { $0.id == "g/steady/0" }?.pid != before[0].pid
        }
        #expect(Set(after.map(\.id)) == ["g/fatal/0", "g/steady/0"])
        #expect(try d.children(prefix: "other") == bystander, "a sibling group of the root is untouched (one_for_one)")
        #expect(d.process?.isRunning == true, "one group failure is within the root's intensity")
    }

    @Test func rootFailureStopsEverythingAndExitsOne() throws {
        let d = try DaemonHarness(files: ["a.yaml": """
            group: a
            jobs:
              - name: steady
                command: ["sleep", "3600"]
            """, "b.yaml": """
            group: b
            intensity: 1
            jobs:
              - name: crash
                command: ["sh", "-c", "sleep 0.2; exit 1"]
            """])
        defer { d.stop() }
        try d.start(["--intensity", "1", "--root-failure", "exit"])
        let steady = try d.waitRunning(1, prefix: "a")
        #expect(d.waitExit(timeout: 30) == 1)
        #expect(ProcFS.waitGone(steady[0].pid!), "every child is stopped when the root fails")
        let log = d.daemonStderr
        #expect(log.contains("director stopped status=1"), "\(log.suffix(1500))")
        let rows = try d.children()
        #expect(rows.allSatisfy { $0.pid == nil }, "\(rows)")
    }

    @Test func operatorRestartCutsABackoffShort() throws {
        let d = try DaemonHarness(files: ["g.yaml": """
            group: g
            jobs:
              - name: job
                command: \(Self.failOnce("MARK", code: 1))
                delay: 120s
            """])
        defer { d.stop() }
        try d.start()
        try d.waitForRow("g/job/0", "in backoff") { $0["state"] as? String == "backoff" }
        let r = try d.cli("restart", ["g/job/0"])
        #expect(r.status == 0, "\(r.stderr)")
        let row = try d.waitForRow("g/job/0", "running long before 120 s") { $0["state"] as? String == "running" }
        #expect((row["restarts"] as? NSNumber)?.intValue == 0)
        #expect(row["next_restart_at"] == nil || row["next_restart_at"] is NSNull)
    }

    @Test func operatorStopDuringBackoffCancelsTheRestart() throws {
        let d = try DaemonHarness(files: ["g.yaml": """
            group: g
            jobs:
              - name: job
                command: "exit 1"
                delay: 1s
            """])
        defer { d.stop() }
        try d.start()
        try d.waitForRow("g/job/0", "in backoff") { $0["state"] as? String == "backoff" }
        let r = try d.cli("stop", ["g/job/0"])
        #expect(r.status == 0, "\(r.stderr)")
        try d.waitForRow("g/job/0", "stopped") { $0["state"] as? String == "stopped" }
        // Past the 1 s delay, the cancelled timer has not started it.
        usleep(2_000_000)
        let row = try #require(try d.row("g/job/0"))
        #expect(row["state"] as? String == "stopped")
        #expect(try d.events().filter { $0["id"] as? String == "g/job/0" && $0["kind"] as? String == "start" }.count == 1)
    }
}
