@testable import DirectorTable
import Testing

/// The additions for several daemons on one table (DESIGN §4.1): the `node` field of child,
/// group and event records (absent unless set, so old tables read and write as before),
/// `meta.nodes`, and the merges that keep each node's part of `meta`.
@Suite struct SharedTableRecordTests {
    @Test func nodeIsStoredOnlyWhenSetAndOldRecordsDecodeWithout() throws {
        var child = Fixture.child("web/api/0")
        #expect(!child.json.serialized().contains("node"))
        #expect(try ChildRecord(json: child.json) == child)
        child.node = "alpha"
        #expect(child.json.serialized().hasSuffix(#","node":"alpha"}"#))
        #expect(try ChildRecord(json: child.json).node == "alpha")

        var group = GroupRecord(path: "web", strategy: .oneForOne, intensity: 3, periodMillis: 1000, state: .running, node: "alpha")
        #expect(try GroupRecord(json: group.json) == group)
        group.node = nil
        #expect(!group.json.serialized().contains("node"))

        let event = EventEntry(seq: 3, at: Fixture.now, id: "web/api/0", kind: "start", detail: "pid=1", node: "beta")
        #expect(try EventEntry(json: event.json) == event)
        #expect(NewEvent(at: Fixture.now, id: "", kind: "reload", node: "beta").numbered(4).node == "beta")
    }

    @Test func aNodeIsNotAString() throws {
        var fields: [(String, JSONValue)] = []
        if case .object(let f) = Fixture.child("a/b/0").json { fields = f }
        #expect(throws: TableError.self) { try ChildRecord(json: .object(fields + [("node", .int(1))])) }
        #expect(try ChildRecord(json: .object(fields + [("node", .null)])).node == nil)
    }

    @Test func eachNodesRootGroupHasItsOwnKey() {
        #expect(GroupRecord(path: "", strategy: .oneForOne, intensity: 3, periodMillis: 1, state: .running).key == "/")
        #expect(GroupRecord(path: "", strategy: .oneForOne, intensity: 3, periodMillis: 1, state: .running, node: "a").key == "/a")
        #expect(GroupRecord(path: "web", strategy: .oneForOne, intensity: 3, periodMillis: 1, state: .running, node: "a").key == "web")
    }

    static func node(_ name: String, pid: Int32) -> NodeInfo {
        NodeInfo(node: name, pid: pid, stateDirectory: "/s/\(name)", socket: "/s/\(name)/control.sock", startedAt: Fixture.now, jobs: "/j", version: "0.1.0")
    }

    @Test func mergingANodeKeepsTheOthers() throws {
        var stored = MetaMerge.node(Self.node("b", pid: 2)).applied(to: nil)
        stored = MetaMerge.node(Self.node("a", pid: 1)).applied(to: stored)
        stored = MetaMerge.node(Self.node("b", pid: 3)).applied(to: stored)
        #expect(NodeInfo.all(stored) == [Self.node("a", pid: 1), Self.node("b", pid: 3)])
        #expect(try NodeInfo(node: "a", json: Self.node("a", pid: 1).json) == Self.node("a", pid: 1))
        // A malformed member hides nothing else.
        #expect(NodeInfo.all(.object([("x", .int(1)), ("a", Self.node("a", pid: 1).json)])).map(\.node) == ["a"])
    }

    @Test func mergingDecisionsReplacesOnlyTheNodesGroups() {
        let theirs = OperatorDecisions(
            stopped: ["other/x/0": "h1", "web/api/0": "h2"], waiting: ["web/w/0": "h3"],
            scaled: ["other/x": .init(instances: 4, specHash: "h4"), "web/api": .init(instances: 1, specHash: "h5")])
        let mine = OperatorDecisions(stopped: ["web/api/1": "h6", "other/x/1": "not mine"], scaled: [:])
        let merged = OperatorDecisions(json: MetaMerge.decisions(mine, groups: ["web"]).applied(to: theirs.json))
        #expect(merged.stopped == ["other/x/0": "h1", "web/api/1": "h6"])
        #expect(merged.waiting == [:])
        #expect(merged.scaled == ["other/x": .init(instances: 4, specHash: "h4")])
        // Whole segments: `web` does not own `webx`.
        let kept = OperatorDecisions(json: MetaMerge.decisions(OperatorDecisions(), groups: ["web"]).applied(to: OperatorDecisions(stopped: ["webx/a/0": "h"]).json))
        #expect(kept.stopped == ["webx/a/0": "h"])
    }

    @Test(arguments: ["memory", "lmdb"]) func mergesCommitAgainstTheStoredValue(_ kind: String) throws {
        let dir = try TempDirectory()
        defer { dir.remove() }
        let table: any ChildTable = kind == "memory" ? InMemoryTable() : try LMDBTable(path: dir.path)
        try table.apply([.mergeMeta(.nodes, .node(Self.node("a", pid: 1)))])
        try table.apply([.mergeMeta(.nodes, .node(Self.node("b", pid: 2)))])
        #expect(NodeInfo.all(try table.meta(.nodes)).map(\.node) == ["a", "b"])
        try table.apply([.setMeta(.decisions, OperatorDecisions(stopped: ["b/x/0": "h"]).json)])
        try table.apply([.mergeMeta(.decisions, .decisions(OperatorDecisions(stopped: ["a/x/0": "h"]), groups: ["a"]))])
        #expect(OperatorDecisions(json: try table.meta(.decisions)!).stopped == ["a/x/0": "h", "b/x/0": "h"])
    }

    @Test func theNodeColumnAppearsWhenAskedOrWhenTheRowsComeFromSeveralNodes() throws {
        let table = InMemoryTable()
        var a = Fixture.child("ga/x/0")
        a.node = "a"
        try table.upsert(a)
        let one = try ChildListing.render(from: table, prefix: nil, now: Fixture.now, node: nil, showingNodes: false)
        #expect(one == ChildListing.render(children: [a], now: Fixture.now))
        #expect(try ChildListing.render(from: table, prefix: nil, now: Fixture.now, node: nil, showingNodes: true).hasPrefix("NODE  ID"))
        var b = Fixture.child("gb/x/0")
        b.node = "b"
        try table.upsert(b)
        let both = try ChildListing.render(from: table, prefix: nil, now: Fixture.now, node: nil, showingNodes: false)
        #expect(both.split(separator: "\n").map { $0.prefix(10) } == ["NODE  ID  ", "a     ga/x", "b     gb/x"])
        let onlyB = try ChildListing.render(from: table, prefix: nil, now: Fixture.now, node: "b", showingNodes: false)
        #expect(onlyB.split(separator: "\n").map { $0.prefix(10) } == ["NODE  ID  ", "b     gb/x"])
        let event = EventEntry(seq: 7, at: Fixture.now, id: "", kind: "reload", detail: "", node: "b")
        #expect(EventListing.line(event, showingNode: true) == "7 2026-11-24T20:00:00.000Z b - reload")
        #expect(EventListing.line(event, showingNode: false) == EventListing.line(event))
    }

    @Test func theBacklogKeepsEachNodesMergeApartFromPlainMeta() {
        var backlog = TableBacklog()
        backlog.add([
            .mergeMeta(.nodes, .node(Self.node("a", pid: 1))), .mergeMeta(.nodes, .node(Self.node("b", pid: 2))),
            .mergeMeta(.nodes, .node(Self.node("a", pid: 3))), .setMeta(.nodes, .object([])),
            .mergeMeta(.decisions, .decisions(OperatorDecisions(), groups: ["a"])),
        ])
        #expect(backlog.rowCount == 4)
    }
}
