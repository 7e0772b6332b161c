import Foundation
import Testing

/// A job never runs twice and nothing escapes (issue 12, items 8 and 9): a daemon killed with
/// SIGKILL right after spawning children it has not committed yet, descendants that leave
/// their child's process group, and stopped (SIGSTOP) children.
@Suite(.serialized) struct FaultEscapeTests {
    static func pool(_ dir: String, instances: Int) -> String {
        """
        group: pool
        jobs:
          - name: s
            command: ["sleep", "3600"]
            instances: \(instances)
            env: {FAULT_RUN: "\(dir)"}
        """
    }

    /// After the next daemon has started: exactly one live process per id, the table's.
    static func expectOneProcessPerID(_ d: DaemonHarness, count: Int) throws {
        let rows = try d.waitFor("\(count) running in the new daemon", timeout: 30) { rows in
            let live = ProcScan.liveByID(marker: d.marker)
            return rows.count == count && rows.allSatisfy { row in
                row.state == "running" && (live[row.id] ?? []).contains { $0.pid == row.pid }
            }
        }
        let live = ProcScan.liveByID(marker: d.marker)
        let doubled = live.filter { $0.value.count > 1 }
        #expect(doubled.isEmpty, "\(doubled.count) ids run twice, e.g. \(doubled.first.map { "\($0.key): \($0.value.map(\.pid))" } ?? "")")
        #expect(live.count == count)
        for row in rows { #expect(live[row.id]?.map(\.pid) == [row.pid].compactMap { $0 }, "\(row.id)") }
    }

    @Test(arguments: [5, 20, 60])
    func killNineJustAfterStartLeavesOneProcessPerID(millis: Int) throws {
        let d = try DaemonHarness(files: [:])
        try d.write("pool.yaml", Self.pool(d.dir.path, instances: 100))
        defer { d.stop(); ProcScan.killAll(marker: d.marker) }
        try d.start()
        usleep(UInt32(millis) * 1000)
        d.signal(SIGKILL)
        #expect(d.waitExit(timeout: 10) != nil)
        try d.start()
        try Self.expectOneProcessPerID(d, count: 100)
    }

    @Test func killNineJustAfterAScaleUpLeavesOneProcessPerID() throws {
        let d = try DaemonHarness(files: [:])
        try d.write("pool.yaml", Self.pool(d.dir.path, instances: 10))
        defer { d.stop(); ProcScan.killAll(marker: d.marker) }
        try d.start()
        try d.waitRunning(10)
        try d.write("pool.yaml", Self.pool(d.dir.path, instances: 100))
        d.signal(SIGHUP)
        usleep(50_000)
        d.signal(SIGKILL)
        #expect(d.waitExit(timeout: 10) != nil)
        try d.start()
        try Self.expectOneProcessPerID(d, count: 100)
    }

    /// A daemon killed with SIGKILL in the middle of a spawn leaves its vfork-style child
    /// holding the shared fd table (the lock with it) for a moment: the next daemon waits for
    /// it instead of taking it for a live daemon. Simulated: a process holds the lock for
    /// 0.5 s while the file names a pid that is gone.
    @Test func aLockHeldBrieflyForADeadDaemonIsWaitedFor() throws {
        let d = try DaemonHarness(files: [:])
        try d.write("pool.yaml", Self.pool(d.dir.path, instances: 2))
        defer { d.stop(); ProcScan.killAll(marker: d.marker) }
        mkdir(d.state, 0o700)
        let dead = Process()
        dead.executableURL = URL(fileURLWithPath: "/bin/true")
        try dead.run()
        dead.waitUntilExit()
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        holder.arguments = ["python3", "-c", """
            import fcntl, os, sys, time
            fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o600)
            fcntl.flock(fd, fcntl.LOCK_EX)
            os.ftruncate(fd, 0); os.write(fd, (sys.argv[2] + "\\n").encode())
            print("held", flush=True)
            time.sleep(0.5)
            """, d.state + "/director.lock", String(dead.processIdentifier)]
        let out = Pipe()
        holder.standardOutput = out
        try holder.run()
        defer { if holder.isRunning { holder.terminate() } }
        _ = out.fileHandleForReading.availableData  // "held"
        try d.start()
        try d.waitRunning(2, timeout: 20)
        #expect(!d.daemonStderr.contains("another director daemon"), "\(d.daemonStderr.prefix(400))")
    }

    @Test func descendantsThatLeaveTheProcessGroupDieWithTheirChild() throws {
        let d = try DaemonHarness(files: [:])
        // `escape` leaves a session-leading sleep behind at every run; `keeper` keeps one
        // while its main process runs (a service's own worker whose parent exited).
        try d.write("esc.yaml", """
            group: esc
            intensity: 1000
            period: 1s
            jobs:
              - name: escape
                command: ["sh", "-c", "setsid sleep 3600 & sleep 0.3; exit 1"]
                delay: 100ms
                env: {FAULT_RUN: "\(d.dir.path)"}
              - name: keeper
                command: ["sh", "-c", "(setsid sleep 3600 &); exec sleep 3600"]
                env: {FAULT_RUN: "\(d.dir.path)"}
            """)
        defer { d.stop(); ProcScan.killAll(marker: d.marker) }
        try d.start()
        try d.eventually("escape restarted 6 times", timeout: 30) {
            (try d.children(prefix: "esc/escape").first?.restarts ?? 0) >= 6
        }
        // Each run's escaped sleep is stopped once that run has ended: at most the current
        // run's pair and one being stopped, not one per restart.
        let escape = ProcScan.liveByID(marker: d.marker)["esc/escape/0"] ?? []
        #expect(escape.count <= 4, "live processes of esc/escape/0: \(escape.map(\.pid))")
        // The keeper's escaped worker belongs to a running process: it is kept.
        let keeper = ProcScan.liveByID(marker: d.marker)["esc/keeper/0"] ?? []
        #expect(keeper.count == 2, "the keeper and its worker: \(keeper.map(\.pid))")

        // `stop` takes the escaped descendants too.
        #expect(try d.cli("stop", ["esc/escape"]).status == 0)
        try d.eventually("no process of esc/escape/0 left", timeout: 10) {
            ProcScan.liveByID(marker: d.marker)["esc/escape/0"] == nil
        }
        // And so does shutdown, for the keeper's worker.
        d.signal(SIGTERM)
        #expect(d.waitExit(timeout: 20) == 0)
        let left = ProcScan.liveByID(marker: d.marker)
        #expect(left.isEmpty, "left after shutdown: \(left.mapValues { $0.map(\.pid) })")
    }

    @Test func escapedDescendantsOfADeadDaemonAreStoppedByTheNextOne() throws {
        let d = try DaemonHarness(files: [:])
        try d.write("esc.yaml", """
            group: esc
            jobs:
              - name: keeper
                command: ["sh", "-c", "(setsid sleep 3600 &); exec sleep 3600"]
                env: {FAULT_RUN: "\(d.dir.path)"}
            """)
        defer { d.stop(); ProcScan.killAll(marker: d.marker) }
        try d.start()
        try d.eventually("the keeper and its escaped worker", timeout: 20) {
            (ProcScan.liveByID(marker: d.marker)["esc/keeper/0"] ?? []).count == 2
        }
        let before = Set((ProcScan.liveByID(marker: d.marker)["esc/keeper/0"] ?? []).map(\.pid))
        d.signal(SIGKILL)
        #expect(d.waitExit(timeout: 10) != nil)
        try d.start()
        try d.eventually("a new keeper with a new worker, none of the old", timeout: 20) {
            let now = ProcScan.liveByID(marker: d.marker)["esc/keeper/0"] ?? []
            return now.count == 2 && before.isDisjoint(with: now.map(\.pid))
        }
    }

    @Test func aStoppedChildIsContinuedSoItCanActOnItsStopSignal() throws {
        let d = try DaemonHarness(files: [:])
        try d.write("st.yaml", """
            group: st
            jobs:
              - name: frozen
                command: ["sleep", "3600"]
                shutdown: {signal: TERM, timeout: 30s}
                env: {FAULT_RUN: "\(d.dir.path)"}
            """)
        defer { d.stop(); ProcScan.killAll(marker: d.marker) }
        try d.start()
        let pid = try #require(try d.waitRunning(1).first?.pid)
        kill(pid, SIGSTOP)
        try d.eventually("the child is stopped", timeout: 5) { ProcEntry.read(pid)?.state == "T" }
        let asked = Date()
        #expect(try d.cli("stop", ["st/frozen/0"]).status == 0)
        let row = try d.waitForRow("st/frozen/0", "stopped", timeout: 40) { $0["state"] as? String == "stopped" }
        let took = Date().timeIntervalSince(asked)
        #expect(took < 10, "stopped after \(took) s (without SIGCONT: the 30 s timeout, then SIGKILL)")
        #expect((row["last_exit"] as? [String: Any])?["signal"] as? String == "TERM")
    }
}
