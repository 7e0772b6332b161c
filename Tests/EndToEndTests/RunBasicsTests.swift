import Foundation
import Testing

/// `director run` with real processes: children start, crash and come back per their rules,
/// and the operator drives the tree from the CLI.
@Suite(.serialized) struct RunBasicsTests {
    static let pool = """
        group: web
        jobs:
          - name: api
            command: ["sleep", "3600"]
            instances: 3
          - name: once
            command: "exit 0"
            restart: transient
        """

    @Test func poolStartsAndAKilledChildIsReplaced() throws {
        let d = try DaemonHarness(files: ["web.yaml": Self.pool])
        defer { d.stop() }
        try d.start()
        let rows = try d.waitRunning(3, prefix: "web/api")
        #expect(rows.map(\.id) == ["web/api/0", "web/api/1", "web/api/2"])
        let victim = try #require(rows[1].pid)
        kill(victim, SIGKILL)
        let after = try d.waitFor("web/api/1 replaced", prefix: "web/api") { rows in
            rows.count == 3 && rows.allSatisfy { $0.state == "running" } && rows[1].pid != victim && rows[1].pid != nil
        }
        #expect(after[0].pid == rows[0].pid)
        #expect(after[2].pid == rows[2].pid)
        #expect(after[1].restarts == 1)
        #expect(after[1].lastExit?["signal"] as? String == "KILL")
        // The transient job exited 0: it waits for an operator.
        try d.waitFor("web/once/0 waiting", prefix: "web/once") { $0.first?.state == "waiting" }
    }

    @Test func aDaemonStartedWithClosedStandardStreamsPutsDevNullThere() throws {
        // Otherwise its first files (lock, table, epoll) get fds 0-2 and log lines written
        // to fd 2 land in one of them.
        let d = try DaemonHarness(files: ["web.yaml": Self.pool])
        defer { d.stop() }
        try d.start(closedStandardStreams: true)
        let rows = try d.waitRunning(3, prefix: "web/api")
        let daemon = try #require(d.runningDaemonPID)
        for fd in 0...2 { #expect(link("/proc/\(daemon)/fd/\(fd)") == "/dev/null", "daemon fd \(fd)") }
        let child = try #require(rows[0].pid)
        #expect(link("/proc/\(child)/fd/0") == "/dev/null")
        for fd in 1...2 { #expect(link("/proc/\(child)/fd/\(fd)").hasPrefix("pipe:"), "child fd \(fd)") }
        // The table took no log lines: a restart is recorded and read back as usual.
        kill(child, SIGKILL)
        try d.waitFor("web/api/0 replaced", prefix: "web/api/0") { $0.first?.restarts == 1 && $0.first?.state == "running" }
        #expect(try d.eventRows().contains { $0.id == "web/api/0" && $0.kind == "restart" })
    }

    /// Where a /proc fd link points, or "" when it cannot be read.
    private func link(_ path: String) -> String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: path)) ?? ""
    }

    @Test func operatorStopRestartDeleteAndScale() throws {
        let d = try DaemonHarness(files: ["web.yaml": Self.pool])
        defer { d.stop() }
        try d.start()
        try d.waitRunning(3, prefix: "web/api")

        let stop = try d.cli("stop", ["web/api"])
        #expect(stop.status == 0, "\(stop.stderr)")
        try d.waitFor("all stopped", prefix: "web/api") { $0.count == 3 && $0.allSatisfy { $0.state == "stopped" && $0.pid == nil } }

        let del = try d.cli("delete", ["web/api/2"])
        #expect(del.status == 0, "\(del.stderr)")
        try d.waitFor("web/api/2 gone", prefix: "web/api") { $0.map(\.id) == ["web/api/0", "web/api/1"] }

        let restart = try d.cli("restart", ["web/api/0"])
        #expect(restart.status == 0, "\(restart.stderr)")
        try d.waitFor("web/api/0 running", prefix: "web/api/0") { $0.first?.state == "running" }

        let scale = try d.cli("scale", ["web/api", "5"])
        #expect(scale.status == 0, "\(scale.stderr)")
        try d.waitFor("scaled to 5", prefix: "web/api") { rows in
            rows.count == 5 && rows.filter { $0.state == "running" }.count >= 3
        }

        let missing = try d.cli("restart", ["web/nope"])
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("web/nope"))

        let running = try d.cli("delete", ["web/api/0"])
        #expect(running.status == 1, "deleting a running child must be refused")
    }

    @Test func sigtermStopsTheTreeInReverseOrderAndExitsZero() throws {
        let d = try DaemonHarness(files: ["web.yaml": Self.pool])
        defer { d.stop() }
        try d.start()
        let rows = try d.waitRunning(3, prefix: "web/api")
        d.signal(SIGTERM)
        #expect(d.waitExit() == 0)
        for row in rows { #expect(kill(row.pid!, 0) != 0, "child \(row.id) must be gone") }
        let stops = d.daemonStderr.split(separator: "\n").filter { $0.contains(" stopping pid=") }.map { String($0.split(separator: " ")[2]) }
        #expect(stops == ["web/api/2", "web/api/1", "web/api/0"])
    }

    @Test func secondDaemonOnTheSameStateIsRefused() throws {
        let d = try DaemonHarness(files: ["web.yaml": Self.pool])
        defer { d.stop() }
        try d.start()
        try d.waitRunning(3, prefix: "web/api")
        let second = try DirectorBinary.run(["run", "--jobs", d.jobs, "--state", d.state])
        #expect(second.status == 1)
        #expect(second.stderr.contains("another director daemon"), "\(second.stderr)")
    }

    @Test func invalidManifestAtStartIsReportedWithLocation() throws {
        let d = try DaemonHarness(files: ["web.yaml": "group: web\njobs:\n  - name: a\n    command: \"true\"\n    restart: sometimes\n"])
        let r = try DirectorBinary.run(["run", "--jobs", d.jobs, "--state", d.state])
        #expect(r.status == 1)
        #expect(r.stderr.hasPrefix(d.jobs + "/web.yaml:5:14: jobs[0].restart: "), "\(r.stderr)")
    }
}
