// A conformance suite for any `ChildTable`, usable from any test framework: it returns the
// failures instead of asserting, so this library needs neither XCTest nor Testing.

import DirectorTable

/// One failed expectation of the conformance suite.
public struct ConformanceFailure: Sendable, Hashable, CustomStringConvertible {
    /// The case that failed (one of `ChildTableConformance.caseNames`).
    public var caseName: String
    /// What was expected and what happened.
    public var message: String

    /// `case: message`.
    public var description: String { "\(caseName): \(message)" }
}

/// The behaviour every `ChildTable` must have. Each case gets a fresh, empty table from
/// `make`.
///
/// ```swift
/// let failures = ChildTableConformance.run { InMemoryTable() }
/// #expect(failures.isEmpty, "\(failures)")
/// ```
///
/// The cases read through the table itself, or, with `readingThrough:`, through a separate
/// `ChildTableReader` of the same storage (a read-only reader another process would use,
/// such as `TableReader` over an `LMDBTable`): it must see each commit as soon as `apply`
/// returns. The two reads only a `ChildTable` has (`child(pid:)`, `childCount()`) always go to
/// the table.
public enum ChildTableConformance {
    /// Every case, by name, in the order `run` executes them.
    public static var caseNames: [String] { cases.map(\.name) }

    /// Runs every case; an empty result means the table conforms.
    public static func run(_ make: () throws -> any ChildTable) -> [ConformanceFailure] {
        caseNames.flatMap { run(case: $0, make) }
    }

    /// Runs one case by name (for parameterized tests).
    public static func run(case name: String, _ make: () throws -> any ChildTable) -> [ConformanceFailure] {
        run(case: name, make, readingThrough: { $0 })
    }

    /// Runs every case, reading through `reader(table)` (opened once per case, after `make`).
    public static func run(
        _ make: () throws -> any ChildTable, readingThrough reader: (any ChildTable) throws -> any ChildTableReader
    ) -> [ConformanceFailure] {
        caseNames.flatMap { run(case: $0, make, readingThrough: reader) }
    }

    /// Runs one case by name, reading through `reader(table)`.
    public static func run(
        case name: String, _ make: () throws -> any ChildTable,
        readingThrough reader: (any ChildTable) throws -> any ChildTableReader
    ) -> [ConformanceFailure] {
        guard let c = cases.first(where: { $0.name == name }) else {
            return [ConformanceFailure(caseName: name, message: "no such case")]
        }
        var check = Check(caseName: name)
        do {
            let table = try make()
            try c.body(Subject(table: table, reader: try reader(table)), &check)
        } catch {
            check.fail("threw \(error)")
        }
        return check.failures
    }

    private static let cases: [(name: String, body: @Sendable (Subject, inout Check) throws -> Void)] = [
        ("new table is empty", Cases.empty),
        ("insert and lookup", Cases.insertAndLookup),
        ("record round trip", Cases.recordRoundTrip),
        ("upsert replaces", Cases.upsertReplaces),
        ("delete", Cases.delete),
        ("lookup by pid", Cases.lookupByPid),
        ("count", Cases.count),
        ("prefix listing", Cases.prefixListing),
        ("key order", Cases.keyOrder),
        ("children JSON agrees with children", ReaderCases.childrenJSON),
        ("groups", Cases.groups),
        ("event sequence monotonic", Cases.eventSequence),
        ("events since and limit", ReaderCases.eventsSinceAndLimit),
        ("last event seq", ReaderCases.lastEventSeq),
        ("event trim at capacity", Cases.eventTrim),
        ("follow events", ReaderCases.followEvents),
        ("meta round trip", Cases.metaRoundTrip),
        ("meta values", ReaderCases.metaValues),
        ("specs", Cases.specs),
        ("spec keys in key order", ReaderCases.specKeys),
        ("batch atomicity", Cases.batchAtomicity),
        ("batch applies in order", Cases.batchOrder),
    ]
}

/// What a case works on: `table` for writes (and `child(pid:)`, `childCount()`), `reader`
/// for every other read; the same object unless `readingThrough:` was given.
struct Subject {
    let table: any ChildTable
    let reader: any ChildTableReader
}

/// Collects failures for one case.
struct Check {
    let caseName: String
    var failures: [ConformanceFailure] = []

    mutating func fail(_ message: String) {
        failures.append(ConformanceFailure(caseName: caseName, message: message))
    }

