import Foundation
import Testing

/// Strategies with real processes (the pids of affected siblings change, the others do not),
/// nested group ids, and prefix selection by the operator commands.
@Suite(.serialized) struct RunStrategyTests {
    static func group(_ strategy: String) -> String {
        """
        group: g
        strategy: \(strategy)
        jobs:
          - name: a
            command: ["sleep", "3600"]
          - name: b
            command: ["sleep", "3600"]
          - name: c
            command: ["sleep", "3600"]
        """
    }

    /// Kills `g/b/0` and returns the pids before and after everything is running again.
    func killMiddle(_ d: DaemonHarness) throws -> (before: [String: Int32], after: [String: Int32]) {
        let rows = try d.waitRunning(3, prefix: "g")
        let before = Dictionary(uniqueKeysWithValues: rows.map { ($0.id, $0.pid!) })
        kill(before["g/b/0"]!, SIGKILL)
        let after = try d.waitFor("g/b/0 replaced", prefix: "g") { rows in
            rows.count == 3 && rows.allSatisfy { $0.state == "running" && $0.pid != nil }
                && rows.first { $0.id == "g/b/0" }?.pid != before["g/b/0"]
        }
        return (before, Dictionary(uniqueKeysWithValues: after.map { ($0.id, $0.pid!) }))
    }

    @Test func oneForAllRestartsEverySibling() throws {
        let d = try DaemonHarness(files: ["g.yaml": Self.group("one_for_all")])
        defer { d.stop() }
        try d.start()
        let (before, after) = try killMiddle(d)
        for id in ["g/a/0", "g/b/0", "g/c/0"] {
            #expect(after[id] != before[id], "\(id) must have a new process")
            #expect(!ProcFS.isAlive(before[id]!), "\(id)'s old process must be gone")
        }
    }

    @Test func restForOneRestartsTheFailedChildAndThoseAfterIt() throws {
        let d = try DaemonHarness(files: ["g.yaml": Self.group("rest_for_one")])
        defer { d.stop() }
        try d.start()
        let (before, after) = try killMiddle(d)
        #expect(after["g/a/0"] == before["g/a/0"], "a is declared before b: untouched")
        #expect(after["g/b/0"] != before["g/b/0"])
        #expect(after["g/c/0"] != before["g/c/0"], "c is declared after b: restarted")
        #expect(!ProcFS.isAlive(before["g/c/0"]!))
    }

    @Test func oneForOneTouchesNobodyElse() throws {
        let d = try DaemonHarness(files: ["g.yaml": Self.group("one_for_one")])
        defer { d.stop() }
        try d.start()
        let (before, after) = try killMiddle(d)
        #expect(after["g/a/0"] == before["g/a/0"])
        #expect(after["g/c/0"] == before["g/c/0"])
    }

    @Test func nestedGroupIdsAndTheirStrategy() throws {
        let d = try DaemonHarness(files: ["g.yaml": """
            group: g
            jobs:
              - name: top
                command: ["sleep", "3600"]
              - group:
                  name: sub
                  strategy: one_for_all
                  jobs:
                    - name: job
                      command: ["sleep", "3600"]
                    - name: peer
                      command: ["sleep", "3600"]
            """])
        defer { d.stop() }
        try d.start()
        let rows = try d.waitRunning(3, prefix: "g")
        #expect(Set(rows.map(\.id)) == ["g/top/0", "g/sub/job/0", "g/sub/peer/0"])
        let pids = Dictionary(uniqueKeysWithValues: rows.map { ($0.id, $0.pid!) })
        kill(pids["g/sub/job/0"]!, SIGKILL)
        let after = try d.waitFor("g/sub restarted", prefix: "g") { rows in
            rows.count == 3 && rows.allSatisfy { $0.state == "running" && $0.pid != nil }
                && rows.first { $0.id == "g/sub/job/0" }?.pid != pids["g/sub/job/0"]
        }
        let now = Dictionary(uniqueKeysWithValues: after.map { ($0.id, $0.pid!) })
        #expect(now["g/sub/peer/0"] != pids["g/sub/peer/0"], "one_for_all inside the nested group")
        #expect(now["g/top/0"] == pids["g/top/0"], "the outer group is one_for_one")
        #expect(after.first { $0.id == "g/sub/job/0" }?.restarts == 1)
        // The nested id works for operator commands too, and `ps` filters by it.
        let stop = try d.cli("stop", ["g/sub/job/0"])
        #expect(stop.status == 0, "\(stop.stderr)")
        try d.waitFor("nested child stopped", prefix: "g/sub/job") { $0.first?.state == "stopped" }
        #expect(try d.children(prefix: "g/sub").count == 2)
    }

    static let prefixes = [
        "web.yaml": """
        group: web
        jobs:
          - name: api
            command: ["sleep", "3600"]
            instances: 2
          - name: worker
            command: ["sleep", "3600"]
        """,
        "webx.yaml": """
        group: webx
        jobs:
          - name: api
            command: ["sleep", "3600"]
        """,
    ]

    @Test func restartByGroupPrefixRestartsEveryChildOfTheGroupOnly() throws {
        let d = try DaemonHarness(files: Self.prefixes)
        defer { d.stop() }
        try d.start()
        let rows = try d.waitRunning(4)
        let before = Dictionary(uniqueKeysWithValues: rows.map { ($0.id, $0.pid!) })
        let r = try d.cli("restart", ["web"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.split(separator: "\n").map { String($0.split(separator: ":")[0]) } == ["web/api/0", "web/api/1", "web/worker/0"])
        let after = try d.waitFor("web restarted") { rows in
            rows.count == 4 && rows.allSatisfy { $0.state == "running" && $0.pid != nil }
                && rows.filter { $0.id.hasPrefix("web/") }.allSatisfy { $0.pid != before[$0.id] }
        }
        #expect(after.first { $0.id == "webx/api/0" }?.pid == before["webx/api/0"], "webx is not under web")
    }

    @Test(arguments: [("web/ap", "web/ap"), ("web/api/2", "web/api/2"), ("we", "we")])
    func prefixMatchesWholeSegmentsOnly(_ text: String, _ named: String) throws {
        let d = try DaemonHarness(files: Self.prefixes)
        defer { d.stop() }
        try d.start()
        let rows = try d.waitRunning(4)
        for command in ["restart", "stop"] {
            let r = try d.cli(command, [text])
            #expect(r.status == 1, "\(command) \(text) must select nothing")
            #expect(r.stderr.contains(named), "\(r.stderr)")
        }
        #expect(try d.children() == rows, "nothing was touched")
    }

    @Test func stopByJobPrefixStopsEveryInstance() throws {
        let d = try DaemonHarness(files: Self.prefixes)
        defer { d.stop() }
        try d.start()
        try d.waitRunning(4)
        let r = try d.cli("stop", ["web/api/"])
        #expect(r.status == 0, "\(r.stderr)")
        let rows = try d.waitFor("web/api stopped") { rows in
            rows.filter { $0.id.hasPrefix("web/api/") }.allSatisfy { $0.state == "stopped" }
        }
        #expect(rows.filter { $0.state == "running" }.map(\.id) == ["web/worker/0", "webx/api/0"])
    }
}
