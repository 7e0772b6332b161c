import Foundation
import Testing

/// `ready: {notify: true}` through a real daemon: the sd_notify datagram sent by a few lines
/// of Python and by systemd's own `systemd-notify`, the children after the ready child held
/// back until it is ready, and a child never ready stopped with cause `ready_timeout`.
@Suite struct RunReadinessTests {
    /// Sends `message` to $NOTIFY_SOCKET (an `@` name is abstract) once the file `go` exists,
    /// then sleeps.
    static func pythonNotifier(go: String, message: String) -> String {
        """
        ["python3", "-c", "import os, socket, time\\nwhile not os.path.exists('\(go)'): time.sleep(0.02)\\na = os.environ['NOTIFY_SOCKET']\\na = '\\\\0' + a[1:] if a[0] == '@' else a\\ns = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)\\ns.sendto(b'\(message)', a)\\ntime.sleep(3600)"]
        """
    }

    @Test func aPythonChildSignalsReadinessAndTheNextChildStartsOnlyThen() throws {
        let d = try DaemonHarness(files: ["svc.yaml": """
            jobs:
              - name: db
                command: \(Self.pythonNotifier(go: "go", message: "STATUS=warming up\\\\nREADY=1"))
                ready: {notify: true, timeout: 20s}
              - name: api
                command: ["sleep", "3600"]
            """])
        defer { d.stop() }
        try d.start(["--no-watch"])
        // While db is not ready, api waits (backoff, no process).
        let early = try d.waitFor("db running") { rows in rows.contains { $0.id == "svc/db/0" && $0.state == "running" } }
        #expect(early.first { $0.id == "svc/api/0" }?.pid == nil, "api must wait for db: \(early)")
        usleep(200_000)
        #expect(try d.children().first { $0.id == "svc/api/0" }?.pid == nil, "api must wait for db")
        try d.write("go", "")  // in the jobs directory, the child's cwd: now db says READY=1
        let rows = try d.waitRunning(2, timeout: 20)
        let db = try #require(rows.first { $0.id == "svc/db/0" }?.pid)
        #expect(rows.first { $0.id == "svc/api/0" }?.pid != nil)
        let events = try d.eventRows()
        let ready = try #require(events.first { $0.kind == "ready" })
        #expect(ready.id == "svc/db/0" && ready.detail.contains("pid=\(db)"), "\(ready)")
        let apiStart = try #require(events.first { $0.kind == "start" && $0.id == "svc/api/0" })
        #expect(apiStart.seq > ready.seq, "api started before db was ready")
        #expect(d.daemonStderr.contains("svc/db/0 ready pid=\(db)"), "\(d.daemonStderr)")
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/systemd-notify")))
    func systemdNotifyFromAShellChildCounts() throws {
        // systemd-notify runs as a grandchild in the child's process group: attributed by it.
        let d = try DaemonHarness(files: ["sd.yaml": """
            jobs:
              - name: svc
                command: "sleep 0.3; systemd-notify --ready --status='all good'; exec sleep 3600"
                ready: {notify: true, timeout: 20s}
              - name: after
                command: ["sleep", "3600"]
            """])
        defer { d.stop() }
        try d.start(["--no-watch"])
        try d.waitRunning(2, timeout: 20)
        #expect(try d.eventRows().contains { $0.kind == "ready" && $0.id == "sd/svc/0" })
    }

    @Test func notReadyInTimeIsStoppedAndItsRuleDecides() throws {
        let d = try DaemonHarness(files: ["slow.yaml": """
            jobs:
              - name: never
                command: ["sleep", "3600"]
                ready: {notify: true, timeout: 500ms}
                on_exit:
                  - when: {cause: [ready_timeout]}
                    do: wait
              - name: next
                command: ["sleep", "3600"]
            """])
        defer { d.stop() }
        try d.start(["--no-watch"])
        let rows = try d.waitFor("never waiting, next running", timeout: 20) { rows in
            rows.contains { $0.id == "slow/never/0" && $0.state == "waiting" }
                && rows.contains { $0.id == "slow/next/0" && $0.state == "running" }
        }
        #expect(rows.count == 2)
        let events = try d.eventRows()
        #expect(events.contains { $0.kind == "not_ready" && $0.id == "slow/never/0" }, "\(events)")
        #expect(d.daemonStderr.contains("slow/never/0 not ready:"), "\(d.daemonStderr)")
    }

    @Test func aMessageFromAnotherProcessGroupIsIgnored() throws {
        let d = try DaemonHarness(files: ["x.yaml": """
            jobs:
              - name: quiet
                command: ["sleep", "3600"]
                ready: {notify: true, timeout: 30s}
            """])
        defer { d.stop() }
        try d.start(["--no-watch"])
        try d.waitFor("quiet running") { $0.first?.state == "running" }
        // This test process is not in the child's process group: its READY=1 does not count.
        let socket = d.state + "/notify.sock"
        let r = try CommandResult.run(["/usr/bin/python3", "-c",
            "import socket; s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.sendto(b'READY=1', '\(socket)')"])
        #expect(r.status == 0, "\(r.stderr)")
        usleep(300_000)
        #expect(try d.eventRows().contains { $0.kind == "ready" } == false)
    }
}
