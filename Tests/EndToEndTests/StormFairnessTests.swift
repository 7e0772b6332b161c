import Foundation
import Testing

/// Regression: in a crash storm the daemon reaped and restarted children inside one SIGCHLD
/// collection without ever returning to epoll, so pipes piled up (fds leaked until EMFILE),
/// the table was not committed, and SIGTERM was not read.
@Suite(.serialized) struct StormFairnessTests {
    @Test func aCrashStormLeavesFdsBoundedTheTableFreshAndSigtermHeard() throws {
        let d = try DaemonHarness(files: ["storm.yaml": """
            group: storm
            intensity: 100000000
            period: 1s
            jobs:
              - name: crash
                command: ["/bin/sh", "-c", "exit 1"]
                instances: 20
            """])
        defer { d.stop() }
        try d.start(["--intensity", "100000000", "--period", "1s"])
        let pid = try #require(d.process?.processIdentifier)
        // The table keeps up: restart counts grow while the storm goes on.
        let first = try d.waitFor("restarts recorded", timeout: 20) { rows in rows.count == 20 && rows.contains { $0.restarts >= 5 } }
        let firstTotal = first.reduce(0) { $0 + $1.restarts }
        try d.waitFor("restarts keep growing", timeout: 20) { rows in rows.reduce(0) { $0 + $1.restarts } > firstTotal + 50 }
        // 20 children hold 2 fds each (their pipes); anything near the thousands is a leak.
        let fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count) ?? 0
        #expect(fds < 400, "daemon holds \(fds) fds during the storm")
        d.signal(SIGTERM)
        #expect(d.waitExit(timeout: 20) == 0, "SIGTERM must stop the storm and the daemon")
    }
}