    mutating func equal<T: Equatable>(_ actual: T, _ expected: T, _ what: String) {
        if actual != expected { fail("\(what): expected \(expected), got \(actual)") }
    }
}

/// Sample records the cases write.
enum Sample {
    static let t0: UnixMillis = 1_795_550_400_123  // 2026-11-24T20:00:00.123Z

    static func child(_ id: String, state: ChildRecord.State = .running, pid: Int32? = nil) -> ChildRecord {
        let parts = id.split(separator: "/").map(String.init)
        return ChildRecord(
            id: id, group: parts.dropLast(2).joined(separator: "/"), job: parts.count >= 2 ? parts[parts.count - 2] : id,
            instance: Int(parts.last ?? "") ?? 0, state: state, pid: pid, pgid: pid, updatedAt: t0)
    }

    static func event(_ n: Int) -> NewEvent {
        NewEvent(at: t0 + Int64(n), id: "web/api/\(n % 3)", kind: "start", detail: "pid=\(1000 + n)")
    }
}

enum Cases {
    static func empty(_ s: Subject, _ c: inout Check) throws {
        let (t, r) = (s.table, s.reader)
        c.equal(try t.childCount(), 0, "childCount")
        c.equal(try r.children().count, 0, "children")
        c.equal(try r.groups().count, 0, "groups")
        c.equal(try r.events(since: 0).count, 0, "events")
        c.equal(try r.lastEventSeq(), 0, "lastEventSeq")
        c.equal(try r.count(), ChildCount(specs: 0, active: 0, supervisors: 0, workers: 0), "count")
        c.equal(try r.meta(.format), .string(tableFormatVersion), "meta.format")
    }

    static func insertAndLookup(_ s: Subject, _ c: inout Check) throws {
        let (t, r) = (s.table, s.reader)
        let a = Sample.child("web/api/0", pid: 4242)
        try t.upsert(a)
        c.equal(try r.child(id: "web/api/0"), a, "child(id:)")
        c.equal(try r.child(id: "web/api/1"), nil, "missing child")
        c.equal(try t.childCount(), 1, "childCount")
    }

    static func recordRoundTrip(_ s: Subject, _ c: inout Check) throws {
        let (t, r) = (s.table, s.reader)
        let full = ChildRecord(
            id: "web/cache/redis/3", group: "web/cache", job: "redis", instance: 3, state: .backoff, pid: 2_000_000_000,
            pgid: 2_000_000_000, startTicks: 123_456_789_012, startedAt: Sample.t0 - 5000, restarts: 7,
            lastExit: .init(.signal("ABRT"), at: Sample.t0 - 1, cause: .watchdog), nextRestartAt: Sample.t0 + 30_001,
            specHash: "0123456789abcdef", updatedAt: Sample.t0)
        var coded = full
        coded.id = "web/cache/redis/4"
        coded.lastExit = .init(.code(-3), at: Sample.t0)  // no cause: a row an older daemon wrote
        let bare = Sample.child("x/\"quoted\\\"/0", state: .stopped)
        try t.apply([.upsertChild(full), .upsertChild(coded), .upsertChild(bare)])
        c.equal(try r.child(id: full.id), full, "full record")
        c.equal(try r.child(id: coded.id), coded, "record with exit code")
        c.equal(try r.child(id: bare.id), bare, "record with nulls and escapes")
        c.equal(try ChildRecord(json: full.json), full, "JSON codec")
    }

    static func upsertReplaces(_ s: Subject, _ c: inout Check) throws {
        let (t, r) = (s.table, s.reader)
        try t.upsert(Sample.child("web/api/0", state: .starting, pid: 10))
        var b = Sample.child("web/api/0", state: .running, pid: 10)
        b.restarts = 2
        try t.upsert(b)
        c.equal(try r.child(id: "web/api/0"), b, "after second upsert")
        c.equal(try t.childCount(), 1, "childCount")
    }

    static func delete(_ s: Subject, _ c: inout Check) throws {
        let (t, r) = (s.table, s.reader)
        try t.apply([.upsertChild(Sample.child("web/api/0")), .upsertChild(Sample.child("web/api/1"))])
        try t.deleteChild(id: "web/api/0")
        c.equal(try r.child(id: "web/api/0"), nil, "deleted child")
        c.equal(try r.children().map(\.id), ["web/api/1"], "remaining")
        try t.deleteChild(id: "never/was/0")  // deleting a missing row is fine
        c.equal(try t.childCount(), 1, "childCount")
    }

