import Foundation
import Testing

/// Helpers for the `director run` end-to-end suites: whole table rows, events, the daemon's
/// output files and its pid. Everything polls with a bound; nothing asserts a timing.
extension DaemonHarness {
    /// The daemon's pid, while it runs.
    var daemonPID: Int32? { process.map(\.processIdentifier) }

    /// Every field of the child rows (`director ps --json`), for fields `ChildRow` leaves out
    /// (`next_restart_at`, `last_exit.at`). Also goes through `children()` so that the
    /// harness records the process groups it must clean up.
    func rows(prefix: String? = nil) throws -> [[String: Any]] {
        _ = try children(prefix: prefix)
        let r = try cli("ps", ["--json"] + (prefix.map { [$0] } ?? []))
        guard r.status == 0 else { return [] }
        return (try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: Any]]) ?? []
    }

    /// The row of one child, if it is in the table.
    func row(_ id: String) throws -> [String: Any]? {
        try rows(prefix: id).first { $0["id"] as? String == id }
    }

    /// Polls (every 50 ms, at most `timeout`) until the row of `id` satisfies `condition`;
    /// returns it.
    @discardableResult
    func waitForRow(_ id: String, _ what: String, timeout: Double = 15, _ condition: ([String: Any]) -> Bool) throws -> [String: Any] {
        let deadline = Date().addingTimeInterval(timeout)
        var last: [String: Any]?
        while Date() < deadline {
            last = try row(id)
            if let last, condition(last) { return last }
            usleep(50_000)
        }
        Issue.record("timed out waiting for \(id) \(what); last: \(String(describing: last)); stderr: \(daemonStderr.suffix(2000))")
        throw HarnessError.timeout(what)
    }

    /// The recorded events (`director events --json`), oldest first.
    func events() throws -> [[String: Any]] {
        let r = try cli("events", ["--json"])
        guard r.status == 0 else { return [] }
        return r.stdout.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
    }

    /// Polls until some recorded event satisfies `condition`; returns every event then.
    @discardableResult
    func waitForEvent(_ what: String, timeout: Double = 15, _ condition: ([String: Any]) -> Bool) throws -> [[String: Any]] {
        let deadline = Date().addingTimeInterval(timeout)
        var last: [[String: Any]] = []
        while Date() < deadline {
            last = try events()
            if last.contains(where: condition) { return last }
            usleep(50_000)
        }
        Issue.record("timed out waiting for event \(what); events: \(last.suffix(20)); stderr: \(daemonStderr.suffix(2000))")
        throw HarnessError.timeout(what)
    }

    /// Polls the daemon's stdout (children's lines) until it contains `text`; returns it.
    @discardableResult
    func waitForStdout(_ text: String, timeout: Double = 15) throws -> String {
        withoutTimestamps(try waitForFile(stdoutPath, name: "stdout", text, timeout: timeout))
    }

    /// Polls the daemon's stderr (its own log) until it contains `text`; returns it.
    @discardableResult
    func waitForStderr(_ text: String, timeout: Double = 15) throws -> String {
        try waitForFile(stderrPath, name: "stderr", text, timeout: timeout)
    }

    private func waitForFile(_ path: String, name: String, _ text: String, timeout: Double) throws -> String {
        let deadline = Date().addingTimeInterval(timeout)
        var content = ""
        while Date() < deadline {
            content = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
            if content.contains(text) { return content }
            usleep(50_000)
        }
        Issue.record("timed out waiting for \(name) to contain \(text.debugDescription); \(name): \(content.suffix(2000)); stderr: \(daemonStderr.suffix(1000))")
        throw HarnessError.timeout(text)
    }

    /// The daemon's stderr lines that mention `id` as their subject (text format).
    func logLines(about id: String) -> [Substring] {
        daemonStderr.split(separator: "\n").filter { $0.split(separator: " ").dropFirst(2).first.map(String.init) == id }
    }
}

/// Parses an RFC 3339 time of the table (`2026-11-24T21:00:00.123Z`) into ms since the epoch.
func tableMillis(_ value: Any?) -> Int64? {
    guard let text = value as? String else { return nil }
    let f = ISO8601DateFormatter()
    f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
    return f.date(from: text).map { Int64(($0.timeIntervalSince1970 * 1000).rounded()) }
}
