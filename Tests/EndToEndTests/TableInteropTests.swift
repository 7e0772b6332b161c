import Foundation
import Testing

/// A live daemon's table read by programs that know nothing of Director but LMDB and the
/// documented JSON: `mdb_dump`, `mdb_stat` and Python's `lmdb` validating every record
/// against `schemas/*.schema.json` — while the daemon runs and keeps writing.
@Suite(.serialized) struct TableInteropTests {
    /// A bit of everything: a pool, a nested group, and a child that exited and waits.
    static func manifest(_ tag: TaggedProcesses) -> String {
        """
        group: web
        jobs:
          - name: api
            command: ["sleep", "3600"]
            instances: 3
            \(tag.envLine)
          - name: failed
            command: "exit 3"
            on_exit:
              - when: {code: [3]}
                do: wait
          - group:
              name: cache
              strategy: one_for_all
              jobs:
                - name: redis
                  command: ["sleep", "3600"]
                  \(tag.envLine)
        """
    }

    /// Starts the daemon and waits for the settled tree: four running, one waiting.
    static func settledDaemon(_ tag: TaggedProcesses) throws -> DaemonHarness {
        let d = try DaemonHarness(files: ["web.yaml": manifest(tag)])
        try d.start()
        try d.waitFor("4 running and web/failed/0 waiting") { rows in
            rows.filter { $0.state == "running" && $0.pid != nil }.count == 4
                && rows.first { $0.id == "web/failed/0" }?.state == "waiting"
        }
        return d
    }

    @Test(.enabled(if: TableTools.mdbToolsReady, "needs mdb_dump and mdb_stat (lmdb-utils)"))
    func mdbToolsReadEveryDatabaseOfALiveDaemon() throws {
        let tag = TaggedProcesses()
        let d = try Self.settledDaemon(tag)
        defer { d.stop(); tag.killAll() }
        let daemonPid = try #require(d.runningDaemonPID)

        let stat = try CommandResult.run([TableTools.mdbStat!, "-a", d.tablePath])
        #expect(stat.status == 0, "\(stat.stderr)")
        for db in ["children", "groups", "events", "meta", "specs"] {
            #expect(stat.stdout.contains("Status of \(db)"), "mdb_stat -a must list \(db)")
        }
        #expect(Self.entries(of: "children", in: stat.stdout) == 5)
        #expect(Self.entries(of: "groups", in: stat.stdout) == 3)  // root, web, web/cache
        #expect(Self.entries(of: "specs", in: stat.stdout) == 3)

        let children = try Self.dump("children", d.tablePath)
        #expect(children.keys.sorted() == ["web/api/0", "web/api/1", "web/api/2", "web/cache/redis/0", "web/failed/0"])
        let rows = try d.children()
        for row in rows {
            let record = try #require(children[row.id] as? [String: Any])
            #expect(record["state"] as? String == row.state)
            #expect((record["pid"] as? NSNumber)?.int32Value == row.pid)
        }
        let failed = try #require((children["web/failed/0"] as? [String: Any])?["last_exit"] as? [String: Any])
        #expect(failed["code"] as? Int == 3)
        #expect(failed["cause"] as? String == "exit", "\(failed)")

        let groups = try Self.dump("groups", d.tablePath)
        #expect(groups.keys.sorted() == ["/", "web", "web/cache"])
        #expect((groups["web/cache"] as? [String: Any])?["strategy"] as? String == "one_for_all")

        let meta = try Self.dump("meta", d.tablePath)
        #expect(meta["format"] as? String == "1")
        #expect((meta["daemon"] as? [String: Any])?["pid"] as? Int == Int(daemonPid))
        #expect((meta["daemon"] as? [String: Any])?["jobs"] as? String == d.jobs)

        let specs = try Self.dump("specs", d.tablePath)
        #expect(specs.keys.sorted() == ["web/api", "web/cache/redis", "web/failed"])
        #expect((specs["web/api"] as? [String: Any])?["instances"] as? Int == 3)

        // Event keys are 8-byte big-endian seqs: dumped in hex, in increasing order, each the
        // record's own seq.
        let events = try Self.dumpEvents(d.tablePath)
        #expect(!events.isEmpty)
        #expect(events.map(\.key) == events.map { $0.value["seq"] as? Int ?? -1 })
        #expect(events.map(\.key) == events.map(\.key).sorted() && Set(events.map(\.key)).count == events.count)
        #expect(events.map(\.key) == (try d.eventRows()).map(\.seq))
        #expect(events.contains { $0.value["id"] as? String == "web/failed/0" && $0.value["kind"] as? String == "wait" })
    }

