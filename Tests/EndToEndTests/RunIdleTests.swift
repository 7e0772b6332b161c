import Foundation
import Testing

/// An idle daemon does not wake up: no periodic timers, no polling. This is a correctness
/// property (checked with CPU ticks), not a speed measurement.
@Suite(.serialized) struct RunIdleTests {
    @Test func twentySleepingChildrenCostTheDaemonNoCPU() throws {
        let d = try DaemonHarness(files: ["g.yaml": """
            group: g
            jobs:
              - name: sleeper
                command: ["sleep", "3600"]
                instances: 20
            """])
        defer { d.stop() }
        try d.start()
        try d.waitRunning(20)
        let pid = try #require(d.daemonPID)
        // Let the start settle (the last table commit, the first output flush).
        usleep(1_500_000)
        let before = try #require(ProcFS.cpuTicks(pid: pid))
        usleep(3_000_000)
        let after = try #require(ProcFS.cpuTicks(pid: pid))
        #expect(after - before <= 1, "the idle daemon used \(after - before) ticks in 3 s")
        #expect(try d.children().count == 20, "still supervising")
    }

    @Test func theDaemonIsIdleAgainAfterChildrenExited() throws {
        // Exited children leave closed pipes behind; they must stop being watched, or the loop
        // wakes up for their hang-ups forever.
        let d = try DaemonHarness(files: ["g.yaml": """
            group: g
            jobs:
              - name: sleeper
                command: ["sleep", "3600"]
                instances: 3
              - name: once
                command: "echo bye"
                restart: temporary
            """])
        defer { d.stop() }
        try d.start()
        let rows = try d.waitRunning(3)
        kill(rows[0].pid!, SIGKILL)
        try d.waitFor("replaced", prefix: "g/sleeper") { rows in
            rows.count == 3 && rows.allSatisfy { $0.state == "running" && $0.pid != nil }
                && rows.first { $0.id == "g/sleeper/0" }?.restarts == 1
        }
        try d.waitForStdout("g/once/0 stdout: bye")
        let pid = try #require(d.daemonPID)
        usleep(500_000)
        let before = try #require(ProcFS.cpuTicks(pid: pid))
        usleep(3_000_000)
        let after = try #require(ProcFS.cpuTicks(pid: pid))
        #expect(after - before <= 1, "the idle daemon used \(after - before) ticks in 3 s")
    }
}