    static func lookupByPid(_ s: Subject, _ c: inout Check) throws {
        let t = s.table
        try t.apply([.upsertChild(Sample.child("a/x/0", pid: 100)), .upsertChild(Sample.child("a/x/1", state: .stopped))])
        c.equal(try t.child(pid: 100)?.id, "a/x/0", "pid 100")
        try t.upsert(Sample.child("a/x/0", pid: 200))
        c.equal(try t.child(pid: 100)?.id, nil, "old pid after restart")
        c.equal(try t.child(pid: 200)?.id, "a/x/0", "new pid")
        try t.upsert(Sample.child("a/x/0", state: .backoff, pid: nil))
        c.equal(try t.child(pid: 200)?.id, nil, "pid after exit")
        try t.upsert(Sample.child("a/x/1", pid: 300))
        try t.deleteChild(id: "a/x/1")
        c.equal(try t.child(pid: 300)?.id, nil, "pid after delete")
        c.equal(try t.child(pid: 0)?.id, nil, "pid never used")
    }

    static func count(_ s: Subject, _ c: inout Check) throws {
        let (t, r) = (s.table, s.reader)
        try t.apply([
            .upsertChild(Sample.child("web/api/0", state: .running, pid: 1)),
            .upsertChild(Sample.child("web/api/1", state: .running, pid: 2)),
            .upsertChild(Sample.child("web/api/2", state: .backoff)),
            .upsertChild(Sample.child("web/db/0", state: .waiting)),
            .upsertGroup(GroupRecord(path: "", strategy: .oneForOne, intensity: 3, periodMillis: 60_000, state: .running)),
            .upsertGroup(GroupRecord(path: "web", strategy: .oneForAll, intensity: 5, periodMillis: 30_000, state: .running)),
            .putSpec(jobKey: "web/api", spec: .object([("name", .string("api"))])),
            .putSpec(jobKey: "web/db", spec: .object([("name", .string("db"))])),
        ])
        c.equal(try r.count(), ChildCount(specs: 2, active: 2, supervisors: 2, workers: 4), "count")
    }

    static func prefixListing(_ s: Subject, _ c: inout Check) throws {
        let (t, r) = (s.table, s.reader)
        let ids = ["web/api/0", "web/api/1", "web/apix/0", "web/api-x/0", "web/cache/redis/0", "other/x/0"]
        try t.apply(ids.map { .upsertChild(Sample.child($0)) })
        c.equal(try r.children(prefix: "web/api").map(\.id), ["web/api/0", "web/api/1"], "prefix web/api")
        c.equal(try r.children(prefix: "web/api/").map(\.id), ["web/api/0", "web/api/1"], "prefix web/api/")
        c.equal(try r.children(prefix: "web/api/1").map(\.id), ["web/api/1"], "exact id")
        c.equal(try r.children(prefix: "web").count, 5, "prefix web")
        c.equal(try r.children(prefix: "web/cache").map(\.id), ["web/cache/redis/0"], "nested group")
        c.equal(try r.children(prefix: "we").map(\.id), [], "partial segment")
        c.equal(try r.children(prefix: "zzz").map(\.id), [], "past the end")
        c.equal(try r.children(prefix: "").count, 6, "empty prefix")
        c.equal(try r.children(prefix: nil).count, 6, "no prefix")
    }

    static func keyOrder(_ s: Subject, _ c: inout Check) throws {
        let (t, r) = (s.table, s.reader)
        let ids = ["b/j/0", "a/j/10", "a/j/2", "a/j/1", "a/k/0", "A/j/0"]
        try t.apply(ids.map { .upsertChild(Sample.child($0)) })
        let expected = ids.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        c.equal(try r.children().map(\.id), expected, "byte order")
    }

    static func groups(_ s: Subject, _ c: inout Check) throws {
        let (t, r) = (s.table, s.reader)
        let root = GroupRecord(path: "", strategy: .oneForOne, intensity: 3, periodMillis: 60_000, state: .running)
        let web = GroupRecord(
            path: "web", strategy: .restForOne, intensity: 5, periodMillis: 30_000, restartsInPeriod: 2, state: .restarting)
        try t.apply([.upsertGroup(web), .upsertGroup(root)])
        c.equal(Set(try r.groups()), [root, web], "groups")
        try t.deleteGroup(path: "")
        c.equal(try r.groups(), [web], "after deleting the root")
        try t.deleteGroup(path: "web")
        c.equal(try r.groups(), [], "after deleting web")
    }

