import Foundation
import Testing

/// Rolling updates through a real daemon: a pool of Python servers sharing one port
/// (SO_REUSEPORT on 127.0.0.1), each saying READY=1 once it listens, and a client that
/// connects over and over for the whole roll.
@Suite(.serialized) struct RollingUpdateTests {
    /// A server: listens on 127.0.0.1:PORT with SO_REUSEPORT, then says READY=1 (version
    /// `broken` never gets that far, nor `no0` as instance 0), answers each connection with `VERSION PID`. On SIGTERM it accepts
    /// what is already queued, closes its listener and answers those before it exits, as a
    /// server that drains does.
    static let server = """
        import os, signal, socket, sys, time
        port, version = int(sys.argv[1]), sys.argv[2]
        if version == "broken" or (version == "no0" and os.environ["DIRECTOR_INSTANCE"] == "0"):
            time.sleep(3600)  # never listens, never ready
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        s.bind(("127.0.0.1", port))
        s.listen(512)
        stopping = []
        signal.signal(signal.SIGTERM, lambda *_: stopping.append(1))
        a = os.environ["NOTIFY_SOCKET"]
        a = "\\0" + a[1:] if a[0] == "@" else a
        socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM).sendto(b"READY=1", a)
        answer = ("%s %d\\n" % (version, os.getpid())).encode()
        s.settimeout(0.05)
        while not stopping:
            try:
                c, _ = s.accept()
            except (socket.timeout, InterruptedError):
                continue
            c.sendall(answer)
            c.close()
        s.setblocking(False)
        queued = []
        while True:
            try:
                queued.append(s.accept()[0])
            except (BlockingIOError, InterruptedError):
                break
        s.close()
        for c in queued:
            c.sendall(answer)
            c.close()
        """

    /// Connects to 127.0.0.1:PORT until the file `stop` exists, one connection at a time;
    /// writes `{"ok": N, "refused": N, "errors": [...], "versions": {...}}` to `out`.
    static let client = """
        import json, os, socket, sys, time
        port, stop, out = int(sys.argv[1]), sys.argv[2], sys.argv[3]
        ok, refused, errors, versions = 0, 0, [], {}
        while not os.path.exists(stop):
            c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            c.settimeout(30)  # a loaded machine is slow, never refusing
            try:
                c.connect(("127.0.0.1", port))
                data = b""
                while True:
                    chunk = c.recv(100)
                    if not chunk:
                        break
                    data += chunk
                if data:
                    ok += 1
                    v = data.split()[0].decode()
                    versions[v] = versions.get(v, 0) + 1
                else:
                    errors.append("empty answer")
            except ConnectionRefusedError:
                refused += 1
            except OSError as e:
                errors.append(repr(e))
            finally:
                c.close()
            time.sleep(0.002)
        json.dump({"ok": ok, "refused": refused, "errors": errors, "versions": versions}, open(out + ".tmp", "w"))
        os.rename(out + ".tmp", out)
        """

