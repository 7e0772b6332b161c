import Foundation
import Testing

/// Several daemons on one LMDB table (DESIGN §4.1): each with its own jobs and state
/// directory, `--table` shared, `--node` distinct. Each writes only its own rows, a daemon
/// killed with -9 and started again reconciles only its own, a group another live node owns
/// is refused, and the CLI and Python's lmdb see every node.
@Suite(.serialized) struct SharedTableTests {
    /// One row of `director ps --json --table`: id, node, state, pid.
    struct NodeRow: Equatable {
        var id: String
        var node: String?
        var state: String
        var pid: Int32?
    }

    /// A shared table and the daemons writing it; every daemon and child is stopped at the end.
    final class Cluster: @unchecked Sendable {
        let dir: TemporaryDirectory
        var table: String { dir.path + "/table" }
        var daemons: [String: DaemonHarness] = [:]

        init() throws { dir = try TemporaryDirectory() }

        /// A daemon `node` running group `group` (two sleeping instances of job `x`, or the
        /// manifest `text`).
        @discardableResult
        func add(_ node: String, group: String, tag: TaggedProcesses, text: String? = nil) throws -> DaemonHarness {
            let d = try DaemonHarness(files: ["\(group).yaml": text ?? """
                group: \(group)
                jobs:
                  - name: x
                    command: ["sleep", "3600"]
                    instances: 2
                    \(tag.envLine)
                """])
            daemons[node] = d
            return d
        }

        func start(_ node: String, environment: [String: String] = [:]) throws {
            try daemons[node]!.start(["--table", table, "--node", node], environment: environment)
        }

        /// `director ARGS --table TABLE`.
        func cli(_ args: [String]) throws -> CommandResult { try DirectorBinary.run(args + ["--table", table]) }

