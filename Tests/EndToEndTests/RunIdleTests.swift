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
}