    static func eventSequence(_ s: Subject, _ c: inout Check) throws {
        let (t, r) = (s.table, s.reader)
        let first = try t.apply([.appendEvent(Sample.event(1)), .upsertChild(Sample.child("a/b/0")), .appendEvent(Sample.event(2)), .appendEvent(Sample.event(3))])
        c.equal(first, [1, 2, 3], "seqs of the first batch")
        c.equal(try t.append(Sample.event(4)), 4, "seq of a single append")
        c.equal(try t.apply([]), [], "empty batch")
        c.equal(try t.append(Sample.event(5)), 5, "seq after an empty batch")
        c.equal(try r.lastEventSeq(), 5, "lastEventSeq")
        let since2 = try r.events(since: 2)
        c.equal(since2.map(\.seq), [3, 4, 5], "events since 2")
        c.equal(since2.first, Sample.event(3).numbered(3), "event content")
        c.equal(try r.events(since: 0, limit: 2).map(\.seq), [1, 2], "limit")
        c.equal(try r.events(since: 5).count, 0, "since the last")
        c.equal(try r.events(since: 99).count, 0, "since the future")
    }

    static func eventTrim(_ s: Subject, _ c: inout Check) throws {
        let (t, r) = (s.table, s.reader)
        let capacity = t.eventCapacity
        let total = capacity + 7
        var n = 0
        while n < total {
            let batch = min(1000, total - n)
            try t.apply((n..<(n + batch)).map { .appendEvent(Sample.event($0)) })
            n += batch
        }
        let kept = try r.events(since: 0)
        c.equal(kept.count, capacity, "events kept")
        c.equal(kept.first?.seq, 8, "oldest kept seq")
        c.equal(kept.last?.seq, UInt64(total), "newest seq")
        c.equal(try r.lastEventSeq(), UInt64(total), "lastEventSeq after trimming")
        c.equal(try t.append(Sample.event(0)), UInt64(total + 1), "seq after trimming")
        c.equal(try r.events(since: 0).count, capacity, "still at capacity")
        c.equal(try r.events(since: 3, limit: 1).first?.seq, 9, "since a trimmed seq starts at the oldest kept")
    }

    static func metaRoundTrip(_ s: Subject, _ c: inout Check) throws {
        let (t, r) = (s.table, s.reader)
        let daemon = DaemonInfo(pid: 321, startedAt: Sample.t0, jobs: "/srv/jobs", version: "0.1.0")
        let reload = ReloadInfo(generation: 2, at: Sample.t0 + 1, ok: false, errors: ["web.yaml:3:5: unknown key 'x'"])
        c.equal(try r.daemonInfo(), nil, "daemon before")
        try t.apply([.setDaemon(daemon), .setReload(reload)])
        c.equal(try r.daemonInfo(), daemon, "daemon")
        c.equal(try r.reloadInfo(), reload, "reload")
        c.equal(try r.meta(.format), .string("1"), "format")
        let ok = ReloadInfo(generation: 3, at: Sample.t0 + 2, ok: true)
        try t.apply([.setReload(ok)])
        c.equal(try r.reloadInfo(), ok, "reload replaced")
    }

    static func specs(_ s: Subject, _ c: inout Check) throws {
        let (t, r) = (s.table, s.reader)
        let api = JSONValue.object([("name", .string("api")), ("instances", .int(4)), ("command", .array([.string("/bin/x")]))])
        try t.apply([.putSpec(jobKey: "web/api", spec: api), .putSpec(jobKey: "web/cache/redis", spec: .object([]))])
        c.equal(try r.spec(jobKey: "web/api"), api, "spec")
        c.equal(try r.specKeys(), ["web/api", "web/cache/redis"], "spec keys")
        try t.deleteSpec(jobKey: "web/api")
        c.equal(try r.spec(jobKey: "web/api"), nil, "deleted spec")
        do {
            try t.putSpec(jobKey: "web/bad", .string("not an object"))
            c.fail("a non-object spec was accepted")
        } catch {
            c.equal(error.code, .invalidRecord, "error code for a non-object spec")
        }
    }