        func rows() throws -> [NodeRow] {
            let r = try cli(["ps", "--json"])
            guard r.status == 0, let list = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: Any]] else { return [] }
            return list.map {
                NodeRow(id: $0["id"] as? String ?? "", node: $0["node"] as? String, state: $0["state"] as? String ?? "",
                    pid: ($0["pid"] as? NSNumber).map { $0.int32Value })
            }
        }

        /// Polls `director ps --json --table` until `condition` holds.
        @discardableResult
        func waitFor(_ what: String, timeout: Double = 20, _ condition: ([NodeRow]) -> Bool) throws -> [NodeRow] {
            let deadline = Date().addingTimeInterval(timeout)
            var last: [NodeRow] = []
            while Date() < deadline {
                last = try rows()
                if condition(last) { return last }
                usleep(20_000)
            }
            Issue.record("timed out waiting for \(what); last: \(last); stderr: \(daemons.mapValues { $0.daemonStderr.suffix(1000) })")
            throw HarnessError.timeout(what)
        }

        func stop() { for d in daemons.values { d.stop() } }
        deinit { stop() }
    }

    static func allRunning(_ rows: [NodeRow], count: Int) -> Bool {
        rows.count == count && rows.allSatisfy { $0.state == "running" && $0.pid != nil }
    }

    @Test func threeDaemonsShareOneTableAndAKilledOneReconcilesOnlyItsOwnRows() throws {
        let tag = TaggedProcesses()
        let cluster = try Cluster()
        defer { cluster.stop(); tag.killAll() }
        for (node, group) in [("a", "ga"), ("b", "gb"), ("c", "gc")] {
            try cluster.add(node, group: group, tag: tag)
            try cluster.start(node)
        }
        let before = try cluster.waitFor("six children of three nodes running") { Self.allRunning($0, count: 6) }
        #expect(Dictionary(grouping: before, by: { $0.node ?? "-" }).mapValues { $0.map(\.id).sorted() } == [
            "a": ["ga/x/0", "ga/x/1"], "b": ["gb/x/0", "gb/x/1"], "c": ["gc/x/0", "gc/x/1"],
        ])

        // `ps --table` shows a NODE column; `--node` filters.
        let text = try cluster.cli(["ps"])
        #expect(text.status == 0, "\(text.stderr)")
        #expect(text.stdout.hasPrefix("NODE  ID"), "\(text.stdout)")
        #expect(text.stdout.contains("b     gb/x/1  running"), "\(text.stdout)")
        let onlyB = try cluster.cli(["ps", "--node", "b"])
        #expect(onlyB.stdout.split(separator: "\n").dropFirst().map { String($0.prefix(8)) } == ["b     gb", "b     gb"], "\(onlyB.stdout)")

        // Python's lmdb sees every node: the rows, meta.nodes (with each daemon's pid and
        // state directory) and the events.
        if TableTools.pythonReady {
            let seen = try Self.readWithPython(cluster.table)
            let nodes = seen["nodes"] as? [String: [String: Any]] ?? [:]
            #expect(Set(nodes.keys) == ["a", "b", "c"])
            for (node, d) in cluster.daemons {
                #expect((nodes[node]?["pid"] as? NSNumber)?.int32Value == d.runningDaemonPID)
                #expect(nodes[node]?["state_directory"] as? String == d.state)
                #expect(nodes[node]?["socket"] as? String == d.state + "/control.sock")
            }
            let children = seen["children"] as? [String: String] ?? [:]
            #expect(children == ["ga/x/0": "a", "ga/x/1": "a", "gb/x/0": "b", "gb/x/1": "b", "gc/x/0": "c", "gc/x/1": "c"])
            let groups = seen["groups"] as? [String: String] ?? [:]
            #expect(groups == ["/a": "a", "/b": "b", "/c": "c", "ga": "a", "gb": "b", "gc": "c"])
            #expect(seen["event_nodes"] as? [String] == ["a", "b", "c"])
            _ = try TableTools.validate(table: cluster.table)
        }

        // kill -9 b: its children outlive it; a and c are not touched.
        let b = cluster.daemons["b"]!
        b.killHard()
        let oldB = before.filter { $0.node == "b" }
        #expect(oldB.allSatisfy { ProcFS.isAlive($0.pid!) })
        try cluster.start("b")
        let after = try cluster.waitFor("b's children replaced") { rows in
            Self.allRunning(rows, count: 6)
                && rows.filter { $0.node == "b" }.allSatisfy { row in !oldB.contains { $0.pid == row.pid } }
        }
        for row in oldB { #expect(eventually("\(row.id)'s old pid \(row.pid!) gone") { !ProcFS.isAlive(row.pid!) }) }
        #expect(b.daemonStderr.contains("terminated 2 process group(s) left by a previous daemon"), "\(b.daemonStderr)")
        // The others' rows and processes are exactly as they were.
        #expect(after.filter { $0.node != "b" } == before.filter { $0.node != "b" })
        for row in before where row.node != "b" { #expect(ProcFS.isAlive(row.pid!)) }
        // One live process per child id, in all.
        #expect(tag.perChild() == Dictionary(uniqueKeysWithValues: after.map { ($0.id, 1) }))

        // An operator's restart goes to the owning node's socket, whichever --state is given.
        let old = try #require(after.first { $0.id == "ga/x/1" }?.pid)
        let restart = try DirectorBinary.run(["restart", "ga/x/1", "--table", cluster.table, "--state", cluster.daemons["c"]!.state])
        #expect(restart.status == 0, "\(restart.stderr)")
        #expect(restart.stdout == "ga/x/1: restarting\n")
        try cluster.waitFor("ga/x/1 restarted by node a") { rows in
            rows.contains { $0.id == "ga/x/1" && $0.state == "running" && $0.pid != nil && $0.pid != old && $0.node == "a" }
        }
        let stop = try cluster.cli(["stop", "gb", "gc/x/0"])
        #expect(stop.status == 0, "\(stop.stderr)")
        try cluster.waitFor("gb and gc/x/0 stopped by their nodes") { rows in
            rows.filter { $0.state == "stopped" }.map(\.id).sorted() == ["gb/x/0", "gb/x/1", "gc/x/0"]
        }

        // `events --table` names the node of each event.
        let events = try cluster.cli(["events"])
        #expect(events.stdout.split(separator: "\n").contains { $0.contains(" a ga/x/1 restart") || $0.contains(" a ga/x/1 stop") }, "\(events.stdout.suffix(2000))")
        let eventsOfB = try cluster.cli(["events", "--json", "--node", "b"])
        let kinds = eventsOfB.stdout.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        #expect(!kinds.isEmpty && kinds.allSatisfy { $0["node"] as? String == "b" })
    }

    @Test func aGroupAnotherLiveNodeOwnsIsRefusedNamingBoth() throws {
        let tag = TaggedProcesses()
        let cluster = try Cluster()
        defer { cluster.stop(); tag.killAll() }
        try cluster.add("first", group: "web", tag: tag)
        try cluster.start("first")
        let before = try cluster.waitFor("first's children running") { Self.allRunning($0, count: 2) }

        let second = try cluster.add("second", group: "web", tag: tag)
        try cluster.start("second")
        #expect(second.waitExit(timeout: 20) == 1)
        #expect(second.daemonStderr.contains("group web is owned by live node first"), "\(second.daemonStderr)")
        #expect(second.daemonStderr.contains("node second declares it too"), "\(second.daemonStderr)")
        // Nothing of the first node changed, and the second started nothing.
        #expect(try cluster.rows() == before)
        #expect(tag.perChild() == ["web/x/0": 1, "web/x/1": 1])

        // Once the first node is gone (its lock released), the group may be claimed.
        cluster.daemons["first"]!.stop()
        try cluster.start("second")
        try cluster.waitFor("second runs web now") { rows in
            Self.allRunning(rows, count: 2) && rows.allSatisfy { $0.node == "second" }
        }
    }

    @Test func eachNodesOperatorDecisionsSurviveTheOthersRestarts() throws {
        let tag = TaggedProcesses()
        let cluster = try Cluster()
        defer { cluster.stop(); tag.killAll() }
        for (node, group) in [("a", "ga"), ("b", "gb")] {
            try cluster.add(node, group: group, tag: tag)
            try cluster.start(node)
        }
        try cluster.waitFor("four children running") { Self.allRunning($0, count: 4) }
        let stop = try cluster.cli(["stop", "ga/x/0", "gb/x/1"])
        #expect(stop.status == 0, "\(stop.stderr)")
        let stopped = { (rows: [NodeRow]) in rows.filter { $0.state == "stopped" }.map(\.id).sorted() == ["ga/x/0", "gb/x/1"] }
        try cluster.waitFor("ga/x/0 and gb/x/1 stopped", stopped)
        // Each node restarts (a killed, b stopped gracefully) while the other runs: both
        // operators' stops hold, since neither start overwrites the other's decisions.
        cluster.daemons["a"]!.killHard()
        try cluster.start("a")
        try cluster.waitFor("a back with ga/x/0 still stopped") { rows in
            stopped(rows) && rows.filter { $0.state == "running" }.count == 2
                && rows.contains { $0.id == "ga/x/1" && $0.pid != nil && $0.state == "running" }
        }
        cluster.daemons["b"]!.stop()
        try cluster.start("b")
        let rows = try cluster.waitFor("b back with gb/x/1 still stopped") { rows in
            stopped(rows) && rows.filter { $0.state == "running" }.count == 2
        }
        #expect(rows.filter { $0.state == "running" }.map(\.id).sorted() == ["ga/x/1", "gb/x/0"])
    }

    @Test func aReloadAddingAnotherLiveNodesGroupIsRefused() throws {
        let tag = TaggedProcesses()
        let cluster = try Cluster()
        defer { cluster.stop(); tag.killAll() }
        try cluster.add("a", group: "ga", tag: tag)
        let b = try cluster.add("b", group: "gb", tag: tag)
        try cluster.start("a")
        try cluster.start("b")
        let before = try cluster.waitFor("four children running") { Self.allRunning($0, count: 4) }
        try b.write("ga.yaml", "group: ga\njobs:\n  - name: y\n    command: [\"sleep\", \"3600\"]\n    \(tag.envLine)\n")
        let reload = try b.cli("reload")
        #expect(reload.status == 1)
        #expect(reload.stderr.contains("ga.yaml:1:1: group: group ga is owned by live node a"), "\(reload.stderr)")
        #expect(try cluster.rows() == before)
    }

    /// Three daemons in restart storms commit into one table at once, from a 64 KiB map
    /// that must grow under them: every event gets its own seq, one sequence without a gap
    /// or a repeat across the nodes, and the table stays valid for outside readers.
    @Test func concurrentStormsOfThreeNodesShareOneSequence() throws {
        let tag = TaggedProcesses()
        let cluster = try Cluster()
        defer { cluster.stop(); tag.killAll() }
        for node in ["a", "b", "c"] {
            try cluster.add(node, group: "g\(node)", tag: tag, text: """
                group: g\(node)
                intensity: 1000000
                period: 1s
                jobs:
                  - name: crash
                    command: ["/bin/sh", "-c", "exit 1"]
                    instances: 3
                    delay: 5ms
                    \(tag.envLine)
                """)
            try cluster.start(node, environment: ["DIRECTOR_TABLE_MAP_SIZE": "65536"])
        }
        Thread.sleep(forTimeInterval: 3)
        for d in cluster.daemons.values { d.signal(SIGTERM) }
        for (node, d) in cluster.daemons { #expect(d.waitExit(timeout: 20) == 0, "\(node): \(d.daemonStderr.suffix(2000))") }
        let r = try cluster.cli(["events", "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let events = r.stdout.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        let seqs = events.compactMap { ($0["seq"] as? NSNumber)?.intValue }
        #expect(seqs.count == events.count && seqs.count > 300, "\(seqs.count) events")
        #expect(zip(seqs, seqs.dropFirst()).allSatisfy { $1 == $0 + 1 }, "one sequence without gaps or repeats")
        let perNode = Dictionary(grouping: events, by: { $0["node"] as? String ?? "-" }).mapValues(\.count)
        #expect(Set(perNode.keys) == ["a", "b", "c"], "\(perNode)")
        let size = (try FileManager.default.attributesOfItem(atPath: cluster.table + "/data.mdb")[.size] as? NSNumber)?.intValue ?? 0
        #expect(size > 65536, "the map grew past its first 64 KiB")
        print("shared table storm: \(seqs.count) events kept (seq \(seqs.first ?? 0)...\(seqs.last ?? 0)), per node \(perNode.sorted { $0.key < $1.key }), data.mdb \(size) bytes")
        if TableTools.pythonReady { _ = try TableTools.validate(table: cluster.table) }
    }

    /// `Scripts/read_shared_table.py TABLE`, parsed.
    static func readWithPython(_ table: String) throws -> [String: Any] {
        let run = try CommandResult.run([TableTools.python!, TableTools.scripts + "/read_shared_table.py", table])
        #expect(run.status == 0, "\(run.stderr)")
        return (try? JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any]) ?? [:]
    }
}
