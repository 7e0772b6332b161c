import Foundation
import Testing

/// Readiness each way (s6 fd, tcp, http, exec), health checks and the watchdog through a real
/// daemon, against a real Python server on 127.0.0.1 at a free port.
@Suite struct RunProbeTests {
    static let server = RepoPaths.root + "/Tests/EndToEndTests/Scripts/probe_server.py"

    /// A port nothing listens on now (bound to port 0 and released).
    static func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { p in
                bind(fd, p, length) == 0 ? getsockname(fd, p, &length) : -1
            }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    static func command(_ options: String) -> String {
        "[\"/usr/bin/python3\", \"\(server)\", " + options.split(separator: " ").map { "\"\($0)\"" }.joined(separator: ", ") + "]"
    }

    /// db signals readiness by `ready`; api after it must wait until the file `go` exists.
    private func checkHeldBackUntilGo(_ ready: String, server options: String) throws {
        let d = try DaemonHarness(files: ["svc.yaml": """
            jobs:
              - name: db
                command: \(Self.command(options))
                ready: \(ready)
              - name: api
                command: ["sleep", "3600"]
            """])
        defer { d.stop() }
        try d.start(["--no-watch"])
        try d.waitFor("db running") { rows in rows.contains { $0.id == "svc/db/0" && $0.state == "running" } }
        usleep(400_000)
        #expect(try d.children().first { $0.id == "svc/api/0" }?.pid == nil, "api must wait for db")
        #expect(try d.row("svc/db/0")?["ready"] as? Bool == false)
        try d.write("go", "")
        let rows = try d.waitRunning(2, timeout: 20)
        let db = try #require(rows.first { $0.id == "svc/db/0" }?.pid)
        let events = try d.eventRows()
        let readyEvent = try #require(events.first { $0.kind == "ready" })
        #expect(readyEvent.id == "svc/db/0" && readyEvent.detail.contains("pid=\(db)"), "\(readyEvent)")
        let apiStart = try #require(events.first { $0.kind == "start" && $0.id == "svc/api/0" })
        #expect(apiStart.seq > readyEvent.seq, "api started before db was ready")
        #expect(try d.row("svc/db/0")?["ready"] as? Bool == true)
    }

    @Test func s6ReadinessANewlineOnFd3() throws {
        try checkHeldBackUntilGo("{fd: 3, timeout: 20s}", server: "--go go --fd 3")
    }

    @Test func tcpReadinessPolledUntilTheServerListens() throws {
        let port = Self.freePort()
        try checkHeldBackUntilGo("{tcp: \(port), timeout: 20s}", server: "--go go --listen \(port)")
    }

    @Test func httpReadinessNeedsA2xxAnswer() throws {
        // The server listens at once but answers 503 until `go` exists (the health file is
        // `go` itself, empty: 200).
        let port = Self.freePort()
        let d = try DaemonHarness(files: ["svc.yaml": """
            jobs:
              - name: db
                command: \(Self.command("--listen \(port) --http --health status"))
                ready: {http: "http://127.0.0.1:\(port)/healthz", timeout: 20s}
              - name: api
                command: ["sleep", "3600"]
            """, "status": "503"])
        defer { d.stop() }
        try d.start(["--no-watch"])
        try d.waitFor("db running") { rows in rows.contains { $0.id == "svc/db/0" && $0.state == "running" } }
        // Wait until the server answers (503) before judging: readiness must not count it.
        let deadline = Date().addingTimeInterval(10)
        let ask = "import urllib.request, urllib.error\ntry: urllib.request.urlopen('http://127.0.0.1:\(port)/', timeout=1)\nexcept urllib.error.HTTPError as e: print(e.code)\nexcept Exception: print(0)"
        while Date() < deadline, (try? CommandResult.run(["/usr/bin/python3", "-c", ask]).stdout) != "503\n" {
            usleep(50_000)
        }
        usleep(300_000)
        #expect(try d.children().first { $0.id == "svc/api/0" }?.pid == nil, "a 503 is not ready")
        try d.write("status", "204")
        try d.waitRunning(2, timeout: 20)
        #expect(try d.eventRows().contains { $0.kind == "ready" && $0.id == "svc/db/0" })
    }

