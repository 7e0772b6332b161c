import Foundation
import Testing

extension ReloadTests {
    /// Children without a process (in backoff, waiting for an operator) across reloads.
    @Suite struct ChildState {
        static func flaky(crash: String = "exit 3", done: String = "exit 0", extra: String = "") -> String {
            """
            group: flaky
            jobs:
              - name: crash
                command: "\(crash)"
                delay: 1h\(extra)
              - name: done
                command: "\(done)"
                restart: transient
            """
        }

        /// `flaky/...` rows as `director ps --json` prints them (with `next_restart_at`).
        static func flakyRows(_ d: DaemonHarness) throws -> [String: [String: Any]] {
            let r = try d.cli("ps", ["--json", "flaky"])
            let rows = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: Any]] ?? []
            var byID: [String: [String: Any]] = [:]
            for row in rows { if let id = row["id"] as? String { byID[id] = row } }
            return byID
        }

        @Test func backoffAndWaitingChildrenKeepTheirStateUnlessTheirJobChanged() throws {
            var files = ReloadTree.files
            files["flaky.yaml"] = Self.flaky()
            let d = try DaemonHarness(files: files)
            defer { d.stop() }
            try d.start(["--no-watch"])
            let rows = try d.waitFor("tree up, flaky settled", timeout: 20) { rows in
                rows.filter { $0.state == "running" }.count == ReloadTree.size
                    && rows.contains { $0.id == "flaky/crash/0" && $0.state == "backoff" }
                    && rows.contains { $0.id == "flaky/done/0" && $0.state == "waiting" }
            }
            let before = d.pids(rows)
            let parked = try Self.flakyRows(d)
            let restartAt = try #require(parked["flaky/crash/0"]?["next_restart_at"] as? String)

            // Another job's process and this job's policy change: both stay as they were.
            try d.write("web.yaml", ReloadTree.web(apiCommand: #"["sleep", "3700"]"#))
            try d.write("flaky.yaml", Self.flaky(extra: "\n    reset_after: 2m"))
            let r = try d.cli("reload")
            #expect(r.status == 0, "\(r.stderr)")
            try d.waitFor("web/api restarted", timeout: 20) { rows in
                rows.filter { $0.state == "running" }.count == ReloadTree.size
                    && rows.filter { $0.id.hasPrefix("web/api/") }.allSatisfy { before[$0.id] != $0.pid }
            }
            let kept = try Self.flakyRows(d)
            #expect(kept["flaky/crash/0"]?["state"] as? String == "backoff")
            #expect(kept["flaky/crash/0"]?["next_restart_at"] as? String == restartAt)
            #expect((kept["flaky/crash/0"]?["restarts"] as? NSNumber)?.intValue == 1)
            #expect(kept["flaky/done/0"]?["state"] as? String == "waiting")
            #expect(try d.reloadEvents().last?.count("updated_in_place") == 1)

            // Their own process changes: they start now, with the new command.
            try d.write("flaky.yaml", Self.flaky(crash: "exec sleep 3608", done: "exec sleep 3609"))
            let fixed = try d.cli("reload")
            #expect(fixed.status == 0, "\(fixed.stderr)")
            #expect(try d.reloadEvents().last?.count("restarted") == 2)
            let after = try d.waitFor("flaky children running", prefix: "flaky") { rows in
                rows.count == 2 && rows.allSatisfy { $0.state == "running" && $0.pid != nil }
            }
            #expect(commandLine(of: after[0].pid!) == ["sleep", "3608"])
            #expect(commandLine(of: after[1].pid!) == ["sleep", "3609"])
        }

        @Test func operatorDecisionsSurviveAReloadThatDoesNotChangeTheirJob() throws {
            let d = try DaemonHarness(files: ReloadTree.files)
            defer { d.stop() }
            let before = try d.startTree(["--no-watch"])
            #expect(try d.cli("stop", ["web/api/1"]).status == 0)
            #expect(try d.cli("scale", ["web/worker", "12"]).status == 0)
            try d.waitFor("operator decisions applied", timeout: 20) { rows in
                rows.contains { $0.id == "web/api/1" && $0.state == "stopped" }
                    && rows.filter { $0.id.hasPrefix("web/worker/") && $0.state == "running" }.count == 12
            }

            try d.write("db.yaml", ReloadTree.db.replacingOccurrences(of: "instances: 3", with: "instances: 4"))
            let r = try d.cli("reload")
            #expect(r.status == 0, "\(r.stderr)")
            let rows = try d.waitFor("db/proxy/3 running", timeout: 20) { rows in
                rows.contains { $0.id == "db/proxy/3" && $0.state == "running" }
            }
            #expect(rows.first { $0.id == "web/api/1" }?.state == "stopped")
            #expect(rows.filter { $0.id.hasPrefix("web/worker/") }.count == 12)
            #expect(changedPids(before.filter { $0.key != "web/api/1" }, d.pids(rows)) == [])
        }
    }
}
