import Foundation
import Testing

/// The built `director` executable (built by `swift build --build-tests`).
enum DirectorBinary {
    static let path: String = {
        let candidates = [".build/debug/director", ".build/x86_64-unknown-linux-gnu/debug/director"]
        for c in candidates where FileManager.default.isExecutableFile(atPath: RepoPaths.root + "/" + c) {
            return RepoPaths.root + "/" + c
        }
        return RepoPaths.root + "/.build/debug/director"
    }()

    /// Runs `director ARGS` to completion.
    static func run(_ args: [String], environment: [String: String] = [:], cwd: String? = nil) throws -> CommandResult {
        try CommandResult.run([path] + args, environment: environment, cwd: cwd)
    }
}

/// One child row as `director ps --json` prints it (the table's child record).
struct ChildRow: Equatable {
    var id: String
    var state: String
    var pid: Int32?
    var restarts: Int
    var lastExit: [String: Any]?

    static func == (l: ChildRow, r: ChildRow) -> Bool {
        l.id == r.id && l.state == r.state && l.pid == r.pid && l.restarts == r.restarts
    }
}

/// A `director run` daemon on a temporary jobs and state directory. Everything it started is
/// stopped when `stop()` is called or the harness goes away: the daemon by its pid, its
/// children by the process groups recorded in the table (a daemon killed with SIGKILL leaves
/// them running).
final class DaemonHarness: @unchecked Sendable {
    let dir: TemporaryDirectory
    var jobs: String { dir.path + "/jobs" }
    var state: String { dir.path + "/state" }
    var stdoutPath: String { dir.path + "/daemon.out" }
    var stderrPath: String { dir.path + "/daemon.err" }
    private(set) var process: Process?
    private var knownGroups = Set<Int32>()

    init(files: [String: String]) throws {
        dir = try TemporaryDirectory()
        try FileManager.default.createDirectory(atPath: jobs, withIntermediateDirectories: true)
        for (name, text) in files { try write(name, text) }
    }

    /// Writes (or replaces) a manifest file.
    func write(_ name: String, _ text: String) throws {
        try text.write(toFile: jobs + "/" + name, atomically: false, encoding: .utf8)
    }

    /// Starts the daemon with extra arguments (and variables added to its environment); with
    /// `closedStandardStreams` its fds 0, 1 and 2 are closed (through a shell that closes them
    /// and execs the daemon, same pid).
    func start(_ extra: [String] = [], closedStandardStreams: Bool = false, environment: [String: String] = [:]) throws {
        let p = Process()
        if !environment.isEmpty { p.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new } }
        let arguments = ["run", "--jobs", jobs, "--state", state] + extra
        if closedStandardStreams {
            p.executableURL = URL(fileURLWithPath: "/bin/sh")
            p.arguments = ["-c", #"exec "$0" "$@" <&- >&- 2>&-"#, DirectorBinary.path] + arguments
        } else {
            p.executableURL = URL(fileURLWithPath: DirectorBinary.path)
            p.arguments = arguments
        }
        _ = FileManager.default.createFile(atPath: stdoutPath, contents: nil)
        _ = FileManager.default.createFile(atPath: stderrPath, contents: nil)
        p.standardOutput = FileHandle(forWritingAtPath: stdoutPath)
        p.standardError = FileHandle(forWritingAtPath: stderrPath)
        p.standardInput = FileHandle.nullDevice
        try p.run()
        process = p
    }

    /// `director CMD --state STATE ARGS...`.
    func cli(_ command: String, _ args: [String] = []) throws -> CommandResult {
        try DirectorBinary.run([command] + args + ["--state", state])
    }

