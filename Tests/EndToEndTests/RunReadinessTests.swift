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

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/systemd-notify")))
    func systemdNotifyFeedsTheWatchdogAndSetsTheStatus() throws {
        // systemd's own tool from a shell child: WATCHDOG=1 keeps the child alive, its silence
        // is SIGABRT and cause `watchdog`.
        let d = try DaemonHarness(files: ["sd.yaml": """
            jobs:
              - name: beat
                command: "systemd-notify --status='beating'; while [ ! -e stop ]; do systemd-notify WATCHDOG=1; sleep 0.1; done; exec sleep 3600"
                watchdog: 3s
                on_exit:
                  - when: {cause: [watchdog]}
                    do: wait
            """])
        defer { d.stop() }
        try d.start(["--no-watch"])
        let row = try d.waitForRow("sd/beat/0", "status") { $0["status"] as? String == "beating" }
        usleep(4_000_000)
        #expect(try d.row("sd/beat/0")?["pid"] as? NSNumber == row["pid"] as? NSNumber, "fed, it keeps running")
        try d.write("stop", "")
        let ended = try d.waitForRow("sd/beat/0", "waiting", timeout: 20) { $0["state"] as? String == "waiting" }
        #expect((ended["last_exit"] as? [String: Any])?["signal"] as? String == "ABRT", "\(ended)")
        #expect((ended["last_exit"] as? [String: Any])?["cause"] as? String == "watchdog", "\(ended)")
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
        let never = try #require(try d.row("slow/never/0"))
        #expect((never["last_exit"] as? [String: Any])?["cause"] as? String == "ready_timeout", "\(never)")
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
        let rows = try d.waitFor("quiet running") { $0.first?.state == "running" }
        // This test process is not in the child's process group: its READY=1 does not count.
        let socket = try Self.notifySocket(of: try #require(rows.first?.pid))
        let r = try CommandResult.run(["/usr/bin/python3", "-c", Self.send("READY=1", to: socket)])
        #expect(r.status == 0, "\(r.stderr)")
        usleep(300_000)
        #expect(try d.eventRows().contains { $0.kind == "ready" } == false)
    }

    /// `$NOTIFY_SOCKET` as the child `pid` got it.
    static func notifySocket(of pid: Int32) throws -> String {
        let env = try #require(FileManager.default.contents(atPath: "/proc/\(pid)/environ"))
        let entry = try #require(String(decoding: env, as: UTF8.self).split(separator: "\u{0}").first { $0.hasPrefix("NOTIFY_SOCKET=") })
        return String(entry.dropFirst("NOTIFY_SOCKET=".count))
    }

    /// Python that sends `message` to `socket` (an `@` name is abstract).
    static func send(_ message: String, to socket: String) -> String {
        "import socket\na = '\(socket)'\na = '\\0' + a[1:] if a[0] == '@' else a\ns = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)\ns.sendto(b'\(message)', a)"
    }

    @Test func statusIsShownInPsAndTheTableAndUnknownKeysAreIgnored() throws {
        let d = try DaemonHarness(files: ["s.yaml": """
            jobs:
              - name: svc
                command: \(Self.pythonNotifier(go: "go", message: "FANCY_KEY=1\\\\nSTATUS=serving 3 clients\\\\nREADY=1"))
                ready: {notify: true, timeout: 20s}
            """])
        defer { d.stop() }
        try d.start(["--no-watch"])
        try d.write("go", "")
        let row = try d.waitForRow("s/svc/0", "ready") { $0["ready"] as? Bool == true }
        #expect(row["status"] as? String == "serving 3 clients")
        let ps = try d.cli("ps")
        let lines = ps.stdout.split(separator: "\n")
        #expect(lines.first?.hasPrefix("ID") == true && lines.first?.hasSuffix("STATUS") == true, "\(ps.stdout)")
        #expect(lines.contains { $0.hasPrefix("s/svc/0") && $0.contains(" yes ") && $0.hasSuffix("serving 3 clients") }, "\(ps.stdout)")
    }

    @Test func restartResetSetsTheRestartCountBackToZero() throws {
        // Crashes twice, then (third run) a grandchild in its process group sends RESTART_RESET=1.
        let d = try DaemonHarness(files: ["r.yaml": """
            jobs:
              - name: flaky
                command: "n=$(cat count 2>/dev/null || echo 0); echo $((n+1)) > count; [ $n -lt 2 ] && exit 1; python3 -c \\"$SEND\\"; exec sleep 3600"
                env: {SEND: "import os, socket\\na = os.environ['NOTIFY_SOCKET']\\na = chr(0) + a[1:] if a[0] == '@' else a\\nsocket.socket(socket.AF_UNIX, socket.SOCK_DGRAM).sendto(b'RESTART_RESET=1', a)"}
                watchdog: 1h
            """])
        defer { d.stop() }
        try d.start(["--no-watch"])
        // The third run's message may come before any poll sees its count of 2: the events say
        // it was 2, the row that it is 0 again while the third process runs.
        let row = try d.waitForRow("r/flaky/0", "reset", timeout: 20) { row in
            (row["restarts"] as? NSNumber)?.intValue == 0 && row["state"] as? String == "running"
                && (try? String(contentsOfFile: d.jobs + "/count", encoding: .utf8)) == "3\n"
        }
        #expect(try d.eventRows().contains { $0.kind == "restart" && $0.detail.hasPrefix("restarts=2") })
        #expect(row["last_exit"] != nil, "the row is the third process's, after two crashes")
    }

    @Test func reloadingThenReadyAndAMainPIDThatIsADescendant() throws {
        // The child announces a grandchild that leaves its process group (setsid) as MAINPID;
        // that grandchild's RELOADING=1 / READY=1 then count. MAINPID=1 is refused.
        let script = """
            import os, socket, time
            a = os.environ['NOTIFY_SOCKET']
            a = chr(0) + a[1:] if a[0] == '@' else a
            def send(m): socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM).sendto(m.encode(), a)
            r, w = os.pipe()
            pid = os.fork()
            if pid == 0:
                os.setsid()
                os.read(r, 1)
                send('READY=1')
                while not os.path.exists('reload'): time.sleep(0.02)
                send('RELOADING=1')
                while not os.path.exists('reloaded'): time.sleep(0.02)
                send('READY=1')
                time.sleep(3600)
            send('MAINPID=1')
            send('MAINPID=%d' % pid)
            time.sleep(0.2)
            os.write(w, b'x')
            os.waitpid(pid, 0)
            """
        let d = try DaemonHarness(files: ["m.yaml": """
            jobs:
              - name: svc
                command: ["python3", "main.py"]
                ready: {notify: true, timeout: 20s}
            """, "main.py": script])
        defer { d.stop() }
        try d.start(["--no-watch"])
        try d.waitForRow("m/svc/0", "ready") { $0["ready"] as? Bool == true }
        #expect(d.daemonStderr.contains("ignored MAINPID=1: not a descendant"), "\(d.daemonStderr)")
        #expect(d.daemonStderr.contains("main pid is now"), "\(d.daemonStderr)")
        try d.write("reload", "")
        try d.waitForRow("m/svc/0", "reloading") { $0["ready"] as? Bool == false }
        try d.write("reloaded", "")
        try d.waitForRow("m/svc/0", "ready again") { $0["ready"] as? Bool == true }
        #expect(try d.eventRows().filter { $0.kind == "ready" }.count == 2)
        // The grandchild left the process group: stop it with the test (it is in the cgroup or
        // carries the marker, so the harness's cleanup finds it too).
    }

    @Test(.enabled(if: getuid() == 0))
    func aChildRunningAsAnotherUserReachesTheNotifySocket() throws {
        let d = try DaemonHarness(files: ["u.yaml": """
            jobs:
              - name: svc
                command: ["/usr/bin/python3", "-c", "import os, socket\\na = os.environ['NOTIFY_SOCKET']\\na = chr(0) + a[1:] if a[0] == '@' else a\\nsocket.socket(socket.AF_UNIX, socket.SOCK_DGRAM).sendto(b'READY=1', a)\\nimport time\\ntime.sleep(3600)"]
                cwd: /
                user: nobody
                ready: {notify: true, timeout: 20s}
            """])
        defer { d.stop() }
        try d.start(["--no-watch"])
        let row = try d.waitForRow("u/svc/0", "ready") { $0["ready"] as? Bool == true }
        let pid = try #require((row["pid"] as? NSNumber)?.int32Value)
        let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        #expect(status.contains("Uid:\t65534"), "runs as nobody")
        // The state directory stays 0700.
        var st = stat()
        #expect(stat(d.state, &st) == 0 && st.st_mode & 0o777 == 0o700)
    }
}
