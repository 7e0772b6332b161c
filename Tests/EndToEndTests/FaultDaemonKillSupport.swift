import DirectorCore
import Foundation
import Testing

/// The crash-storm scenario: 30 children exiting every ~50 ms and 5 steady ones; the daemon is
/// killed with SIGKILL in the middle and started again on the same state directory.
enum CrashStorm {
    static let stormers = 30
    static let steady = 5

    /// The manifest: while `<dir>/calm` exists, stormers sleep instead of crashing, so the
    /// tree can settle after the restart and be checked process by process.
    static func manifest(_ dir: String) -> String {
        """
        group: storm
        intensity: 1000000
        period: 1s
        jobs:
          - name: crash
            command: ["sh", "-c", "if [ -e \(dir)/calm ]; then exec sleep 3600; fi; sleep 0.05; exit 1"]
            instances: \(stormers)
            env: {FAULT_RUN: "\(dir)"}
          - name: steady
            command: ["sleep", "3600"]
            instances: \(steady)
            env: {FAULT_RUN: "\(dir)"}
        """
    }

    /// One round: the storm runs for `stormMillis`, the daemon is killed with SIGKILL, the
    /// table is read, the daemon starts again and the tree is checked. Leaves the daemon
    /// running in storm mode again.
    static func killAndRecover(_ d: DaemonHarness, stormMillis: Int) throws {
        let calm = d.dir.path + "/calm"
        // Storm: the stormers crash and restart; wait until it is visibly going.
        try d.eventually("the storm to restart children") {
            try d.eventRows().filter { $0.kind == "restart" && $0.id.hasPrefix("storm/crash/") }.count >= stormers
        }
        let probe = ResponsivenessProbe(state: d.state)
        usleep(UInt32(stormMillis) * 1000)
        let responsiveness = probe.finish()
        #expect(responsiveness.missed == 0, "the control socket answers during the storm")
        #expect(responsiveness.maxSeconds < FaultChildrenTests.responsivenessBound, "slowest round trip \(responsiveness.maxSeconds) s")
        print("fault: crash storm (30 children every 50 ms): control max round trip \(responsiveness.maxSeconds) s over \(responsiveness.answered) probes")
        let steadyBefore = try d.children(prefix: "storm/steady").compactMap(\.pid)

        d.signal(SIGKILL)
        #expect(d.waitExit(timeout: 10) != nil, "the daemon must die on SIGKILL")

        // The table opens and reads after kill -9, with no daemon.
        let ps = try d.cli("ps", ["--json"])
        #expect(ps.status == 0, "ps after kill -9: \(ps.stderr)")
        let eventsBefore = try d.eventRows()
        #expect(!eventsBefore.isEmpty)
        let lastSeqBefore = eventsBefore.map(\.seq).max() ?? 0

        _ = FileManager.default.createFile(atPath: calm, contents: nil)
        try d.start()
        // The table still shows the dead daemon's rows at first: wait until every row names
        // a live process of this test that carries the row's id.
        let rows = try d.waitFor("the new daemon's children", timeout: 30, prefix: "storm") { rows in
            let live = ProcScan.liveByID(marker: d.marker)
            return rows.count == stormers + steady && rows.allSatisfy { row in
                row.state == "running" && row.pid != nil && !steadyBefore.contains(row.pid!)
                    && (live[row.id] ?? []).contains { $0.pid == row.pid }
            }
        }

        // Leftovers of the dead daemon are gone before the new tree runs.
        for pid in steadyBefore {
            let entry = ProcEntry.read(pid)
            #expect(entry == nil || entry?.state == "Z", "steady child \(pid) of the killed daemon still runs")
        }
        // Exactly one live process per child id, and it is the one in the table. A stormer
        // started by the killed daemon may still be finishing its `sleep 0.05`: give stragglers
        // a moment (bounded) before judging.
        var live: [String: [ProcEntry]] = [:]
        let deadline = Date().addingTimeInterval(10)
        repeat {
            live = ProcScan.liveByID(marker: d.marker)
            if live.count == rows.count && live.values.allSatisfy({ $0.count == 1 }) { break }
            usleep(50_000)
        } while Date() < deadline
        #expect(live.count == rows.count, "ids with live processes: \(live.keys.sorted())")
        for row in rows {
            let processes = live[row.id] ?? []
            #expect(processes.map(\.pid) == [row.pid].compactMap { $0 }, "\(row.id): live \(processes.map(\.pid)), table pid \(row.pid ?? 0)")
        }

        // No event sequence number is reused: old events are unchanged, new ones come after.
        let eventsAfter = try d.eventRows()
        let seqs = eventsAfter.map(\.seq)
        #expect(seqs == seqs.sorted() && Set(seqs).count == seqs.count, "event seqs must be strictly increasing")
        let afterBySeq = Dictionary(uniqueKeysWithValues: eventsAfter.map { ($0.seq, $0) })
        for old in eventsBefore {
            if let now = afterBySeq[old.seq] { #expect(now == old, "event \(old.seq) changed across the restart") }
        }
        #expect(eventsAfter.contains { $0.seq > lastSeqBefore && $0.kind == "start" }, "the new daemon records new events after \(lastSeqBefore)")

        // Back to the storm for the next round.
        try FileManager.default.removeItem(atPath: calm)
        for row in rows where row.id.hasPrefix("storm/crash/") { if let pid = row.pid { kill(-pid, SIGKILL) } }
    }
}
