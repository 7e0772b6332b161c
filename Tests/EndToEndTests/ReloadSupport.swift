import Foundation
import Testing

/// Every hot-reload end-to-end test, run one at a time: each starts a daemon with fifty
/// children, and two such trees at once would only make the shared machine slower.
/// The nested suites live in `Reload*Tests.swift`.
@Suite(.serialized) struct ReloadTests {}

/// The tree the reload tests start from: fifty `sleep` children in three groups.
enum ReloadTree {
    static let web = """
        group: web
        jobs:
          - name: api
            command: ["sleep", "3600"]
            instances: 4
          - name: worker
            command: ["sleep", "3601"]
            instances: 10
          - name: cron
            command: "exec sleep 3602"
        """

    static let db = """
        group: db
        jobs:
          - name: shard
            command: ["sleep", "3603"]
            instances: 12
          - name: proxy
            command: ["sleep", "3604"]
            instances: 3
        """

    static let cache = """
        group: cache
        strategy: one_for_all
        jobs:
          - name: redis
            command: ["sleep", "3605"]
            instances: 10
          - name: warmer
            command: ["sleep", "3606"]
            instances: 10
        """

    static let files = ["web.yaml": web, "db.yaml": db, "cache.yaml": cache]
    static let size = 50

    /// `web.yaml` with `api`'s command and size replaced; everything else as in `web`.
    static func web(apiCommand: String = #"["sleep", "3600"]"#, apiInstances: Int = 4) -> String {
        web.replacingOccurrences(of: #"command: ["sleep", "3600"]"#, with: "command: \(apiCommand)")
            .replacingOccurrences(of: "instances: 4", with: "instances: \(apiInstances)")
    }
}

/// One `reload` event of the table, with the counts of its detail
/// (`started=1 stopped=0 restarted=4 scaled=0 updated_in_place=0`).
struct ReloadEvent {
    var seq: Int
    var detail: String

    /// The count named `key` in the detail, or nil when the detail does not have it.
    func count(_ key: String) -> Int? {
        for part in detail.split(separator: " ") {
            let pair = part.split(separator: "=", maxSplits: 1)
            if pair.count == 2, pair[0] == key { return Int(pair[1]) }
        }
        return nil
    }

    /// Every count, in the detail's order of keys.
    var counts: [String: Int] {
        var all: [String: Int] = [:]
        for key in ["started", "stopped", "restarted", "scaled", "updated_in_place"] { all[key] = count(key) }
        return all
    }
}

extension DaemonHarness {
    /// Starts the daemon and waits until the fifty children of `ReloadTree` run; returns their pids.
    func startTree(_ extra: [String] = []) throws -> [String: Int32] {
        try start(extra)
        return pids(try waitRunning(ReloadTree.size, timeout: 20))
    }

    /// Child id → pid for rows that have a pid.
    func pids(_ rows: [ChildRow]) -> [String: Int32] {
        var map: [String: Int32] = [:]
        for row in rows { if let pid = row.pid { map[row.id] = pid } }
        return map
    }

    /// The `reload` events, oldest first, as `director events --json` prints them.
    func reloadEvents() throws -> [ReloadEvent] {
        let r = try cli("events", ["--json"])
        guard r.status == 0 else { return [] }
        return r.stdout.split(separator: "\n").compactMap { line in
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                object["kind"] as? String == "reload"
            else { return nil }
            return ReloadEvent(seq: (object["seq"] as? NSNumber)?.intValue ?? 0, detail: object["detail_text"] as? String ?? "")
        }
    }

    /// Polls until the table holds `count` reload events (bounded), and returns them.
    @discardableResult
    func waitReloads(_ count: Int, timeout: Double = 15) throws -> [ReloadEvent] {
        let deadline = Date().addingTimeInterval(timeout)
        var last: [ReloadEvent] = []
        while Date() < deadline {
            last = try reloadEvents()
            if last.count >= count { return last }
            usleep(50_000)
        }
        Issue.record("timed out waiting for \(count) reload event(s); have \(last.count); stderr: \(daemonStderr.suffix(2000))")
        throw HarnessError.timeout("\(count) reloads")
    }

    /// `meta.reload` read straight from LMDB with Python's `lmdb` (read-only), as a tool would.
    func reloadMeta() throws -> [String: Any]? {
        let script = """
            import lmdb, sys
            env = lmdb.open(sys.argv[1], readonly=True, lock=True, max_dbs=8, subdir=True)
            meta = env.open_db(b"meta", create=False)
            with env.begin(db=meta) as txn:
                value = txn.get(b"reload")
            sys.stdout.write(value.decode() if value else "null")
            """
        let r = try CommandResult.run(["/usr/bin/env", "python3", "-c", script, state + "/table"])
        guard r.status == 0 else {
            Issue.record("python lmdb failed: \(r.stderr)")
            return nil
        }
        return try JSONSerialization.jsonObject(with: Data(r.stdout.utf8), options: .fragmentsAllowed) as? [String: Any]
    }

    /// Saves a manifest the way many editors do: write a hidden temp file, rename it over.
    func writeByRename(_ name: String, _ text: String) throws {
        let temp = jobs + "/." + name + ".swp"
        try text.write(toFile: temp, atomically: false, encoding: .utf8)
        #expect(rename(temp, jobs + "/" + name) == 0)
    }

    /// Removes a manifest file.
    func remove(_ name: String) {
        #expect(unlink(jobs + "/" + name) == 0)
    }

    /// Waits a few debounce periods so that a reload that should not happen would have.
    func settle(seconds: Double = 1.5) {
        usleep(UInt32(seconds * 1_000_000))
    }
}

/// The argv of a live process, from `/proc/PID/cmdline`.
func commandLine(of pid: Int32) -> [String] {
    guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return [] }
    return data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
}

/// True when `pid` names no process any more (a reaped child).
func isGone(_ pid: Int32) -> Bool {
    kill(pid, 0) != 0 && errno == ESRCH
}

/// The entries of `after` whose id is in `before` with another pid, or missing.
func changedPids(_ before: [String: Int32], _ after: [String: Int32]) -> [String] {
    before.keys.filter { after[$0] != before[$0] }.sorted()
}