    /// A free TCP port on 127.0.0.1 (bound to 0 and released; the servers bind it again).
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { p -> Bool in
                bind(fd, p, len) == 0 && getsockname(fd, p, &len) == 0
            }
        }
        try #require(bound, "cannot bind a probe socket on 127.0.0.1")
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    static func manifest(port: Int, version: String, instances: Int, update: String = "rolling", timeout: String = "10s") -> String {
        """
        jobs:
          - name: web
            command: ["python3", "server.py", "\(port)", "\(version)"]
            instances: \(instances)
            ready: {notify: true, timeout: \(timeout)}
            update: \(update)
            shutdown: {signal: TERM, timeout: 5s}
        """
    }

    /// The client running against `port` until `finish()`; its counts then.
    final class Client {
        let process = Process()
        let stop: String
        let out: String

        init(port: Int, in dir: String) throws {
            stop = dir + "/client.stop"
            out = dir + "/client.json"
            try RollingUpdateTests.client.write(toFile: dir + "/client.py", atomically: true, encoding: .utf8)
            process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
            process.arguments = [dir + "/client.py", String(port), stop, out]
            try process.run()
        }

        /// Stops the client (bounded) and returns what it saw.
        func finish() throws -> [String: Any] {
            _ = FileManager.default.createFile(atPath: stop, contents: nil)
            let deadline = Date().addingTimeInterval(15)
            while process.isRunning && Date() < deadline { usleep(20_000) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
            let data = try #require(FileManager.default.contents(atPath: out), "the client wrote nothing")
            return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        }

        deinit {
            if process.isRunning {
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
            }
        }
    }

    /// Waits (bounded) for an event of `kind` about `subject`.
    static func waitEvent(_ d: DaemonHarness, _ kind: String, _ subject: String, timeout: Double = 120) throws -> EventRow {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let row = try d.eventRows().first(where: { $0.kind == kind && $0.id == subject }) { return row }
            usleep(100_000)
        }
        Issue.record("no \(kind) event for \(subject); stderr: \(d.daemonStderr.suffix(3000))")
        throw HarnessError.timeout(kind)
    }

    @Test func aPoolOfTenRollsBehindOnePortAndTheClientIsNeverRefused() throws {
        let port = try Self.freePort()
        let d = try DaemonHarness(files: ["pool.yaml": Self.manifest(port: port, version: "v1", instances: 10), "server.py": Self.server])
        defer { d.stop() }
        try d.start(["--no-watch"])
        let before = d.pids(try d.waitFor("10 ready", timeout: 60) { rows in
            rows.filter { $0.state == "running" && $0.pid != nil }.count == 10
        })
        _ = try Self.waitEvent(d, "ready", "pool/web/9", timeout: 60)
        let client = try Client(port: port, in: d.dir.path)
        usleep(300_000)
        try d.write("pool.yaml", Self.manifest(port: port, version: "v2", instances: 10))
        let reload = try d.cli("reload")
        #expect(reload.status == 0, "\(reload.stderr)")
        #expect(reload.stdout.contains("restarted 10") && reload.stdout.contains("rolling 1 job(s)"), "\(reload.stdout)")
        let done = try Self.waitEvent(d, "roll_done", "pool/web")
        usleep(300_000)
        let seen = try client.finish()

        #expect(done.detail == "10 of 10 instance(s) replaced (reload)")
        #expect(seen["refused"] as? Int == 0, "refused connections during the roll: \(seen)")
        #expect((seen["errors"] as? [String])?.isEmpty == true, "\(seen)")
        let versions = seen["versions"] as? [String: Int] ?? [:]
        #expect((versions["v1"] ?? 0) > 0 && (versions["v2"] ?? 0) > 0, "the client must see both versions: \(seen)")
        // The pool ends as itself: ten slots, all new processes running v2; the spare is gone.
        let rows = try d.waitFor("the spare gone") { rows in rows.count == 10 && rows.allSatisfy { $0.state == "running" } }
        #expect(rows.map(\.id) == (0..<10).map { "pool/web/\($0)" })
        let after = d.pids(rows)
        #expect(changedPids(before, after).count == 10)
        for (_, pid) in after { #expect(commandLine(of: pid).last == "v2") }
        // One instance at a time: the spare (pool/web/10) started first, and each old
        // instance stopped only after the previous new one was ready.
        let events = try d.eventRows()
        let spareStart = try #require(events.first { $0.kind == "start" && $0.id == "pool/web/10" })
        let firstStop = try #require(events.first { $0.kind == "stop" && $0.id == "pool/web/0" && $0.seq > spareStart.seq })
        let spareReady = try #require(events.first { $0.kind == "ready" && $0.id == "pool/web/10" })
        #expect(spareReady.seq < firstStop.seq)
        for i in 1..<10 {
            let stop = try #require(events.first { $0.kind == "stop" && $0.id == "pool/web/\(i)" && $0.seq > spareStart.seq })
            let previousReady = try #require(events.last { $0.kind == "ready" && $0.id == "pool/web/\(i - 1)" })
            #expect(previousReady.seq < stop.seq, "pool/web/\(i) stopped before pool/web/\(i - 1) was ready again")
        }
        let meta = try d.reloadMeta()
        let rolls = meta?["rolls"] as? [[String: Any]]
        #expect(rolls?.first?["job"] as? String == "pool/web" && rolls?.first?["state"] as? String == "done", "\(String(describing: meta))")
    }

    @Test func restartingAllAtOnceIsRefusedMeanwhile() throws {
        // The control: the same pool with `update: restart` leaves the port without a
        // listener for a moment, and the same client sees it. Without this, "never refused"
        // above could be a client that cannot see refusals.
        let port = try Self.freePort()
        let d = try DaemonHarness(files: [
            "pool.yaml": Self.manifest(port: port, version: "v1", instances: 3, update: "restart"), "server.py": Self.server,
        ])
        defer { d.stop() }
        try d.start(["--no-watch"])
        _ = try Self.waitEvent(d, "ready", "pool/web/2", timeout: 60)
        let client = try Client(port: port, in: d.dir.path)
        usleep(300_000)
        try d.write("pool.yaml", Self.manifest(port: port, version: "v2", instances: 3, update: "restart"))
        #expect(try d.cli("reload").status == 0)
        try d.waitFor("v2 running", timeout: 60) { rows in
            rows.count == 3 && rows.allSatisfy { $0.state == "running" && $0.pid.map { commandLine(of: $0).last == "v2" } == true }
        }
        usleep(500_000)
        let seen = try client.finish()
        #expect((seen["refused"] as? Int ?? 0) > 0, "an all-at-once restart should leave a gap: \(seen)")
    }

    @Test func aNewInstanceThatIsNeverReadyStopsTheRollAndTheOldOnesKeepServing() throws {
        let port = try Self.freePort()
        let d = try DaemonHarness(files: ["pool.yaml": Self.manifest(port: port, version: "v1", instances: 4), "server.py": Self.server])
        defer { d.stop() }
        try d.start(["--no-watch"])
        _ = try Self.waitEvent(d, "ready", "pool/web/3", timeout: 60)
        let before = d.pids(try d.waitRunning(4))
        let client = try Client(port: port, in: d.dir.path)
        try d.write("pool.yaml", Self.manifest(port: port, version: "broken", instances: 4, timeout: "1s"))
        #expect(try d.cli("reload").status == 0)
        let stopped = try Self.waitEvent(d, "roll_stopped", "pool/web", timeout: 30)
        #expect(stopped.detail == "new instance pool/web/4 was not ready within 1000ms; 4 old instance(s) keep running", "\(stopped)")
        let rows = try d.waitFor("the spare gone") { $0.count == 4 }
        usleep(300_000)
        let seen = try client.finish()
        // Nothing old was touched, and the client was served throughout by v1 only.
        #expect(d.pids(rows) == before)
        #expect(seen["refused"] as? Int == 0 && (seen["errors"] as? [String])?.isEmpty == true, "\(seen)")
        #expect(Set((seen["versions"] as? [String: Int] ?? [:]).keys) == ["v1"], "\(seen)")
        let meta = try d.reloadMeta()
        let roll = (meta?["rolls"] as? [[String: Any]])?.first
        #expect(roll?["state"] as? String == "stopped" && (roll?["detail"] as? String)?.contains("not ready within 1000ms") == true,
            "\(String(describing: meta))")
        #expect(d.daemonStderr.contains("pool/web rolling update stopped: new instance pool/web/4 was not ready"), "\(d.daemonStderr.suffix(2000))")
        // Back to v1: the old instances already run it and are left alone; an operator's
        // rolling restart then rolls them all.
        try d.write("pool.yaml", Self.manifest(port: port, version: "v1", instances: 4))
        let back = try d.cli("reload")
        #expect(back.status == 0 && back.stdout.contains("restarted 0"), "\(back.stdout) \(back.stderr)")
        #expect(d.pids(try d.children()) == before)
        let r = try d.cli("restart", ["--rolling", "pool/web"])
        #expect(r.status == 0 && r.stdout.contains("pool/web/0: rolling"), "\(r.stdout) \(r.stderr)")
        let done = try Self.waitEvent(d, "roll_done", "pool/web", timeout: 60)
        #expect(done.detail == "4 of 4 instance(s) replaced (operator)")
        #expect(changedPids(before, d.pids(try d.waitFor("4 rows") { $0.count == 4 })).count == 4)
    }

    @Test func aReplacementThatIsNeverReadyGoesBackToTheOldVersionWhileTheSpareServes() throws {
        let port = try Self.freePort()
        let d = try DaemonHarness(files: ["pool.yaml": Self.manifest(port: port, version: "v1", instances: 4), "server.py": Self.server])
        defer { d.stop() }
        try d.start(["--no-watch"])
        _ = try Self.waitEvent(d, "ready", "pool/web/3", timeout: 60)
        let before = d.pids(try d.waitRunning(4))
        let client = try Client(port: port, in: d.dir.path)
        // `no0`: fine as the spare pool/web/4, never ready as slot 0.
        try d.write("pool.yaml", Self.manifest(port: port, version: "no0", instances: 4, timeout: "1s"))
        #expect(try d.cli("reload").status == 0)
        let stopped = try Self.waitEvent(d, "roll_stopped", "pool/web", timeout: 30)
        #expect(stopped.detail == "new instance pool/web/0 was not ready within 1000ms; 3 old instance(s) keep running; "
            + "pool/web/4 serve(s) until pool/web/0 (back on the old spec) is ready", "\(stopped)")
        // Slot 0 comes back as v1, then the spare leaves.
        let rows = try d.waitFor("slot 0 back on v1, the spare gone", timeout: 30) { rows in
            rows.count == 4 && rows.allSatisfy { $0.state == "running" }
                && rows.first { $0.id == "pool/web/0" }?.pid.map { commandLine(of: $0).last == "v1" } == true
        }
        usleep(300_000)
        let seen = try client.finish()
        #expect(seen["refused"] as? Int == 0 && (seen["errors"] as? [String])?.isEmpty == true, "\(seen)")
        let after = d.pids(rows)
        #expect(changedPids(before, after) == ["pool/web/0"])
        for (_, pid) in after { #expect(commandLine(of: pid).last == "v1") }
        let events = try d.eventRows()
        let spareStop = try #require(events.last { $0.kind == "stop" && $0.id == "pool/web/4" })
        let slotReady = try #require(events.last { $0.kind == "ready" && $0.id == "pool/web/0" })
        #expect(slotReady.seq < spareStop.seq, "the spare must serve until slot 0 is ready again")
    }
}