    static func batchAtomicity(_ s: Subject, _ c: inout Check) throws {
        let (t, r) = (s.table, s.reader)
        try t.upsert(Sample.child("keep/x/0", pid: 7))
        let tooLong = String(repeating: "k", count: 600)
        do {
            try t.apply([
                .upsertChild(Sample.child("new/x/0")), .deleteChild(id: "keep/x/0"), .appendEvent(Sample.event(1)),
                .upsertChild(Sample.child(tooLong)),
            ])
            c.fail("a batch with a 600-byte key was accepted")
        } catch {
            c.equal(error.code, .invalidKey, "error code")
        }
        c.equal(try r.child(id: "new/x/0"), nil, "upsert of the failed batch")
        c.equal(try r.child(id: "keep/x/0")?.id, "keep/x/0", "delete of the failed batch")
        c.equal(try t.child(pid: 7)?.id, "keep/x/0", "pid index after the failed batch")
        c.equal(try r.lastEventSeq(), 0, "events of the failed batch")
        do {
            try t.deleteChild(id: "")
            c.fail("an empty key was accepted")
        } catch {
            c.equal(error.code, .invalidKey, "error code for an empty key")
        }
    }

    static func batchOrder(_ s: Subject, _ c: inout Check) throws {
        let (t, r) = (s.table, s.reader)
        try t.apply([
            .upsertChild(Sample.child("a/b/0", state: .starting)), .deleteChild(id: "a/b/0"),
            .upsertChild(Sample.child("a/b/1", state: .starting)), .upsertChild(Sample.child("a/b/1", state: .running)),
        ])
        c.equal(try r.child(id: "a/b/0"), nil, "upsert then delete")
        c.equal(try r.child(id: "a/b/1")?.state, .running, "last upsert wins")
    }
}

/// The cases for what readers (`director ps`, `events`, `spec`, `count`) rely on beyond the
/// basic lookups above.
enum ReaderCases {
    static func childrenJSON(_ s: Subject, _ c: inout Check) throws {
        let (t, r) = (s.table, s.reader)
        var odd = Sample.child("web/api/1", state: .backoff)
        odd.lastExit = .init(.code(2), at: Sample.t0 - 10)
        odd.nextRestartAt = Sample.t0 + 500
        try t.apply([
            .upsertChild(Sample.child("web/api/0", pid: 42)), .upsertChild(odd),
            .upsertChild(Sample.child("web/apix/0")), .upsertChild(Sample.child("x/\"q\\u\"/0")),
        ])
        for prefix in [nil, "web/api", "x", "zzz"] as [String?] {
            let what = "prefix \(prefix ?? "nil")"
            let records = try r.children(prefix: prefix)
            let texts = try r.childrenJSON(prefix: prefix)
            c.equal(texts.map(\.id), records.map(\.id), "\(what): ids and order")
            for (text, record) in zip(texts, records) {
                // One compact object per child: `ps --json` joins them into an array as they are.
                if text.json.contains("\n") { c.fail("\(what): \(text.id): the JSON text spans lines") }
                do {
                    c.equal(try ChildRecord(json: JSONValue.parse(text.json)), record, "\(what): \(text.id) decoded")
                } catch {
                    c.fail("\(what): \(text.id): \(error)")
                }
            }
        }
    }

    static func eventsSinceAndLimit(_ s: Subject, _ c: inout Check) throws {
        let (t, r) = (s.table, s.reader)
        try t.apply((1...10).map { .appendEvent(Sample.event($0)) })
        c.equal(try r.events(since: 3, limit: 4).map(\.seq), [4, 5, 6, 7], "since 3, limit 4")
        c.equal(try r.events(since: 8, limit: 100).map(\.seq), [9, 10], "limit past the end")
        c.equal(try r.events(since: 0, limit: 0).count, 0, "limit 0")
        c.equal(try r.events(since: 0, limit: -1).count, 0, "negative limit")
        c.equal(try r.events(since: 10, limit: 1).count, 0, "since the last, limit 1")
        c.equal(try r.events(since: .max, limit: 1).count, 0, "since the largest seq")
        c.equal(try r.events(since: 0, limit: .max).map(\.seq), Array(1...10), "everything")
        // Paging with the last seq seen, as `followEvents` does, visits every event once.
        var paged: [UInt64] = []
        var last: UInt64 = 0
        while true {
            let page = try r.events(since: last, limit: 3)
            guard let end = page.last else { break }
            paged += page.map(\.seq)
            last = end.seq
        }
        c.equal(paged, Array(1...10), "pages of 3")
        c.equal(try r.events(since: 6, limit: 1), [Sample.event(7).numbered(7)], "content of event 7")
    }

