import Foundation
import Testing

/// An exit the daemon asked for (operator stop, shutdown) is logged as info; a crash is a
/// warning. Operators grep for warnings.
@Suite(.serialized) struct RunLogLevelTests {
    @Test func aRequestedStopIsInfoAndACrashIsAWarning() throws {
        let d = try DaemonHarness(files: ["g.yaml": "group: g\njobs:\n  - name: a\n    command: [\"sleep\", \"3600\"]\n    instances: 2\n"])
        defer { d.stop() }
        try d.start(["--log-format", "json"])
        let rows = try d.waitRunning(2)
        #expect(try d.cli("stop", ["g/a/0"]).status == 0)
        kill(try #require(rows[1].pid), SIGKILL)
        try d.waitFor("stopped and replaced") { r in
            r.first { $0.id == "g/a/0" }?.state == "stopped" && r.first { $0.id == "g/a/1" }?.restarts == 1
        }
        let exits = d.daemonStderr.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }.filter { ($0["msg"] as? String)?.hasPrefix("exited") == true }
        let level = { (id: String) in exits.first { $0["id"] as? String == id }?["level"] as? String }
        #expect(level("g/a/0") == "info", "\(exits)")
        #expect(level("g/a/1") == "warning", "\(exits)")
    }
}
