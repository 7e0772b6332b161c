import Foundation
import Testing

/// The daemon's own log: JSON lines, per-job event switches and a rule's `log: false` (hidden
/// from the log, still in `director events`), and `--trace`.
@Suite(.serialized) struct RunLoggingTests {
    @Test func jsonLogIsOneObjectPerLineWithAtLevelIdMsg() throws {
        let d = try DaemonHarness(files: ["g.yaml": """
            group: g
            jobs:
              - name: job
                command: "if [ -e MARK ]; then exec sleep 3600; else touch MARK; exit 1; fi"
            """])
        defer { d.stop() }
        try d.start(["--log-format", "json"])
        try d.waitFor("restarted", prefix: "g") { $0.first?.state == "running" && $0.first?.restarts == 1 }
        d.signal(SIGTERM)
        #expect(d.waitExit() == 0)

        let lines = d.daemonStderr.split(separator: "\n")
        #expect(lines.count >= 6, "\(lines)")
        var objects: [[String: Any]] = []
        for line in lines {
            let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            #expect(object != nil, "not a JSON object: \(line)")
            if let object { objects.append(object) }
        }
        for o in objects {
            #expect(tableMillis(o["at"]) != nil, "at is RFC 3339 with ms: \(o)")
            #expect(["debug", "info", "warning", "error"].contains(o["level"] as? String ?? ""), "\(o)")
            #expect(!(o["msg"] as? String ?? "").isEmpty, "\(o)")
        }
        let about = objects.filter { $0["id"] as? String == "g/job/0" }.map { $0["msg"] as? String ?? "" }
        #expect(about.contains { $0.hasPrefix("started pid=") }, "\(about)")
        #expect(about.contains { $0.hasPrefix("exited") && $0.contains("code=1") }, "\(about)")
        #expect(objects.contains { $0["id"] as? String == "g/job/0" && $0["level"] as? String == "warning" }, "a crash is a warning")
        // Daemon-wide lines have no id.
        #expect(objects.contains { $0["id"] == nil && ($0["msg"] as? String ?? "").hasPrefix("director ") })
    }

    @Test func eventSwitchesAndRuleLogFalseHideLinesButKeepEvents() throws {
        let d = try DaemonHarness(files: ["g.yaml": """
            group: g
            jobs:
              - name: quiet
                command: ["sleep", "3600"]
                log:
                  events: {start: false, stop: false}
              - name: hushed
                command: "if [ -e MARK ]; then exec sleep 3600; else touch MARK; exit 7; fi"
                on_exit:
                  - when: {code: [7]}
                    do: restart
                    log: false
              - name: loud
                command: ["sleep", "3600"]
            """])
        defer { d.stop() }
        try d.start()
        try d.waitFor("all running, hushed restarted", prefix: "g") { rows in
            rows.count == 3 && rows.allSatisfy { $0.state == "running" }
                && rows.first { $0.id == "g/hushed/0" }?.restarts == 1
        }
        let stop = try d.cli("stop", ["g/quiet/0", "g/loud/0"])
        #expect(stop.status == 0, "\(stop.stderr)")
        try d.waitFor("both stopped", prefix: "g") { rows in
            rows.filter { $0.state == "stopped" }.map(\.id) == ["g/loud/0", "g/quiet/0"]
        }
        let events = try d.events()
        func kinds(_ id: String) -> [String] {
            events.filter { $0["id"] as? String == id }.compactMap { $0["kind"] as? String }
        }
        // Every event is recorded ...
        #expect(kinds("g/quiet/0").contains("start") && kinds("g/quiet/0").contains("stop"), "\(kinds("g/quiet/0"))")
        #expect(kinds("g/hushed/0") == ["start", "exit", "restart", "start"], "\(kinds("g/hushed/0"))")
        // ... but only the logged ones reach the daemon log.
        let quiet = d.logLines(about: "g/quiet/0")
        #expect(!quiet.contains { $0.contains(" started ") || $0.contains(" stopping ") }, "\(quiet)")
        let hushed = d.logLines(about: "g/hushed/0")
        #expect(!hushed.contains { $0.contains(" exited ") || $0.contains(" restarting ") }, "\(hushed)")
        #expect(hushed.filter { $0.contains(" started ") }.count == 2, "starts are still logged: \(hushed)")
        let loud = d.logLines(about: "g/loud/0")
        #expect(loud.contains { $0.contains(" started pid=") } && loud.contains { $0.contains(" stopping pid=") }, "\(loud)")
    }

    @Test func traceExplainsARestartDecision() throws {
        let d = try DaemonHarness(files: ["g.yaml": """
            group: g
            jobs:
              - name: job
                command: "if [ -e MARK ]; then exec sleep 3600; else touch MARK; exit 3; fi"
                on_exit:
                  - when: {code: [3]}
                    do: restart
                    after: 200ms
            """])
        defer { d.stop() }
        try d.start(["--trace"])
        try d.waitFor("restarted", prefix: "g") { $0.first?.state == "running" && $0.first?.restarts == 1 }
        let trace = d.daemonStderr.split(separator: "\n").filter { $0.contains(" debug ") }
        // The exit: which child and status came in, running → backoff, the restart timer armed.
        let exit = try #require(trace.first { $0.contains("exited g/job/0 ") }, "\(trace)")
        #expect(exit.contains("code=3"), "\(exit)")
        #expect(exit.contains("| running -> backoff |"), "\(exit)")
        #expect(exit.contains("event(exit)") && exit.contains("event(restart)") && exit.contains("arm(restart g/job/0"), "\(exit)")
        // The timer: backoff → starting with a spawn.
        let timer = try #require(trace.first { $0.contains("timer restart g/job/0") }, "\(trace)")
        #expect(timer.contains("| backoff -> starting |") && timer.contains("spawn(g/job/0)"), "\(timer)")
        // Each start: starting → running.
        #expect(trace.filter { $0.contains("started g/job/0 pid=") && $0.contains("| starting -> running |") }.count == 2, "\(trace)")
        // Without --trace there are no debug lines (checked on a second daemon below).
        let quiet = try DaemonHarness(files: ["g.yaml": "group: g\njobs:\n  - name: a\n    command: [\"sleep\", \"3600\"]\n"])
        defer { quiet.stop() }
        try quiet.start()
        try quiet.waitRunning(1)
        #expect(!quiet.daemonStderr.contains(" debug "))
    }
}
