import Foundation
import Testing

/// The table across daemon restarts (DESIGN §4): a new daemon on the same state directory
/// terminates what a killed one left running, keeps operator decisions until the job's
/// manifest changes, carries restart counters over, and continues the event sequence.
@Suite(.serialized) struct TableRestartTests {
    static func manifest(_ tag: TaggedProcesses, apiCommand: String = "3600", workerCommand: String = "3600") -> String {
        """
        group: web
        jobs:
          - name: api
            command: ["sleep", "\(apiCommand)"]
            instances: 3
            \(tag.envLine)
          - name: worker
            command: ["sleep", "\(workerCommand)"]
            instances: 2
            \(tag.envLine)
          - name: tree
            command: ["/bin/sh", "-c", "sleep 3600 & wait"]
            \(tag.envLine)
        """
    }

    /// The pids of the process group `pgid` that still run.
    static func members(ofGroup pgid: Int32) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { entry -> Int32? in
            guard let pid = Int32(entry), ProcFS.isAlive(pid), getpgid(pid) == pgid else { return nil }
            return pid
        }
    }

    @Test func killedDaemonsProcessGroupsAreTerminatedBeforeAnythingStarts() throws {
        let tag = TaggedProcesses()
        let d = try DaemonHarness(files: ["web.yaml": Self.manifest(tag)])
        defer { d.stop(); tag.killAll() }
        try d.start()
        let old = try d.waitRunning(6)
        let tree = try #require(old.first { $0.id == "web/tree/0" }?.pid)
        #expect(eventually("the tree job's shell and sleep run") { Self.members(ofGroup: tree).count == 2 })

        d.killHard()
        // The children outlive a daemon killed with SIGKILL: one process per child, the
        // tree job two.
        #expect(old.allSatisfy { ProcFS.isAlive($0.pid!) })
        #expect(tag.perChild()["web/tree/0"] == 2)

        try d.start()
        let new = try d.waitFor("a new process for every child") { rows in
            rows.count == 6 && rows.allSatisfy { row in
                row.state == "running" && row.pid != nil && !old.contains { $0.pid == row.pid }
            }
        }
        for row in old {
            #expect(!ProcFS.isAlive(row.pid!), "\(row.id)'s old pid \(row.pid!) must be gone")
        }
        #expect(Self.members(ofGroup: tree).isEmpty, "the old tree group's background sleep must be gone too")
        #expect(d.daemonStderr.contains("terminated 6 process group(s) left by a previous daemon"), "\(d.daemonStderr)")

        // Exactly one live process per child id (the tree job: its shell and its sleep, both
        // in the new group).
        let live = tag.live()
        let perChild = tag.perChild()
        for row in new where row.id != "web/tree/0" {
            #expect(perChild[row.id] == 1, "\(row.id) has \(perChild[row.id] ?? 0) live processes")
            #expect(live[row.pid!] == row.id)
        }
        let newTree = try #require(new.first { $0.id == "web/tree/0" }?.pid)
        #expect(eventually("the new tree runs its sleep") { Self.members(ofGroup: newTree).count == 2 })
        #expect(tag.perChild()["web/tree/0"] == 2)
        #expect(Set(live.filter { $0.value == "web/tree/0" }.keys.map { getpgid($0) }) == [newTree])
    }

    @Test func operatorStopAndScaleSurviveRestartsUntilTheJobChanges() throws {
        let tag = TaggedProcesses()
        let d = try DaemonHarness(files: ["web.yaml": Self.manifest(tag)])
        defer { d.stop(); tag.killAll() }
        try d.start()
        try d.waitRunning(6)
        #expect(try d.cli("stop", ["web/api/1"]).status == 0)
        #expect(try d.cli("scale", ["web/worker", "4"]).status == 0)
        let decided = { (rows: [ChildRow]) -> Bool in
            rows.count == 8
                && rows.filter { $0.id.hasPrefix("web/worker/") && $0.state == "running" }.count == 4
                && rows.first { $0.id == "web/api/1" }.map { $0.state == "stopped" && $0.pid == nil } == true
                && rows.filter { $0.id != "web/api/1" }.allSatisfy { $0.state == "running" && $0.pid != nil }
        }
        var rows = try d.waitFor("api/1 stopped and 4 workers", decided)
        if TableTools.pythonReady {
            // The decisions are in meta, valid against schemas/meta.schema.json.
            let summary = try TableTools.validate(table: d.tablePath)
            #expect((summary?["meta_keys"] as? [String])?.contains("decisions") == true)
        }

        // Both a graceful stop and a crash keep the decisions.
        for (n, hard) in [false, true].enumerated() {
            if hard { d.killHard() } else {
                d.signal(SIGTERM)
                #expect(d.waitExit() == 0)
            }
            try d.start()
            rows = try d.waitForNewRun("decisions kept after restart \(n + 1)", previous: rows, decided)
            // Still stopped a moment later, with no process of its own anywhere.
            usleep(500_000)
            #expect(try d.children(prefix: "web/api/1").first?.state == "stopped")
            #expect(!tag.perChild().keys.contains("web/api/1"))
            #expect(tag.perChild()["web/worker/3"] == 1)
        }

        // Editing api's command ends the stop decision; the scale of worker (untouched) stays.
        d.signal(SIGTERM)
        #expect(d.waitExit() == 0)
        try d.write("web.yaml", Self.manifest(tag, apiCommand: "3601"))
        try d.start()
        rows = try d.waitForNewRun("api/1 runs again, 4 workers", previous: rows) { rows in
            rows.count == 8 && rows.allSatisfy { $0.state == "running" && $0.pid != nil }
        }
        let spec = try d.cli("spec", ["web/api", "--json"])
        #expect(spec.stdout.contains("3601"))

        // Editing worker's command ends the scale decision: back to the manifest's 2.
        d.killHard()
        try d.write("web.yaml", Self.manifest(tag, apiCommand: "3601", workerCommand: "3601"))
        try d.start()
        rows = try d.waitForNewRun("2 workers again", previous: rows) { rows in
            rows.count == 6 && rows.allSatisfy { $0.state == "running" && $0.pid != nil }
        }
        #expect(rows.filter { $0.id.hasPrefix("web/worker/") }.map(\.id) == ["web/worker/0", "web/worker/1"])
        #expect(eventually("no process left for the dropped workers") {
            let live = tag.perChild()
            return live["web/worker/2"] == nil && live["web/worker/3"] == nil
        })
    }

    @Test(.enabled(if: TableTools.mdbToolsReady, "needs mdb_dump (lmdb-utils)"))
    func aHotReloadThatChangesTheJobDropsItsDecisions() throws {
        let tag = TaggedProcesses()
        let d = try DaemonHarness(files: ["web.yaml": Self.manifest(tag)])
        defer { d.stop(); tag.killAll() }
        try d.start()
        try d.waitRunning(6)
        #expect(try d.cli("stop", ["web/api/1"]).status == 0)
        #expect(try d.cli("scale", ["web/worker", "3"]).status == 0)
        try d.waitFor("api/1 stopped and 3 workers") { rows in
            rows.first { $0.id == "web/api/1" }?.state == "stopped"
                && rows.filter { $0.id.hasPrefix("web/worker/") && $0.state == "running" }.count == 3
        }
        #expect(Self.decisions(d).contains("web/api/1"))

        // Only api changes: its stop decision goes, worker's scale decision stays.
        try d.write("web.yaml", Self.manifest(tag, apiCommand: "3601"))
        #expect(try d.cli("reload").status == 0)
        #expect(eventually("meta.decisions forgets web/api/1") { !Self.decisions(d).contains("web/api/1") })
        #expect(Self.decisions(d).contains("web/worker"))

        let beforeKill = try d.children()
        d.killHard()
        try d.start()
        let rows = try d.waitForNewRun("api/1 runs after the restart, 3 workers", previous: beforeKill) { rows in
            rows.count == 7 && rows.allSatisfy { $0.state == "running" && $0.pid != nil }
        }
        #expect(rows.filter { $0.id.hasPrefix("web/worker/") }.count == 3)
        #expect(tag.perChild()["web/api/1"] == 1)
    }

    /// `meta.decisions` as stored (the JSON text `mdb_dump -p` prints), or "".
    static func decisions(_ d: DaemonHarness) -> String {
        guard let run = try? CommandResult.run([TableTools.mdbDump!, "-p", "-s", "meta", d.tablePath]), run.status == 0
        else { return "" }
        let lines = run.stdout.split(separator: "\n").map(String.init)
        guard let key = lines.firstIndex(of: " decisions"), key + 1 < lines.count else { return "" }
        return lines[key + 1]
    }

    @Test func restartCountersCarryOverAndEventSeqsAreNeverReused() throws {
        let tag = TaggedProcesses()
        let d = try DaemonHarness(files: ["web.yaml": Self.manifest(tag)])
        defer { d.stop(); tag.killAll() }
        try d.start()
        try d.waitRunning(6)
        for n in 1...2 {
            let pid = try #require(try d.children(prefix: "web/api/0").first?.pid)
            kill(pid, SIGKILL)
            try d.waitFor("web/api/0 restarted \(n) times", prefix: "web/api/0") { rows in
                rows.first.map { $0.restarts == n && $0.state == "running" && $0.pid != pid } == true
            }
        }
        let firstRun = try d.eventRows()
        let firstRows = try d.children()
        d.killHard()

        try d.start()
        try d.waitForNewRun("6 running", previous: firstRows) { $0.filter { $0.state == "running" && $0.pid != nil }.count == 6 }
        let carried = try #require(try d.children(prefix: "web/api/0").first)
        #expect(carried.restarts == 2, "restart count of the previous run")
        let pid = try #require(carried.pid)
        kill(pid, SIGKILL)
        try d.waitFor("web/api/0 restarted a third time", prefix: "web/api/0") { rows in
            rows.first.map { $0.restarts == 3 && $0.state == "running" && $0.pid != pid } == true
        }
        let secondRun = try d.eventRows()
        let secondRows = try d.children()
        d.signal(SIGTERM)
        #expect(d.waitExit() == 0)

        // A third daemon after a graceful stop.
        try d.start()
        try d.waitForNewRun("6 running", previous: secondRows) { $0.filter { $0.state == "running" && $0.pid != nil }.count == 6 }
        #expect(try d.children(prefix: "web/api/0").first?.restarts == 3)
        let thirdRun = try d.eventRows()

        for (earlier, later) in [(firstRun, secondRun), (secondRun, thirdRun)] {
            let lastEarlier = try #require(earlier.last?.seq)
            // The history is kept as it was, and continues after it.
            #expect(Array(later.prefix(earlier.count)).map(\.seq) == earlier.map(\.seq))
            #expect(Array(later.prefix(earlier.count)).map(\.detail) == earlier.map(\.detail))
            let added = later.dropFirst(earlier.count)
            #expect(added.first.map { $0.seq == lastEarlier + 1 } == true, "seqs continue at \(lastEarlier + 1)")
            #expect(added.contains { $0.id == "web/api/0" && $0.kind == "start" })
        }
        #expect(zip(thirdRun, thirdRun.dropFirst()).allSatisfy { $0.seq < $1.seq }, "strictly increasing")
        #expect(Set(thirdRun.map(\.seq)).count == thirdRun.count, "never reused")
    }
}