    /// The children as `director ps --json` reports them.
    func children(prefix: String? = nil) throws -> [ChildRow] {
        let r = try cli("ps", ["--json"] + (prefix.map { [$0] } ?? []))
        guard r.status == 0 else { return [] }
        guard let rows = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: Any]] else {
            return []
        }
        let parsed = rows.map { row in
            ChildRow(
                id: row["id"] as? String ?? "",
                state: row["state"] as? String ?? "",
                pid: (row["pid"] as? NSNumber).map { $0.int32Value },
                restarts: (row["restarts"] as? NSNumber)?.intValue ?? 0,
                lastExit: row["last_exit"] as? [String: Any])
        }
        for row in parsed { if let pid = row.pid { knownGroups.insert(pid) } }
        return parsed
    }

    /// Polls until `condition` holds for the children (every 20 ms, at most `timeout`).
    @discardableResult
    func waitFor(
        _ what: String, timeout: Double = 10, prefix: String? = nil,
        _ condition: ([ChildRow]) -> Bool
    ) throws -> [ChildRow] {
        let deadline = Date().addingTimeInterval(timeout)
        var last: [ChildRow] = []
        while Date() < deadline {
            last = try children(prefix: prefix)
            if condition(last) { return last }
            usleep(20_000)
        }
        Issue.record("timed out waiting for \(what); last: \(last.map { "\($0.id)=\($0.state)/\($0.pid ?? 0)" }); stderr: \(daemonStderr.suffix(2000))")
        throw HarnessError.timeout(what)
    }

    /// Waits until every listed id is running with a pid.
    @discardableResult
    func waitRunning(_ count: Int, prefix: String? = nil, timeout: Double = 10) throws -> [ChildRow] {
        try waitFor("\(count) running", timeout: timeout, prefix: prefix) { rows in
            rows.filter { $0.state == "running" && $0.pid != nil }.count == count
        }
    }

    var daemonStderr: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }
    /// The children's lines without the time each starts with (`ChildLineFormatTests` checks
    /// the times), so tests can match `ID stdout: TEXT` at the start of a line.
    var daemonStdout: String { withoutTimestamps(rawDaemonStdout) }
    /// The daemon's stdout as written.
    var rawDaemonStdout: String { (try? String(contentsOfFile: stdoutPath, encoding: .utf8)) ?? "" }

    /// Sends a signal to the daemon.
    func signal(_ sig: Int32) {
        if let p = process, p.isRunning { kill(p.processIdentifier, sig) }
    }

    /// Waits for the daemon to exit (bounded) and returns its status, or nil on timeout.
    func waitExit(timeout: Double = 15) -> Int32? {
        guard let p = process else { return nil }
        let deadline = Date().addingTimeInterval(timeout)
        while p.isRunning && Date() < deadline { usleep(20_000) }
        return p.isRunning ? nil : p.terminationStatus
    }

    /// Stops the daemon (SIGTERM, then SIGKILL) and kills every process group it recorded.
    func stop() {
        if let p = process, p.isRunning {
            kill(p.processIdentifier, SIGTERM)
            if waitExit(timeout: 10) == nil {
                kill(p.processIdentifier, SIGKILL)
                p.waitUntilExit()
            }
        }
        _ = try? children()
        // Only processes that carry this daemon's marker: pids are reused within seconds in a
        // storm (pid_max is 32768 here), and a recorded group id may name another test's
        // process by now.
        let stateMarker = "DIRECTOR_STATE=" + state
        for pgid in knownGroups where pgid > 1 && ProcScan.environment(pgid).contains(stateMarker) { kill(-pgid, SIGKILL) }
        for pid in ProcScan.allPids() where ProcScan.environment(pid).contains(stateMarker) { kill(pid, SIGKILL) }
        CgroupProbe.removeDaemonCgroups(stateDirectory: state)
    }

    deinit { stop() }
}

/// One event as `director events --json` prints it.
struct EventRow: Equatable {
    var seq: Int
    var at: String
    var id: String
    var kind: String
    var detail: String

    /// Parses one printed line; nil when it is not an event object.
    init?(line: Substring) {
        guard let o = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
            let seq = (o["seq"] as? NSNumber)?.intValue
        else { return nil }
        self.init(seq: seq, at: o["at"] as? String ?? "", id: o["id"] as? String ?? "",
            kind: o["kind"] as? String ?? "", detail: o["detail_text"] as? String ?? "")
    }

    init(seq: Int, at: String, id: String, kind: String, detail: String) {
        self.seq = seq
        self.at = at
        self.id = id
        self.kind = kind
        self.detail = detail
    }
}

extension DaemonHarness {
    /// The daemon's pid while it runs.
    var runningDaemonPID: Int32? { process.flatMap { $0.isRunning ? $0.processIdentifier : nil } }

    /// The recorded events, oldest first, as `director events --json [--since SEQ]` prints them;
    /// none before the daemon has created its table (callers poll). Any other failure of the
    /// command, or a line that is not an event, is recorded as an issue.
    func eventRows(since: Int? = nil) throws -> [EventRow] {
        let r = try cli("events", ["--json"] + (since.map { ["--since", String($0)] } ?? []))
        guard r.status == 0 else {
            if !r.stderr.contains("no state table at") { Issue.record("director events failed: \(r.stderr)") }
            return []
        }
        return r.stdout.split(separator: "\n").compactMap { line in
            guard let row = EventRow(line: line) else {
                Issue.record("not an event line: \(line)")
                return nil
            }
            return row
        }
    }
}

enum HarnessError: Error {
    case timeout(String)
}

/// `text` with the `2026-11-24T21:00:00.123Z ` that starts each line (the daemon's child
/// lines) removed; other lines unchanged.
func withoutTimestamps(_ text: String) -> String {
    text.split(separator: "\n", omittingEmptySubsequences: false).map { line -> Substring in
        let bytes = Array(line.utf8.prefix(25))
        let stamped = bytes.count == 25 && bytes[4] == 0x2D && bytes[10] == 0x54 && bytes[23] == 0x5A && bytes[24] == 0x20
        return stamped ? line.dropFirst(25) : line
    }.joined(separator: "\n")
}
