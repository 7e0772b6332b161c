import Foundation
import Testing

/// A child that cannot be started is an exit like any other: the reason is in the daemon log
/// and the events, `last_exit` is code 127, and the job's `on_exit` rules decide what follows.
@Suite(.serialized) struct RunSpawnFailureTests {
    struct Case: CustomStringConvertible, Sendable {
        var name: String
        /// The job's `command:` and optional `cwd:` lines (YAML, indented for a job); `DIR`
        /// stands for the test's temporary directory.
        var yaml: String
        /// Text the reason must contain (`DIR` as above).
        var reason: String
        var description: String { name }
    }

    static let cases: [Case] = [
        Case(
            name: "command not found",
            yaml: "command: [\"/nonexistent/director-test-bin\"]",
            reason: "cannot execute /nonexistent/director-test-bin: No such file or directory"),
        Case(
            name: "command not on PATH",
            yaml: "command: [\"director-test-no-such-program\"]",
            reason: "director-test-no-such-program"),
        Case(
            name: "not executable",
            yaml: "command: [\"DIR/script.sh\"]",
            reason: "cannot execute DIR/script.sh: Permission denied"),
        Case(
            name: "bad cwd",
            yaml: "command: [\"sleep\", \"3600\"]\n    cwd: DIR/missing-dir",
            reason: "cwd DIR/missing-dir: No such file or directory"),
    ]

    @Test(arguments: cases)
    func spawnFailureIsReportedAndTheExitRuleApplies(_ c: Case) throws {
        let d = try DaemonHarness(files: [:])
        defer { d.stop() }
        try d.dir.write("script.sh", "#!/bin/sh\nexec sleep 3600\n")  // deliberately not executable
        try d.write("g.yaml", """
            group: g
            jobs:
              - name: broken
                \(c.yaml.replacingOccurrences(of: "DIR", with: d.dir.path))
                on_exit:
                  - when: {code: [127]}
                    do: wait
              - name: fine
                command: ["sleep", "3600"]
            """)
        try d.start()

        let reason = c.reason.replacingOccurrences(of: "DIR", with: d.dir.path)
        let row = try d.waitForRow("g/broken/0", "waiting") { $0["state"] as? String == "waiting" }
        let lastExit = try #require(row["last_exit"] as? [String: Any])
        #expect((lastExit["code"] as? NSNumber)?.intValue == 127)
        #expect(row["pid"] == nil || row["pid"] is NSNull)

        let events = try d.waitForEvent("spawn_failed") { $0["kind"] as? String == "spawn_failed" }
        let failed = try #require(events.first { $0["kind"] as? String == "spawn_failed" })
        #expect(failed["id"] as? String == "g/broken/0")
        let detail = failed["detail"] as? String ?? ""
        #expect(detail.contains(reason), "event detail: \(detail)")
        #expect(events.contains { $0["id"] as? String == "g/broken/0" && $0["kind"] as? String == "wait" })

        let log = try d.waitForStderr("g/broken/0 spawn failed")
        let line = log.split(separator: "\n").first { $0.contains("g/broken/0 spawn failed") } ?? ""
        #expect(line.contains(" error "), "\(line)")
        #expect(line.contains(reason), "\(line)")

        // A failed sibling disturbs nobody: the other job runs, the group did not fail.
        try d.waitRunning(1, prefix: "g/fine")
        #expect(!events.contains { $0["kind"] as? String == "group_failed" })
    }

    @Test func spawnFailureWithoutARuleRestartsUntilTheGroupFails() throws {
        // permanent + spawn failure → restart (delay 0) → the group's intensity is used up →
        // the root restarts it → root intensity 0 fails the root → exit 1. No busy loop forever.
        let d = try DaemonHarness(files: ["g.yaml": """
            group: g
            intensity: 2
            jobs:
              - name: broken
                command: ["/nonexistent/director-test-bin"]
            """])
        defer { d.stop() }
        try d.start(["--intensity", "0", "--root-failure", "exit"])
        #expect(d.waitExit(timeout: 20) == 1)
        let failures = d.daemonStderr.split(separator: "\n").filter { $0.contains("g/broken/0 spawn failed") }
        #expect(failures.count == 3, "two restarts allowed, the third failure fails the group: \(failures)")
        #expect(d.daemonStderr.contains("group failed"), "\(d.daemonStderr.suffix(2000))")
    }
}
