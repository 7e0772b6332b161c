import DirectorTable
import Testing

@Suite struct RecordCodecTests {
    @Test func childSerializesInDocumentedFieldOrder() {
        let c = Fixture.child("web/api/1", restarts: 2)
        #expect(c.json.serialized() == #"{"id":"web/api/1","group":"web","job":"api","instance":1,"state":"running","pid":1234,"pgid":1234,"start_ticks":12340,"started_at":"2026-11-24T19:59:00.000Z","restarts":2,"last_exit":{"signal":"KILL","at":"2026-11-24T19:58:59.000Z"},"next_restart_at":null,"spec_hash":"0123456789abcdef","updated_at":"2026-11-24T20:00:00.000Z"}"#)
    }

    /// DESIGN §4 v2: `last_exit` is `{code}` or `{signal}` plus `at`, plus `cause` last.
    @Test(arguments: [
        (ChildRecord.LastExit(.signal("ABRT"), at: Fixture.now, cause: .watchdog), #"{"signal":"ABRT","at":"2026-11-24T20:00:00.000Z","cause":"watchdog"}"#),
        (.init(.code(1), at: Fixture.now, cause: .unhealthy), #"{"code":1,"at":"2026-11-24T20:00:00.000Z","cause":"unhealthy"}"#),
        (.init(.code(127), at: Fixture.now, cause: .spawnFailed), #"{"code":127,"at":"2026-11-24T20:00:00.000Z","cause":"spawn_failed"}"#),
        (.init(.signal("TERM"), at: Fixture.now, cause: .readyTimeout), #"{"signal":"TERM","at":"2026-11-24T20:00:00.000Z","cause":"ready_timeout"}"#),
        (.init(.signal("KILL"), at: Fixture.now, cause: .oom), #"{"signal":"KILL","at":"2026-11-24T20:00:00.000Z","cause":"oom"}"#),
        (.init(.code(0), at: Fixture.now, cause: .exit), #"{"code":0,"at":"2026-11-24T20:00:00.000Z","cause":"exit"}"#),
        (.init(.signal("KILL"), at: Fixture.now, cause: .signal), #"{"signal":"KILL","at":"2026-11-24T20:00:00.000Z","cause":"signal"}"#),
    ])
    func lastExitCauseIsStoredAfterAtAndReadBack(_ exit: ChildRecord.LastExit, _ text: String) throws {
        #expect(exit.json.serialized() == text)
        #expect(try ChildRecord.LastExit(json: try JSONValue.parse(text)) == exit)
        var c = Fixture.child("web/api/0")
        c.lastExit = exit
        #expect(try ChildRecord(json: try JSONValue.parse(c.json.serialized())) == c)
    }

    @Test func aLastExitWithoutCauseFromAnOlderDaemonStillDecodes() throws {
        let old = #"{"id":"web/api/1","group":"web","job":"api","instance":1,"state":"backoff","pid":null,"pgid":null,"start_ticks":null,"started_at":null,"restarts":2,"last_exit":{"code":1,"at":"2026-11-24T19:58:59.000Z"},"next_restart_at":null,"spec_hash":"0123456789abcdef","updated_at":"2026-11-24T20:00:00.000Z"}"#
        let c = try ChildRecord(json: try JSONValue.parse(old))
        #expect(c.lastExit == .init(.code(1), at: Fixture.now - 61_000))
        #expect(c.lastExit?.cause == nil)
        #expect(c.json.serialized() == old, "written back as it was: no cause is invented")
    }

    @Test func aCauseThisVersionDoesNotKnowIsKeptNotRefused() throws {
        // A newer daemon's word must not make the whole row unreadable to an older reader.
        let exit = try ChildRecord.LastExit(json: try JSONValue.parse(#"{"signal":"KILL","at":"2026-11-24T20:00:00.000Z","cause":"oom_group"}"#))
        #expect(exit.cause?.rawValue == "oom_group")
        #expect(exit.summary == "signal=KILL (oom_group)")
    }

    @Test(arguments: [#"1"#, #""""#, #"["watchdog"]"#])
    func aCauseThatIsNotAWordNamesTheField(_ bad: String) throws {
        #expect {
            _ = try ChildRecord.LastExit(json: try JSONValue.parse(#"{"code":1,"at":"2026-11-24T20:00:00.000Z","cause":"# + bad + "}"))
        } throws: { error in
            guard let e = error as? TableError, e.code == .invalidRecord else { return false }
            return e.message.hasPrefix("child.last_exit: field 'cause': expected a")
        }
    }

    @Test func groupStoresPeriodInMilliseconds() throws {
        let g = GroupRecord(path: "web", strategy: .oneForAll, intensity: 5, periodMillis: 30_000, state: .running)
        #expect(g.json.serialized() == #"{"path":"web","strategy":"one_for_all","intensity":5,"period":30000,"restarts_in_period":0,"state":"running"}"#)
        #expect(try GroupRecord(json: g.json) == g)
        #expect(GroupRecord(path: "", strategy: .oneForOne, intensity: 3, periodMillis: 1, state: .running).key == "/")
    }

    @Test(arguments: [
        (#"{"id":"a/b/0"}"#, "child: field 'group': missing"),
        (#"[1]"#, "child: expected a JSON object"),
    ])
    func childErrorsNameTheField(_ text: String, _ message: String) throws {
        #expect {
            _ = try ChildRecord(json: try JSONValue.parse(text))
        } throws: { ($0 as? TableError)?.message == message }
    }

    /// Each mutation of a valid record breaks one field; the error must name it.
    @Test(arguments: [
        ("state", JSONValue.string("sleeping"), "unknown value \"sleeping\""),
        ("pid", .string("12"), "expected an integer or null"),
        ("pid", .int(1 << 40), "out of range"),
        ("instance", .int(-1), "must be ≥ 0"),
        ("started_at", .string("yesterday"), "expected an RFC 3339 time"),
        ("updated_at", .null, "expected an RFC 3339 time"),
        ("restarts", .double(1.5), "expected an integer"),
        ("last_exit", .object([("at", .string("2026-11-24T20:00:00.000Z"))]), "exactly one of 'code' or 'signal'"),
    ])
    func childFieldErrors(_ field: String, _ bad: JSONValue, _ expectation: String) throws {
        guard case .object(var members) = Fixture.child("a/b/0").json else { Issue.record("not an object"); return }
        let i = try #require(members.firstIndex { $0.0 == field })
        members[i].1 = bad
        #expect {
            _ = try ChildRecord(json: .object(members))
        } throws: { error in
            guard let e = error as? TableError, e.code == .invalidRecord else { return false }
            return e.message.contains("'\(field == "last_exit" ? "code" : field)'") && e.message.contains(expectation)
        }
    }

    @Test func eventAndMetaRoundTrip() throws {
        let e = EventEntry(seq: 42, at: Fixture.now, id: "", kind: "reload", detail: "generation 2")
        #expect(try EventEntry(json: e.json) == e)
        #expect(e.json.serialized() == #"{"seq":42,"at":"2026-11-24T20:00:00.000Z","id":"","kind":"reload","detail":"generation 2"}"#)
        let d = DaemonInfo(pid: 1, startedAt: Fixture.now, jobs: "jobs", version: "1.0.0")
        #expect(try DaemonInfo(json: d.json) == d)
        let r = ReloadInfo(generation: 2, at: Fixture.now, ok: false, errors: ["a.yaml:1:1: bad"])
        #expect(try ReloadInfo(json: r.json) == r)
        #expect {
            _ = try ReloadInfo(json: .object([("generation", .int(1)), ("at", .string(RFC3339.format(0))), ("ok", .bool(true)), ("errors", .array([.int(1)]))]))
        } throws: { ($0 as? TableError)?.message == "meta.reload: field 'errors[0]': expected a string" }
    }
}
