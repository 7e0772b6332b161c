import Foundation
import Testing

/// `last_exit.cause` (DESIGN §4, v2) through a real daemon: each way a process can end is
/// recorded in its row with the word `on_exit`'s `when: {cause: [...]}` uses, read back by
/// `director ps --json` (the table reader), by Python's `lmdb` against the schema, shown in
/// `ps`'s LAST EXIT column when it says more than the code or signal, and kept by the next
/// daemon for the children it does not start again.
@Suite(.serialized) struct RunExitCauseTests {
    /// Four children that each end one way and then wait for an operator (so their rows keep
    /// that exit): a crash (`exit`), a SIGKILL from outside (`signal`), a missing binary
    /// (`spawn_failed`) and one never ready in time (`ready_timeout`, stopped with SIGTERM).
    /// `never` comes last: a child with `ready:` holds back the ones after it.
    static let manifest = """
        group: c
        jobs:
          - name: crash
            command: "exit 3"
            on_exit:
              - when: {code: [3]}
                do: wait
          - name: killed
            command: ["sleep", "3600"]
            on_exit:
              - when: {signal: [KILL]}
                do: wait
          - name: missing
            command: ["/nonexistent/director-test-bin"]
            on_exit:
              - when: {cause: [spawn_failed]}
                do: wait
          - name: never
            command: ["sleep", "3600"]
            ready: {notify: true, timeout: 500ms}
            on_exit:
              - when: {cause: [ready_timeout]}
                do: wait
        """

    static let expected: [String: (key: String, value: String, cause: String)] = [
        "c/crash/0": ("code", "3", "exit"),
        "c/killed/0": ("signal", "KILL", "signal"),
        "c/missing/0": ("code", "127", "spawn_failed"),
        "c/never/0": ("signal", "TERM", "ready_timeout"),
    ]

    /// The rows once every child waits, each written after `after` (`updated_at`, when given).
    static func allWaiting(_ d: DaemonHarness, writtenAfter after: [String: [String: Any]] = [:]) throws -> [String: [String: Any]] {
        let deadline = Date().addingTimeInterval(20)
        var rows: [String: [String: Any]] = [:]
        func rewritten(_ id: String, _ row: [String: Any]) -> Bool {
            guard let old = after[id]?["updated_at"] as? String else { return true }
            return (row["updated_at"] as? String).map { $0 > old } ?? false
        }
        while Date() < deadline {
            rows = Dictionary(try d.rows(prefix: "c").map { ($0["id"] as? String ?? "", $0) }) { a, _ in a }
            if rows.count == 4, rows.allSatisfy({ $0.value["state"] as? String == "waiting" && rewritten($0.key, $0.value) }) {
                return rows
            }
            usleep(50_000)
        }
        Issue.record("not all waiting: \(rows); stderr: \(d.daemonStderr.suffix(2000))")
        throw HarnessError.timeout("all waiting")
    }

    /// `last_exit` of `row` as `(code or signal as text, cause)`.
    static func exit(_ row: [String: Any]?, _ key: String) -> (String?, String?) {
        let exit = row?["last_exit"] as? [String: Any]
        return (exit?[key].map { "\($0)" }, exit?["cause"] as? String)
    }

    @Test func everyWayOfEndingIsRecordedWithItsCauseAndKeptAcrossARestart() throws {
        let d = try DaemonHarness(files: ["c.yaml": Self.manifest])
        defer { d.stop() }
        try d.start(["--no-watch"])
        let victim = try d.waitForRow("c/killed/0", "running") { $0["state"] as? String == "running" && $0["pid"] is NSNumber }
        kill(try #require((victim["pid"] as? NSNumber)?.int32Value), SIGKILL)

        let rows = try Self.allWaiting(d)
        for (id, want) in Self.expected {
            let (value, cause) = Self.exit(rows[id], want.key)
            #expect(value == want.value && cause == want.cause, "\(id): \(rows[id] ?? [:])")
        }

        // What operators read: the cause in LAST EXIT only when it says more than the code or
        // signal before it.
        let ps = try d.cli("ps", ["c"])
        #expect(ps.status == 0, "\(ps.stderr)")
        let lines = ps.stdout.split(separator: "\n").map(String.init)
        func line(_ id: String) -> String { lines.first { $0.hasPrefix(id + " ") } ?? "" }
        #expect(line("c/never/0").contains("signal=TERM (ready_timeout) "), "\(ps.stdout)")
        #expect(line("c/missing/0").contains("code=127 (spawn_failed) "), "\(ps.stdout)")
        #expect(line("c/crash/0").contains("code=3 ") && !line("c/crash/0").contains("("), "\(ps.stdout)")
        #expect(line("c/killed/0").contains("signal=KILL ") && !line("c/killed/0").contains("(signal)"), "\(ps.stdout)")

        // A reader that knows only LMDB and the schema sees the same words (the schema allows
        // `cause`, and the script validates every record against it).
        if TableTools.pythonReady {
            let summary = try #require(try TableTools.validate(table: d.tablePath))
            let seen = summary["children"] as? [String: [String: Any]] ?? [:]
            for (id, want) in Self.expected {
                #expect((seen[id]?["last_exit"] as? [String: Any])?["cause"] as? String == want.cause, "\(id): \(seen[id] ?? [:])")
            }
        }

        // The next daemon leaves waiting children waiting, and their rows keep the exit with
        // its cause (read back from the table by the new daemon, then written again).
        d.signal(SIGTERM)
        #expect(d.waitExit() == 0)
        try d.start(["--no-watch"])
        let again = try Self.allWaiting(d, writtenAfter: rows)
        for (id, want) in Self.expected {
            let (value, cause) = Self.exit(again[id], want.key)
            #expect(value == want.value && cause == want.cause, "\(id) after a restart: \(again[id] ?? [:])")
            #expect(
                (again[id]?["last_exit"] as? [String: Any])?["at"] as? String
                    == (rows[id]?["last_exit"] as? [String: Any])?["at"] as? String, "\(id)")
        }
    }
}