    @Test(.enabled(if: TableTools.pythonReady, "needs python3 with lmdb and jsonschema (scripts/test-deps.sh)"))
    func pythonValidatesEveryRecordWhileTheDaemonWrites() throws {
        let tag = TaggedProcesses()
        let d = try Self.settledDaemon(tag)
        defer { d.stop(); tag.killAll() }
        let daemonPid = try #require(d.runningDaemonPID)

        // Several rounds: a child is killed, and the table is read while the daemon records
        // the exit and the replacement — every record must be valid at any moment.
        var lastSeqs: [Int] = []
        for round in 0..<4 {
            let rows = try d.children(prefix: "web/api")
            let victim = try #require(rows[round % 3].pid)
            kill(victim, SIGKILL)
            let summary = try #require(try TableTools.validate(table: d.tablePath))
            let counts = summary["counts"] as? [String: Int] ?? [:]
            #expect(counts["children"] == 5)
            #expect(counts["groups"] == 3)
            #expect(counts["specs"] == 3)
            #expect(summary["daemon_pid"] as? Int == Int(daemonPid))
            #expect((summary["meta_keys"] as? [String])?.contains("daemon") == true)
            lastSeqs.append((summary["event_seqs"] as? [Int])?.last ?? -1)
            try d.waitFor("victim \(victim) replaced", prefix: "web/api") { rows in
                rows.count == 3 && rows.allSatisfy { $0.state == "running" && $0.pid != nil && $0.pid != victim }
            }
        }
        #expect(lastSeqs == lastSeqs.sorted(), "the daemon kept appending events: \(lastSeqs)")

        // Settled: Python sees what `director ps` and `director events` see.
        let summary = try #require(try TableTools.validate(table: d.tablePath))
        let seen = summary["children"] as? [String: [String: Any]] ?? [:]
        for row in try d.children() {
            #expect(seen[row.id]?["state"] as? String == row.state, "\(row.id)")
            #expect((seen[row.id]?["pid"] as? NSNumber)?.int32Value == row.pid, "\(row.id)")
        }
        #expect(summary["event_seqs"] as? [Int] == (try d.eventRows()).map(\.seq))
        // `exit 3` waits: its exit's cause is the plain `exit`; the killed ones' `signal`.
        #expect((seen["web/failed/0"]?["last_exit"] as? [String: Any])?["cause"] as? String == "exit", "\(seen)")
        for i in 0..<3 {
            #expect((seen["web/api/\(i)"]?["last_exit"] as? [String: Any])?["cause"] as? String == "signal", "\(seen)")
        }
        #expect(((try d.eventRows()).filter { $0.kind == "exit" && $0.id.hasPrefix("web/api/") }).count >= 4)

        // A daemon killed with SIGKILL leaves a table that opens, reads and validates.
        d.killHard()
        let afterKill = try #require(try TableTools.validate(table: d.tablePath))
        #expect((afterKill["counts"] as? [String: Int])?["children"] == 5)
        #expect(afterKill["event_seqs"] as? [Int] == summary["event_seqs"] as? [Int])
    }

    // MARK: - mdb_dump parsing

    /// `mdb_stat -a`'s "Entries:" line of database `db`.
    static func entries(of db: String, in output: String) -> Int? {
        guard let start = output.range(of: "Status of \(db)") else { return nil }
        let rest = output[start.upperBound...]
        guard let line = rest.split(separator: "\n").first(where: { $0.contains("Entries:") }) else { return nil }
        return Int(line.split(separator: ":").last!.trimmingCharacters(in: .whitespaces))
    }

    /// `mdb_dump -p -s db`: key → JSON value. Printable mode escapes `\` as `\\`.
    static func dump(_ db: String, _ table: String) throws -> [String: Any] {
        var out: [String: Any] = [:]
        for (key, value) in try dataLines(["-p", "-s", db, table]) {
            let text = value.replacingOccurrences(of: "\\\\", with: "\\")
            out[key] = try JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])
        }
        return out
    }

    /// `mdb_dump -s events` (hex): seq → record, in dump order.
    static func dumpEvents(_ table: String) throws -> [(key: Int, value: [String: Any])] {
        try dataLines(["-s", "events", table]).map { key, value in
            let bytes = stride(from: 0, to: value.count, by: 2).map { i -> UInt8 in
                let s = value.index(value.startIndex, offsetBy: i)
                return UInt8(value[s..<value.index(s, offsetBy: 2)], radix: 16)!
            }
            let record = try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any] ?? [:]
            return (Int(key, radix: 16) ?? -1, record)
        }
    }

    /// The key/value line pairs after `HEADER=END` (each data line starts with one space).
    static func dataLines(_ args: [String]) throws -> [(String, String)] {
        let run = try CommandResult.run([TableTools.mdbDump!] + args)
        #expect(run.status == 0, "mdb_dump \(args): \(run.stderr)")
        let lines = run.stdout.split(separator: "\n", omittingEmptySubsequences: false)
        guard let header = lines.firstIndex(of: "HEADER=END") else { return [] }
        let data = lines[(header + 1)...].filter { $0.hasPrefix(" ") }.map { String($0.dropFirst()) }
        return stride(from: 0, to: data.count - 1, by: 2).map { (data[$0], data[$0 + 1]) }
    }
}