    @Test func execReadinessExitZero() throws {
        try checkHeldBackUntilGo("{exec: [\"test\", \"-e\", \"go\"], timeout: 20s}", server: "--listen \(Self.freePort())")
    }

    @Test func anUnhealthyChildIsStoppedWithItsShutdownAndItsRuleDecides() throws {
        let port = Self.freePort()
        let d = try DaemonHarness(files: ["web.yaml": """
            jobs:
              - name: web
                command: \(Self.command("--listen \(port) --http --health status"))
                ready: {http: "http://127.0.0.1:\(port)/", timeout: 20s}
                health: {http: "http://127.0.0.1:\(port)/healthz", interval: 100ms, timeout: 1s, failures: 3}
                shutdown: {signal: INT, timeout: 5s}
                on_exit:
                  - when: {cause: [unhealthy]}
                    do: wait
            """, "status": "200"])
        defer { d.stop() }
        try d.start(["--no-watch"])
        try d.waitForRow("web/web/0", "ready") { $0["ready"] as? Bool == true }
        // Healthy for a while: many checks pass, nothing happens.
        usleep(700_000)
        #expect(try d.row("web/web/0")?["state"] as? String == "running")
        try d.write("status", "500")
        let row = try d.waitForRow("web/web/0", "waiting", timeout: 20) { $0["state"] as? String == "waiting" }
        let events = try d.eventRows()
        let notReady = try #require(events.first { $0.kind == "not_ready" })
        #expect(notReady.detail.contains("unhealthy: 3 health checks failed in a row (last: HTTP 500)"), "\(notReady)")
        // Stopped with the job's shutdown signal (Python dies of SIGINT's KeyboardInterrupt or the signal).
        #expect(events.contains { $0.kind == "stop" && $0.detail.contains("signal=INT") }, "\(events)")
        #expect(events.contains { $0.kind == "wait" }, "the rule for `unhealthy` decided: \(events)")
        #expect(row["ready"] as? Bool == false || row["ready"] == nil)
        #expect((row["last_exit"] as? [String: Any])?["cause"] as? String == "unhealthy", "\(row)")
        #expect(d.daemonStderr.contains("web/web/0 not ready: pid="), "\(d.daemonStderr)")
    }

    @Test func anExecHealthCheckThatHangsIsKilledAtItsTimeout() throws {
        let d = try DaemonHarness(files: ["w.yaml": """
            jobs:
              - name: w
                command: ["sleep", "3600"]
                health: {exec: ["sleep", "1000"], interval: 100ms, timeout: 200ms, failures: 2}
                on_exit:
                  - when: {cause: [unhealthy]}
                    do: wait
            """])
        defer { d.stop() }
        try d.start(["--no-watch"])
        let row = try d.waitForRow("w/w/0", "waiting", timeout: 20) { $0["state"] as? String == "waiting" }
        #expect((row["last_exit"] as? [String: Any])?["cause"] as? String == "unhealthy", "\(row)")
        let notReady = try #require(try d.eventRows().first { $0.kind == "not_ready" })
        #expect(notReady.detail.contains("(last: timed out after 200ms)"), "\(notReady)")
        // The helpers were killed at their timeout: no `sleep 1000` of this daemon is left.
        let deadline = Date().addingTimeInterval(5)
        var left: [String] = []
        repeat {
            left = Self.processes(withMarker: d.state).filter { $0.contains("sleep\u{0}1000") }
            if left.isEmpty { break }
            usleep(50_000)
        } while Date() < deadline
        #expect(left.isEmpty, "\(left)")
    }