    static func lastEventSeq(_ s: Subject, _ c: inout Check) throws {
        let (t, r) = (s.table, s.reader)
        try t.apply([.upsertChild(Sample.child("a/b/0")), .setMeta(.decisions, .object([]))])
        c.equal(try r.lastEventSeq(), 0, "after a batch without events")
        let seqs = try t.apply([.appendEvent(Sample.event(1)), .appendEvent(Sample.event(2))])
        c.equal(try r.lastEventSeq(), seqs.last ?? 0, "the last seq apply returned")
        try t.deleteChild(id: "a/b/0")
        c.equal(try r.lastEventSeq(), 2, "after a batch without events again")
        c.equal(try r.events(since: try r.lastEventSeq()).count, 0, "nothing after the last seq")
        c.equal(try t.append(Sample.event(3)), 3, "the next seq is the last + 1")
    }

    static func followEvents(_ s: Subject, _ c: inout Check) throws {
        let (t, r) = (s.table, s.reader)
        try t.apply((1...3).map { .appendEvent(Sample.event($0)) })
        var seen: [UInt64] = []
        var polls = 0
        let last = try r.followEvents(since: 1, pollInterval: .milliseconds(1), until: {
            polls += 1
            // A commit arriving while following is delivered too; give up after 500 polls.
            if polls == 2 { _ = try? t.apply([.appendEvent(Sample.event(4)), .appendEvent(Sample.event(5))]) }
            return seen.count >= 4 || polls > 500
        }) { e in seen.append(e.seq) }
        c.equal(seen, [2, 3, 4, 5], "delivered seqs")
        c.equal(last, 5, "returned seq")
        c.equal(try r.followEvents(since: 5, pollInterval: .milliseconds(1), until: { true }) { _ in }, 5, "stopped at once")

        struct Stop: Error {}
        var delivered = 0
        do {
            try r.followEvents(since: 0, pollInterval: .milliseconds(1), until: { false }) { _ in
                delivered += 1
                throw Stop()
            }
            c.fail("an error thrown by onEvent did not end following")
        } catch is Stop {
            c.equal(delivered, 1, "events delivered before the error")
        }
    }

    static func metaValues(_ s: Subject, _ c: inout Check) throws {
        let (t, r) = (s.table, s.reader)
        c.equal(try r.meta(.decisions), nil, "decisions before")
        c.equal(try r.meta(.daemon), nil, "daemon before")
        let decisions = OperatorDecisions(stopped: ["web/api/0": "abc"], scaled: ["web/api": .init(instances: 2, specHash: "abc")])
        try t.apply([.setMeta(.decisions, decisions.json)])
        c.equal(try r.meta(.decisions).map(OperatorDecisions.init(json:)), decisions, "decisions")
        // Meta values are opaque JSON to a table: any value is stored as given.
        let odd = JSONValue.object([("list", .array([.int(1), .double(2.5), .bool(true), .null])), ("s", .string("é\n\"x\""))])
        try t.apply([.setMeta(.decisions, odd)])
        c.equal(try r.meta(.decisions), odd, "an arbitrary value")
        c.equal(try r.meta(.format), .string(tableFormatVersion), "format untouched")
    }

    static func specKeys(_ s: Subject, _ c: inout Check) throws {
        let (t, r) = (s.table, s.reader)
        let keys = ["web/b", "web/a", "Web/z", "web/a-b", "web/a/x", "ops/é"]
        try t.apply(keys.map { .putSpec(jobKey: $0, spec: .object([("name", .string($0))])) })
        c.equal(try r.specKeys(), keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }, "byte order")
        try t.apply([.putSpec(jobKey: "web/a", spec: .object([("name", .string("again"))])), .deleteSpec(jobKey: "web/b")])
        c.equal(try r.specKeys().count, keys.count - 1, "a replaced spec is one key, a deleted one none")
        c.equal(try r.spec(jobKey: "web/a")?["name"], .string("again"), "replaced spec")
        c.equal(try r.count().specs, keys.count - 1, "count().specs")
    }
}
