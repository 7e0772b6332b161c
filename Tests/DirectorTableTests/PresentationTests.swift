import DirectorTable
import Testing

@Suite struct PresentationTests {
    @Test func childListingIsAlignedWithUptimeAndLastExit() {
        var api = Fixture.child("web/api/0", pid: 4242, restarts: 2)
        api.startedAt = Fixture.now - 11_520_000
        api.lastExit = .init(.code(1), at: Fixture.now - 12_000)
        var db = Fixture.child("web/db/10", state: .backoff, pid: nil, restarts: 1)
        db.lastExit = .init(.signal("KILL"), at: Fixture.now - 180_000)
        let fresh = Fixture.child("x/y/0", state: .stopped, pid: nil)
        let text = ChildListing.render(children: [api, db, fresh], now: Fixture.now)
        #expect(text == """
            ID         STATE    READY  PID   UPTIME  RESTARTS  LAST EXIT
            web/api/0  running  -      4242  3h12m   2         code=1 12s ago
            web/db/10  backoff  -      -     -       1         signal=KILL 3m ago
            x/y/0      stopped  -      -     -       0         -

            """)
    }

    @Test func readyAndStatusAreShownForLiveChildrenAndStatusOnlyWhenAnyHasOne() throws {
        var web = Fixture.child("web/api/0", state: .running, pid: 4242)
        web.ready = true
        web.status = "serving 12 clients"
        var db = Fixture.child("web/db/0", state: .running, pid: 4243)
        db.ready = false
        var gone = Fixture.child("web/old/0", state: .stopped, pid: nil)
        gone.ready = false
        let text = ChildListing.render(children: [web, db, gone], now: Fixture.now)
        let lines = text.split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: true).map(String.init) }
        #expect(lines[0] == ["ID", "STATE", "READY", "PID", "UPTIME", "RESTARTS", "LAST", "EXIT", "STATUS"])
        #expect(lines[1].prefix(4) == ["web/api/0", "running", "yes", "4242"] && lines[1].suffix(3) == ["serving", "12", "clients"])
        #expect(lines[2].prefix(3) == ["web/db/0", "running", "no"] && lines[2].last == "-")
        #expect(lines[3].prefix(3) == ["web/old/0", "stopped", "-"])
        // Both fields round-trip through the record's JSON, and old rows without them read as nil.
        #expect(try ChildRecord(json: web.json) == web)
        #expect(web.json.serialized().contains("\"ready\":true,\"status\":\"serving 12 clients\""))
        #expect(try ChildRecord(json: Fixture.child("a/b/0").json).ready == nil)
    }

    @Test func childListingWithNoChildrenIsTheHeader() {
        #expect(ChildListing.render(children: [], now: 0) == "ID  STATE  READY  PID  UPTIME  RESTARTS  LAST EXIT\n")
    }

    @Test func childJSONIsAnArrayOfRecords() throws {
        let children = [Fixture.child("a/b/0"), Fixture.child("a/b/1", state: .waiting, pid: nil)]
        let parsed = try JSONValue.parse(ChildListing.json(children: children))
        let decoded = try (parsed.arrayValue ?? []).map { v throws(TableError) in try ChildRecord(json: v) }
        #expect(decoded == children)
    }

    @Test func eventLines() {
        let events = [
            EventEntry(seq: 7, at: Fixture.now, id: "web/api/0", kind: "exit", detail: "code=1"),
            EventEntry(seq: 8, at: Fixture.now + 5, id: "", kind: "reload", detail: ""),
        ]
        #expect(EventListing.render(events: events) == """
            7 2026-11-24T20:00:00.000Z web/api/0 exit code=1
            8 2026-11-24T20:00:00.005Z - reload

            """)
        #expect(EventListing.jsonLine(events[1]) == #"{"seq":8,"at":"2026-11-24T20:00:00.005Z","id":"","kind":"reload","detail":""}"#)
    }

    @Test func countListing() {
        let c = ChildCount(specs: 3, active: 5, supervisors: 2, workers: 7)
        #expect(CountListing.render(c) == "specs        3\nactive       5\nsupervisors  2\nworkers      7\n")
        #expect(CountListing.json(c) == #"{"specs":3,"active":5,"supervisors":2,"workers":7}"#)
    }
}

/// `director ps` renders through `ChildListing.render(from:)` and `json(from:)`, which take any
/// `ChildTableReader`: fed from an `InMemoryTable` they print what they print from LMDB.
@Suite struct ReaderPresentationTests {
    static func failedGroup(_ path: String) -> TableChange {
        .upsertGroup(GroupRecord(path: path, strategy: .oneForOne, intensity: 1, periodMillis: 1000, state: .failed))
    }

    @Test func psOutputFromAnInMemoryTableMatchesLMDB() throws {
        let dir = try TempDirectory()
        defer { dir.remove() }
        let memory = InMemoryTable()
        let lmdb = try LMDBTable(path: dir.path)
        for table in [memory, lmdb] as [any ChildTable] {
            try Fixture.populate(table)
            try table.apply([.upsertChild(Fixture.child("web/api/10")), Self.failedGroup("batch")])
        }
        for prefix in [nil, "web/api", "web/api/", "batch", "nothing"] as [String?] {
            let text = try ChildListing.render(from: memory, prefix: prefix, now: Fixture.now)
            #expect(text == (try ChildListing.render(from: lmdb, prefix: prefix, now: Fixture.now)), "prefix \(prefix ?? "nil")")
            // LMDB passes its stored text on; the in-memory table encodes its records: the same bytes.
            #expect(try ChildListing.json(from: memory, prefix: prefix) == ChildListing.json(from: lmdb, prefix: prefix))
        }
    }

    @Test func psTextListsTheChildrenInTheGivenOrderThenFailedGroups() throws {
        let table = InMemoryTable()
        try table.apply([
            .upsertChild(Fixture.child("web/api/10")), .upsertChild(Fixture.child("web/api/9", state: .stopped, pid: nil)),
            Self.failedGroup("web"), Self.failedGroup("other"),
        ])
        let keyOrder = try ChildListing.render(from: table, prefix: "web", now: Fixture.now)
        #expect(keyOrder == """
            ID          STATE    READY  PID   UPTIME  RESTARTS  LAST EXIT
            web/api/10  running  -      1234  1m      0         -
            web/api/9   stopped  -      -     -       0         -
            group web failed: given up by the root; `director start web` starts it again

            """)
        let reversed = try ChildListing.render(from: table, prefix: nil, now: Fixture.now) { ids in ids.indices.reversed() }
        #expect(reversed.split(separator: "\n").dropFirst().map { $0.split(separator: " ")[0] } == [
            "web/api/9", "web/api/10", "group", "group",
        ])
        let json = try ChildListing.json(from: table, prefix: "web/api/9")
        #expect(try JSONValue.parse(json).arrayValue?.map { try ChildRecord(json: $0) } == [table.child(id: "web/api/9")!])
    }
}
