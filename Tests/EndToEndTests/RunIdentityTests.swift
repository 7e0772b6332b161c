import Foundation
import Testing

/// `user`, `umask`, `rlimits` and `env_file` through a real daemon: read back from /proc of
/// the children it started.
@Suite struct RunIdentityTests {
    /// `Key:` values of /proc/PID/status.
    static func status(_ pid: Int32, _ key: String) -> [String] {
        let text = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix(key + ":") }) else { return [] }
        return line.dropFirst(key.count + 1).split(whereSeparator: { $0 == "\t" || $0 == " " }).map(String.init)
    }

    /// The child's environment as /proc/PID/environ holds it.
    static func environment(_ pid: Int32) -> [String: String] {
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/environ") else { return [:] }
        var out: [String: String] = [:]
        for entry in data.split(separator: 0) {
            let text = String(decoding: entry, as: UTF8.self)
            if let eq = text.firstIndex(of: "=") { out[String(text[..<eq])] = String(text[text.index(after: eq)...]) }
        }
        return out
    }

    @Test(.enabled(if: getuid() == 0, "needs root to switch to user nobody"))
    func childrenRunAsNobodyWithTheirUmaskAndLimits() throws {
        let d = try DaemonHarness(files: ["id.yaml": """
            jobs:
              - name: worker
                command: ["sleep", "3600"]
                user: nobody
                cwd: /              # the jobs directory is root's only: nobody cannot enter it
                umask: "0077"
                rlimits: {nofile: {soft: 256, hard: 512}, core: 0}
              - name: plain
                command: ["sleep", "3600"]
            """])
        defer { d.stop() }
        try d.start(["--no-watch"])
        let rows = try d.waitRunning(2)
        let worker = try #require(rows.first { $0.id == "id/worker/0" }?.pid)
        let plain = try #require(rows.first { $0.id == "id/plain/0" }?.pid)
        #expect(Self.status(worker, "Uid") == ["65534", "65534", "65534", "65534"])
        #expect(Self.status(worker, "Umask") == ["0077"])
        let limits = (try? String(contentsOfFile: "/proc/\(worker)/limits", encoding: .utf8)) ?? ""
        #expect(limits.split(separator: "\n").first { $0.hasPrefix("Max open files") }?.split(separator: " ").dropFirst(3).prefix(2)
            .map(String.init) == ["256", "512"])
        #expect(Self.status(plain, "Uid").first == String(getuid()))
        // `director spec` shows the keys.
        let spec = try d.cli("spec", ["id/worker/0", "--json"])
        #expect(spec.stdout.contains("\"user\":\"nobody\"") && spec.stdout.contains("\"umask\":\"0077\""), "\(spec.stdout)")
    }

    @Test func editingAnEnvFileRestartsOnlyItsJobOnReload() throws {
        let d = try DaemonHarness(files: ["env.yaml": """
            jobs:
              - name: reader
                command: ["sleep", "3600"]
                env_file: app.env
                env: {OVERRIDDEN: "from env"}
              - name: other
                command: ["sleep", "3600"]
            """])
        defer { d.stop() }
        try d.write("app.env", "# settings\nCOLOUR=blue\nOVERRIDDEN=from file\n")
        try d.start(["--no-watch"])
        let before = d.pids(try d.waitRunning(2))
        let reader = try #require(before["env/reader/0"])
        #expect(Self.environment(reader)["COLOUR"] == "blue")
        #expect(Self.environment(reader)["OVERRIDDEN"] == "from env")

        try d.write("app.env", "# settings\nCOLOUR=green\nOVERRIDDEN=from file\n")
        let r = try d.cli("reload")
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("restarted 1,"), "\(r.stdout)")
        let rows = try d.waitFor("env/reader restarted", timeout: 20) { rows in
            rows.count == 2 && rows.allSatisfy { $0.state == "running" && $0.pid != nil }
                && rows.first { $0.id == "env/reader/0" }?.pid != reader
        }
        let after = d.pids(rows)
        #expect(changedPids(before, after) == ["env/reader/0"])
        #expect(Self.environment(after["env/reader/0"]!)["COLOUR"] == "green")
        #expect(isGone(reader))

        // A reload with the same file changes nothing.
        let again = try d.cli("reload")
        #expect(again.stdout.contains("restarted 0,"), "\(again.stdout)")
    }

    @Test(.enabled(if: getuid() == 0, "needs root to run validate as another user"))
    func aDaemonThatCannotSwitchUsersRefusesAnotherUser() throws {
        let dir = try TemporaryDirectory()
        chmod(dir.path, 0o755)
        let jobs = dir.path + "/jobs"
        try FileManager.default.createDirectory(atPath: jobs, withIntermediateDirectories: true)
        chmod(jobs, 0o755)
        try """
            jobs:
              - name: api
                command: ["sleep", "60"]
                user: root
            """.write(toFile: jobs + "/web.yaml", atomically: false, encoding: .utf8)
        chmod(jobs + "/web.yaml", 0o644)
        let asNobody = try CommandResult.run([
            "/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
            DirectorBinary.path, "validate", "--jobs", jobs,
        ])
        #expect(asNobody.status == 1, "\(asNobody.stdout)\(asNobody.stderr)")
        #expect(asNobody.stdout.contains("web.yaml:4:11: jobs[0].user: the daemon runs as uid 65534 gid 65534 and cannot switch users")
            || asNobody.stderr.contains("web.yaml:4:11: jobs[0].user: the daemon runs as uid 65534 gid 65534 and cannot switch users"),
            "\(asNobody.stdout)\(asNobody.stderr)")
        let asRoot = try DirectorBinary.run(["validate", "--jobs", jobs])
        #expect(asRoot.status == 0, "\(asRoot.stdout)\(asRoot.stderr)")
    }
}
