import Foundation
import Testing

// Helpers for the state-table end-to-end tests: other programs that read the table
// (mdb_dump, mdb_stat, Python's lmdb), the event history as the CLI prints it, and the live
// processes of one test, found by a tag in their environment.

/// External programs the table tests use, and whether they are installed.
enum TableTools {
    /// The absolute path of `name` on the PATH, or nil.
    static func which(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for dir in path.split(separator: ":") {
            let candidate = "\(dir)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    static let python = which("python3")
    static let mdbDump = which("mdb_dump")
    static let mdbStat = which("mdb_stat")

    /// True when python3 can import lmdb and jsonschema (scripts/test-deps.sh installs them).
    static let pythonReady: Bool = {
        guard let python else { return false }
        return (try? CommandResult.run([python, "-c", "import lmdb, jsonschema"]))?.status == 0
    }()

    static var mdbToolsReady: Bool { mdbDump != nil && mdbStat != nil }

    /// This target's Python helpers.
    static let scripts = RepoPaths.root + "/Tests/EndToEndTests/Scripts"
    static let schemas = RepoPaths.root + "/schemas"

    /// Runs `Scripts/validate_live_table.py` on a table; the parsed summary, or nil (with the
    /// problems recorded as an issue) when a record is invalid.
    static func validate(table: String) throws -> [String: Any]? {
        let run = try CommandResult.run([python!, scripts + "/validate_live_table.py", table, schemas])
        guard run.status == 0 else {
            Issue.record("table \(table) failed validation:\n\(run.stdout)\(run.stderr)")
            return nil
        }
        return try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any]
    }
}

/// Every `DIRECTOR_TEST_TAG=<tag>` process alive on the machine, by pid, with its
/// `DIRECTOR_ID`. The tag keeps tests apart from other daemons running at the same time.
struct TaggedProcesses {
    let tag: String

    /// A new random tag.
    init() { tag = "tbl-" + UUID().uuidString.prefix(12).lowercased() }

    /// The manifest line that puts the tag into a job's environment.
    var envLine: String { "env: {DIRECTOR_TEST_TAG: \"\(tag)\"}" }

    /// pid → DIRECTOR_ID of every live (not zombie) tagged process. A zombie's environ reads
    /// empty, so it never counts.
    func live() -> [Int32: String] {
        var found: [Int32: String] = [:]
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return found }
        let needle = "DIRECTOR_TEST_TAG=\(tag)"
        for entry in entries {
            guard let pid = Int32(entry),
                let data = FileManager.default.contents(atPath: "/proc/\(entry)/environ")
            else { continue }
            let vars = data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            guard vars.contains(needle) else { continue }
            let id = vars.first { $0.hasPrefix("DIRECTOR_ID=") }.map { String($0.dropFirst("DIRECTOR_ID=".count)) }
            found[pid] = id ?? ""
        }
        return found
    }

    /// How many live processes each child id has.
    func perChild() -> [String: Int] {
        live().values.reduce(into: [:]) { $0[$1, default: 0] += 1 }
    }

    /// SIGKILLs every tagged process (they are this test's children, found by its own tag).
    func killAll() {
        for pid in live().keys { kill(pid, SIGKILL) }
    }
}

/// Polls `condition` every 20 ms for at most `timeout` seconds; records an issue on timeout.
@discardableResult
func eventually(_ what: String, timeout: Double = 15, _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if try condition() { return true }
        usleep(20_000)
    }
    Issue.record("timed out waiting for \(what)")
    return false
}

extension DaemonHarness {
    /// `<state>/table`.
    var tablePath: String { state + "/table" }

    /// Waits until the rows are a new daemon's and `condition` holds. A killed daemon's rows
    /// still say `running` with its pids until the next daemon reconciles them, so a row
    /// counts only when its pid (if any) is not one of `previous`.
    @discardableResult
    func waitForNewRun(
        _ what: String, previous: [ChildRow], timeout: Double = 15, _ condition: @escaping ([ChildRow]) -> Bool
    ) throws -> [ChildRow] {
        let old = Set(previous.compactMap(\.pid))
        return try waitFor("\(what) (new run)", timeout: timeout) { rows in
            rows.allSatisfy { $0.pid.map { !old.contains($0) } ?? true } && condition(rows)
        }
    }

    /// SIGKILLs the daemon and waits for it; its children keep running.
    func killHard() {
        signal(SIGKILL)
        #expect(waitExit(timeout: 15) != nil, "the daemon must die on SIGKILL")
    }
}
