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
            ID         STATE    PID   UPTIME  RESTARTS  LAST EXIT
            web/api/0  running  4242  3h12m   2         code=1 12s ago
            web/db/10  backoff  -     -       1         signal=KILL 3m ago
            x/y/0      stopped  -     -       0         -

            """)
    }

    @Test func childListingWithNoChildrenIsTheHeader() {
        #expect(ChildListing.render(children: [], now: 0) == "ID  STATE  PID  UPTIME  RESTARTS  LAST EXIT\n")
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
