import Foundation
import Testing

/// The day-to-day commands as an operator meets them (issue 16): `ps` that says when the table
/// is history and which pids are gone, one "nothing matches" rule, `all`, `stop` of a stopped
/// child, typos, and `DIRECTOR_STATE`/`DIRECTOR_JOBS`.
@Suite(.serialized) struct OperatorCommandTests {
    static func manifest(_ tag: TaggedProcesses) -> String {
        """
        group: web
        jobs:
          - name: api
            command: ["sleep", "3600"]
            instances: 2
            \(tag.envLine)
        """
    }

    @Test func psSaysWhenNoDaemonRunsAndMarksGonePids() throws {
        let tag = TaggedProcesses()
        let d = try DaemonHarness(files: ["web.yaml": Self.manifest(tag)])
        defer { d.stop(); tag.killAll() }
        try d.start()
        let rows = try d.waitRunning(2)
        let daemonPID = try #require(d.runningDaemonPID)

        let live = try d.cli("ps")
        #expect(live.status == 0)
        #expect(live.stdout.hasPrefix("ID "), "a running daemon: the table is the present\n\(live.stdout)")
        #expect(!live.stdout.contains("(gone)"))

        d.killHard()
        let orphaned = try d.cli("ps")
        let first = orphaned.stdout.split(separator: "\n").first.map(String.init) ?? ""
        #expect(first.hasPrefix("daemon not running (pid \(daemonPID), last seen 20"), "\(orphaned.stdout)")
        // The children outlived the daemon: their pids are real, not gone.
        #expect(!orphaned.stdout.contains("(gone)"), "\(orphaned.stdout)")

        tag.killAll()
        try #require(eventually("the children are gone") { tag.live().isEmpty })
        let after = try d.cli("ps")
        for row in rows {
            let pid = try #require(row.pid)
            let line = after.stdout.split(separator: "\n").first { $0.hasPrefix(row.id + " ") } ?? ""
            #expect(line.contains("\(pid) (gone)"), "\(after.stdout)")
        }
        // JSON stays the table's records, unchanged.
        #expect(try d.children().map(\.state) == ["running", "running"])
    }

    @Test func nothingMatchesIsOneRule() throws {
        let tag = TaggedProcesses()
        let d = try DaemonHarness(files: ["web.yaml": Self.manifest(tag)])
        defer { d.stop(); tag.killAll() }
        try d.start()
        try d.waitRunning(2)
        for command in [["ps", "nope"], ["ps", "--json", "nope"], ["ps", "web/ap"], ["stop", "nope"], ["start", "nope"]] {
            let r = try d.cli(command[0], Array(command.dropFirst()))
            #expect(r.status == 1, "\(command): \(r.stdout)")
            #expect(r.stderr.hasPrefix("director: no child matches "), "\(command): \(r.stderr)")
            #expect(r.stdout.isEmpty, "\(command)")
        }
        #expect(try d.cli("ps", ["web"]).status == 0)
    }

    @Test func allSelectsEveryChildAndStopSaysWhatWasAlreadyStopped() throws {
        let tag = TaggedProcesses()
        let d = try DaemonHarness(files: ["web.yaml": Self.manifest(tag)])
        defer { d.stop(); tag.killAll() }
        try d.start()
        let first = try d.waitRunning(2)

        let one = try d.cli("stop", ["web/api/1"])
        #expect(one.stdout == "web/api/1: stopping\n", "\(one.stderr)")
        try d.waitFor("web/api/1 stopped") { $0.first { $0.id == "web/api/1" }?.state == "stopped" }
        let all = try d.cli("stop", ["all"])
        #expect(all.status == 0, "\(all.stderr)")
        #expect(all.stdout == "web/api/0: stopping\nweb/api/1: already stopped\n", "\(all.stdout)")
        try d.waitFor("all stopped") { rows in rows.count == 2 && rows.allSatisfy { $0.state == "stopped" } }

        let start = try d.cli("start", ["all"])
        #expect(start.stdout == "web/api/0: starting\nweb/api/1: starting\n", "\(start.stdout) \(start.stderr)")
        try d.waitRunning(2)
        let again = try d.cli("start", ["web"])
        #expect(again.stdout == "web/api/0: already running\nweb/api/1: already running\n", "\(again.stdout)")

        let before = try d.children()
        let restart = try d.cli("restart", ["all"])
        #expect(restart.status == 0, "\(restart.stderr)")
        let after = try d.waitFor("both restarted") { rows in
            rows.count == 2 && zip(rows, before).allSatisfy { $0.state == "running" && $0.pid != nil && $0.pid != $1.pid }
        }
        #expect(Set(after.compactMap(\.pid)).isDisjoint(with: first.compactMap(\.pid)))
        #expect(try d.cli("ps", ["all"]).stdout.split(separator: "\n").count == 3)
    }

    @Test func typosSuggestTheCommand() throws {
        let r = try DirectorBinary.run(["pss"])
        #expect(r.status == 2)
        #expect(r.stderr == "director: unknown command pss; did you mean `ps`?\n", "\(r.stderr)")
        let restart = try DirectorBinary.run(["restrat", "web"])
        #expect(restart.stderr.contains("did you mean `restart`?"), "\(restart.stderr)")
        let far = try DirectorBinary.run(["frobnicate"])
        #expect(far.status == 2)
        #expect(far.stderr.hasPrefix("director: unknown command frobnicate; the commands are run, validate, ps"), "\(far.stderr)")
        // Real commands and options are untouched.
        #expect(try DirectorBinary.run(["--version"]).status == 0)
        #expect(try DirectorBinary.run(["help", "ps"]).status == 0)
    }

    @Test func environmentDefaultsForStateAndJobs() throws {
        let tag = TaggedProcesses()
        let d = try DaemonHarness(files: ["web.yaml": Self.manifest(tag)])
        defer { d.stop(); tag.killAll() }
        let elsewhere = try TemporaryDirectory()
        let validate = try DirectorBinary.run(["validate"], environment: ["DIRECTOR_JOBS": d.jobs], cwd: elsewhere.path)
        #expect(validate.status == 0, "\(validate.stderr)")
        #expect(validate.stdout.hasPrefix("ok: 1 group"), "\(validate.stdout)")
        try d.start()
        try d.waitRunning(2)
        let ps = try DirectorBinary.run(["ps"], environment: ["DIRECTOR_STATE": d.state], cwd: elsewhere.path)
        #expect(ps.status == 0, "\(ps.stderr)")
        #expect(ps.stdout.contains("web/api/1"), "\(ps.stdout)")
        // An explicit option wins over the variable.
        let explicit = try DirectorBinary.run(["ps", "--state", d.state], environment: ["DIRECTOR_STATE": elsewhere.path + "/none"])
        #expect(explicit.status == 0, "\(explicit.stderr)")
        let wrong = try DirectorBinary.run(["count"], environment: ["DIRECTOR_STATE": elsewhere.path + "/none"])
        #expect(wrong.status == 1 && wrong.stderr.contains(elsewhere.path + "/none"), "\(wrong.stderr)")
    }
}