    @Test func aProbeThatHangsDoesNotHoldTheDaemonUp() throws {
        // The server accepts and never answers: every health check waits its full 20 s
        // timeout. Meanwhile the daemon must go on serving its control socket at once.
        let port = Self.freePort()
        let d = try DaemonHarness(files: ["h.yaml": """
            jobs:
              - name: mute
                command: \(Self.command("--listen \(port) --hang"))
                ready: {tcp: \(port), timeout: 20s}
                health: {http: "http://127.0.0.1:\(port)/", interval: 50ms, timeout: 20s, failures: 1}
              - name: other
                command: ["sleep", "3600"]
            """])
        defer { d.stop() }
        try d.start(["--no-watch"])
        try d.waitRunning(2, timeout: 20)
        usleep(500_000)  // a check is now hanging on its connection
        for _ in 0..<3 {
            let started = Date()
            let r = try d.cli("restart", ["h/other/0"])
            #expect(r.status == 0, "\(r.stderr)")
            // A loop blocked on the probe would answer only after the probe's 20 s.
            #expect(Date().timeIntervalSince(started) < 10, "the control socket waited for the probe")
        }
        #expect(try d.row("h/mute/0")?["state"] as? String == "running")
    }

    /// Command lines of the processes whose environment carries this daemon's marker.
    static func processes(withMarker state: String) -> [String] {
        let marker = "DIRECTOR_STATE=" + state
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { pid -> String? in
            guard Int32(pid) != nil,
                let env = FileManager.default.contents(atPath: "/proc/\(pid)/environ"),
                String(decoding: env, as: UTF8.self).split(separator: "\u{0}").contains(Substring(marker)),
                let cmd = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline")
            else { return nil }
            return String(decoding: cmd, as: UTF8.self)
        }
    }

    @Test func aChildThatStopsSendingWatchdogGetsSIGABRTAndCauseWatchdog() throws {
        let d = try DaemonHarness(files: ["wd.yaml": """
            jobs:
              - name: beat
                command: \(Self.command("--env-out env.json --watchdog-until stop"))
                watchdog: 3s
                rlimits: {core: 0}
                on_exit:
                  - when: {cause: [watchdog]}
                    do: wait
            """])
        defer { d.stop() }
        try d.start(["--no-watch"])
        let running = try d.waitForRow("wd/beat/0", "running") { $0["state"] as? String == "running" }
        let pid = try #require((running["pid"] as? NSNumber)?.int32Value)
        // Fed every 750 ms: it keeps running well past its 3 s. (3 s, not less: the watchdog
        // starts at the spawn, and Python's start takes a second on a loaded machine.)
        usleep(4_500_000)
        #expect(try d.row("wd/beat/0")?["pid"] as? NSNumber == NSNumber(value: pid))
        let env = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: d.jobs + "/env.json"))) as? [String: Any])
        #expect(env["WATCHDOG_USEC"] as? String == "3000000")
        #expect(env["WATCHDOG_PID"] as? String == String(pid), "WATCHDOG_PID is the child's own pid: \(env)")
        #expect((env["NOTIFY_SOCKET"] as? String)?.hasPrefix("@director-") == true)
        try d.write("stop", "")
        let row = try d.waitForRow("wd/beat/0", "waiting", timeout: 20) { $0["state"] as? String == "waiting" }
        #expect((row["last_exit"] as? [String: Any])?["signal"] as? String == "ABRT", "\(row)")
        #expect((row["last_exit"] as? [String: Any])?["cause"] as? String == "watchdog", "\(row)")
        let events = try d.eventRows()
        #expect(events.contains { $0.kind == "not_ready" && $0.detail.contains("watchdog: no WATCHDOG=1 within 3000ms") }, "\(events)")
        #expect(events.contains { $0.kind == "stop" && $0.detail.contains("signal=ABRT") }, "\(events)")
    }
}
