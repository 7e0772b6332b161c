import Foundation
import Testing

/// Restart storms: intensity holds under load, escalation to the root stops the tree and
/// exits 1, and a tree where everything fails with a backoff does not spin the CPU.
@Suite(.serialized) struct FaultStormTests {
    @Test func escalationToTheRootStopsTheTreeCleanlyAndExitsOne() throws {
        let d = try DaemonHarness(files: [:])
        let env = #"env: {FAULT_RUN: "\#(d.dir.path)"}"#
        // `a` fails after 3 restarts in 10 s; the root (--intensity 1) restarts it once, then
        // fails itself. `load` crashes all the time within its own generous intensity, and
        // `steady` must be stopped cleanly.
        try d.write("a.yaml", """
            group: a
            intensity: 3
            period: 10s
            jobs:
              - name: crash
                command: ["sh", "-c", "sleep 0.1; exit 1"]
                \(env)
            """)
        try d.write("b.yaml", """
            group: load
            intensity: 1000000
            period: 1s
            jobs:
              - name: churn
                command: ["sh", "-c", "sleep 0.05; exit 1"]
                instances: 20
                \(env)
            """)
        try d.write("c.yaml", """
            group: steady
            jobs:
              - name: sleeper
                command: ["sleep", "3600"]
                instances: 5
                \(env)
            """)
        defer { d.stop(); ProcScan.killAll(marker: d.marker) }
        try d.start(["--intensity", "1", "--period", "10s", "--root-failure", "exit"])
        #expect(d.waitExit(timeout: 60) == 1, "the root failed: exit status 1; stderr: \(d.daemonStderr.suffix(1500))")
        try d.eventually("every child process gone") { ProcScan.liveByID(marker: d.marker).isEmpty }

        let events = try d.eventRows()
        let restarts = events.filter { $0.kind == "restart" && $0.id == "a/crash/0" }.count
        // 3 restarts allowed per life of the group, the 4th fails it; two lives.
        #expect(restarts >= 4 && restarts <= 8, "restarts of a/crash/0: \(restarts)")
        #expect(events.filter { $0.kind == "group_failed" && $0.id == "a" }.count == 2)
        #expect(events.contains { $0.kind == "group_failed" && $0.id == "" }, "the root failed")
        #expect(!events.contains { $0.kind == "group_failed" && $0.id == "load" }, "load stayed within its intensity")
        // Every steady child was stopped, none died on its own.
        let steadyExits = events.filter { $0.kind == "exit" && $0.id.hasPrefix("steady/") }
        #expect(steadyExits.count == 5)
        #expect(steadyExits.allSatisfy { $0.detail.contains("TERM") }, "\(steadyExits.map(\.detail))")
        #expect(d.daemonStderr.contains("director stopped status=1"))
    }

    @Test func everyChildFailingWithABackoffDoesNotBusyLoop() throws {
        let d = try DaemonHarness(files: [:])
        try d.write("fail.yaml", """
            group: fail
            intensity: 1000000
            period: 1s
            jobs:
              - name: broken
                command: ["false"]
                instances: 50
                backoff: {initial: 100ms, max: 2s, factor: 2}
                env: {FAULT_RUN: "\(d.dir.path)"}
            """)
        defer { d.stop(); ProcScan.killAll(marker: d.marker) }
        try d.start()
        let daemon = try #require(d.runningDaemonPID)
        // Let the backoff reach its ceiling (100 ms doubling to 2 s: about 4 s).
        try d.eventually("every child backed off several times", timeout: 30) {
            let rows = try d.children()
            return rows.count == 50 && rows.allSatisfy { $0.restarts >= 5 }
        }
        let before = try #require(ProcEntry.read(daemon)).cpuTicks
        let window = 5.0
        let started = Date()
        usleep(UInt32(window * 1e6))
        let after = try #require(ProcEntry.read(daemon)).cpuTicks
        let elapsed = Date().timeIntervalSince(started)
        let ticksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))
        let share = Double(after - before) / ticksPerSecond / elapsed
        print("fault: 50 failing children with backoff: daemon CPU \(Int(share * 100))% of one core")
        #expect(share < 0.2, "daemon used \(share * 100)% of a core")
        #expect(try d.eventRows().filter { $0.kind == "restart" }.count >= 250, "the children keep being restarted")
        // Each exit's pipes are closed: the daemon's descriptors do not grow with restarts.
        let fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(daemon)/fd").count) ?? 0
        #expect(fds > 0 && fds < 200, "daemon holds \(fds) descriptors for 50 children")
    }
}
