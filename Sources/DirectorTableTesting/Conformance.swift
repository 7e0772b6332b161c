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
public enum ChildTableConformance {
    /// Every case, by name, in the order `run` executes them.
    public static var caseNames: [String] { cases.map(\.name) }

    /// Runs every case; an empty result means the table conforms.
    public static func run(_ make: () throws -> any ChildTable) -> [ConformanceFailure] {
        caseNames.flatMap { run(case: $0, make) }
    }

    /// Runs one case by name (for parameterized tests).
    public static func run(case name: String, _ make: () throws -> any ChildTable) -> [ConformanceFailure] {
        guard let c = cases.first(where: { $0.name == name }) else {
            return [ConformanceFailure(caseName: name, message: "no such case")]
        }
        var check = Check(caseName: name)
        do {
            let table = try make()
            try c.body(table, &check)
        } catch {
            check.fail("threw \(error)")
        }
        return check.failures
    }

    private static let cases: [(name: String, body: @Sendable (any ChildTable, inout Check) throws -> Void)] = [
        ("new table is empty", Cases.empty),
        ("insert and lookup", Cases.insertAndLookup),
        ("record round trip", Cases.recordRoundTrip),
        ("upsert replaces", Cases.upsertReplaces),
        ("delete", Cases.delete),
        ("lookup by pid", Cases.lookupByPid),
        ("count", Cases.count),
        ("prefix listing", Cases.prefixListing),
        ("key order", Cases.keyOrder),
        ("groups", Cases.groups),
        ("event sequence monotonic", Cases.eventSequence),
        ("event trim at capacity", Cases.eventTrim),
        ("meta round trip", Cases.metaRoundTrip),
        ("specs", Cases.specs),
        ("batch atomicity", Cases.batchAtomicity),
        ("batch applies in order", Cases.batchOrder),
    ]
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
    static func empty(_ t: any ChildTable, _ c: inout Check) throws {
        c.equal(try t.childCount(), 0, "childCount")
        c.equal(try t.children().count, 0, "children")
        c.equal(try t.groups().count, 0, "groups")
        c.equal(try t.events(since: 0).count, 0, "events")
        c.equal(try t.lastEventSeq(), 0, "lastEventSeq")
        c.equal(try t.count(), ChildCount(specs: 0, active: 0, supervisors: 0, workers: 0), "count")
        c.equal(try t.meta(.format), .string(tableFormatVersion), "meta.format")
    }

    static func insertAndLookup(_ t: any ChildTable, _ c: inout Check) throws {
        let a = Sample.child("web/api/0", pid: 4242)
        try t.upsert(a)
        c.equal(try t.child(id: "web/api/0"), a, "child(id:)")
        c.equal(try t.child(id: "web/api/1"), nil, "missing child")
        c.equal(try t.childCount(), 1, "childCount")
    }

    static func recordRoundTrip(_ t: any ChildTable, _ c: inout Check) throws {
        let full = ChildRecord(
            id: "web/cache/redis/3", group: "web/cache", job: "redis", instance: 3, state: .backoff, pid: 2_000_000_000,
            pgid: 2_000_000_000, startTicks: 123_456_789_012, startedAt: Sample.t0 - 5000, restarts: 7,
            lastExit: .init(.signal("KILL"), at: Sample.t0 - 1), nextRestartAt: Sample.t0 + 30_001,
            specHash: "0123456789abcdef", updatedAt: Sample.t0)
        var coded = full
        coded.id = "web/cache/redis/4"
        coded.lastExit = .init(.code(-3), at: Sample.t0)
        let bare = Sample.child("x/\"quoted\\\"/0", state: .stopped)
        try t.apply([.upsertChild(full), .upsertChild(coded), .upsertChild(bare)])
        c.equal(try t.child(id: full.id), full, "full record")
        c.equal(try t.child(id: coded.id), coded, "record with exit code")
        c.equal(try t.child(id: bare.id), bare, "record with nulls and escapes")
        c.equal(try ChildRecord(json: full.json), full, "JSON codec")
    }

    static func upsertReplaces(_ t: any ChildTable, _ c: inout Check) throws {
        try t.upsert(Sample.child("web/api/0", state: .starting, pid: 10))
        var b = Sample.child("web/api/0", state: .running, pid: 10)
        b.restarts = 2
        try t.upsert(b)
        c.equal(try t.child(id: "web/api/0"), b, "after second upsert")
        c.equal(try t.childCount(), 1, "childCount")
    }

    static func delete(_ t: any ChildTable, _ c: inout Check) throws {
        try t.apply([.upsertChild(Sample.child("web/api/0")), .upsertChild(Sample.child("web/api/1"))])
        try t.deleteChild(id: "web/api/0")
        c.equal(try t.child(id: "web/api/0"), nil, "deleted child")
        c.equal(try t.children().map(\.id), ["web/api/1"], "remaining")
        try t.deleteChild(id: "never/was/0")  // deleting a missing row is fine
        c.equal(try t.childCount(), 1, "childCount")
    }

    static func lookupByPid(_ t: any ChildTable, _ c: inout Check) throws {
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

    static func count(_ t: any ChildTable, _ c: inout Check) throws {
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
        c.equal(try t.count(), ChildCount(specs: 2, active: 2, supervisors: 2, workers: 4), "count")
    }

    static func prefixListing(_ t: any ChildTable, _ c: inout Check) throws {
        let ids = ["web/api/0", "web/api/1", "web/apix/0", "web/api-x/0", "web/cache/redis/0", "other/x/0"]
        try t.apply(ids.map { .upsertChild(Sample.child($0)) })
        c.equal(try t.children(prefix: "web/api").map(\.id), ["web/api/0", "web/api/1"], "prefix web/api")
        c.equal(try t.children(prefix: "web/api/").map(\.id), ["web/api/0", "web/api/1"], "prefix web/api/")
        c.equal(try t.children(prefix: "web/api/1").map(\.id), ["web/api/1"], "exact id")
        c.equal(try t.children(prefix: "web").count, 5, "prefix web")
        c.equal(try t.children(prefix: "web/cache").map(\.id), ["web/cache/redis/0"], "nested group")
        c.equal(try t.children(prefix: "we").map(\.id), [], "partial segment")
        c.equal(try t.children(prefix: "zzz").map(\.id), [], "past the end")
        c.equal(try t.children(prefix: "").count, 6, "empty prefix")
        c.equal(try t.children(prefix: nil).count, 6, "no prefix")
    }

    static func keyOrder(_ t: any ChildTable, _ c: inout Check) throws {
        let ids = ["b/j/0", "a/j/10", "a/j/2", "a/j/1", "a/k/0", "A/j/0"]
        try t.apply(ids.map { .upsertChild(Sample.child($0)) })
        let expected = ids.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        c.equal(try t.children().map(\.id), expected, "byte order")
    }

    static func groups(_ t: any ChildTable, _ c: inout Check) throws {
        let root = GroupRecord(path: "", strategy: .oneForOne, intensity: 3, periodMillis: 60_000, state: .running)
        let web = GroupRecord(
            path: "web", strategy: .restForOne, intensity: 5, periodMillis: 30_000, restartsInPeriod: 2, state: .restarting)
        try t.apply([.upsertGroup(web), .upsertGroup(root)])
        c.equal(Set(try t.groups()), [root, web], "groups")
        try t.deleteGroup(path: "")
        c.equal(try t.groups(), [web], "after deleting the root")
        try t.deleteGroup(path: "web")
        c.equal(try t.groups(), [], "after deleting web")
    }

    static func eventSequence(_ t: any ChildTable, _ c: inout Check) throws {
        let first = try t.apply([.appendEvent(Sample.event(1)), .upsertChild(Sample.child("a/b/0")), .appendEvent(Sample.event(2)), .appendEvent(Sample.event(3))])
        c.equal(first, [1, 2, 3], "seqs of the first batch")
        c.equal(try t.append(Sample.event(4)), 4, "seq of a single append")
        c.equal(try t.apply([]), [], "empty batch")
        c.equal(try t.append(Sample.event(5)), 5, "seq after an empty batch")
        c.equal(try t.lastEventSeq(), 5, "lastEventSeq")
        let since2 = try t.events(since: 2)
        c.equal(since2.map(\.seq), [3, 4, 5], "events since 2")
        c.equal(since2.first, Sample.event(3).numbered(3), "event content")
        c.equal(try t.events(since: 0, limit: 2).map(\.seq), [1, 2], "limit")
        c.equal(try t.events(since: 5).count, 0, "since the last")
        c.equal(try t.events(since: 99).count, 0, "since the future")
    }

    static func eventTrim(_ t: any ChildTable, _ c: inout Check) throws {
        let capacity = t.eventCapacity
        let total = capacity + 7
        var n = 0
        while n < total {
            let batch = min(1000, total - n)
            try t.apply((n..<(n + batch)).map { .appendEvent(Sample.event($0)) })
            n += batch
        }
        let kept = try t.events(since: 0)
        c.equal(kept.count, capacity, "events kept")
        c.equal(kept.first?.seq, 8, "oldest kept seq")
        c.equal(kept.last?.seq, UInt64(total), "newest seq")
        c.equal(try t.append(Sample.event(0)), UInt64(total + 1), "seq after trimming")
        c.equal(try t.events(since: 0).count, capacity, "still at capacity")
        c.equal(try t.events(since: 3, limit: 1).first?.seq, 9, "since a trimmed seq starts at the oldest kept")
    }

    static func metaRoundTrip(_ t: any ChildTable, _ c: inout Check) throws {
        let daemon = DaemonInfo(pid: 321, startedAt: Sample.t0, jobs: "/srv/jobs", version: "0.1.0")
        let reload = ReloadInfo(generation: 2, at: Sample.t0 + 1, ok: false, errors: ["web.yaml:3:5: unknown key 'x'"])
        c.equal(try t.daemonInfo(), nil, "daemon before")
        try t.apply([.setDaemon(daemon), .setReload(reload)])
        c.equal(try t.daemonInfo(), daemon, "daemon")
        c.equal(try t.reloadInfo(), reload, "reload")
        c.equal(try t.meta(.format), .string("1"), "format")
        let ok = ReloadInfo(generation: 3, at: Sample.t0 + 2, ok: true)
        try t.apply([.setReload(ok)])
        c.equal(try t.reloadInfo(), ok, "reload replaced")
    }

    static func specs(_ t: any ChildTable, _ c: inout Check) throws {
        let api = JSONValue.object([("name", .string("api")), ("instances", .int(4)), ("command", .array([.string("/bin/x")]))])
        try t.apply([.putSpec(jobKey: "web/api", spec: api), .putSpec(jobKey: "web/cache/redis", spec: .object([]))])
        c.equal(try t.spec(jobKey: "web/api"), api, "spec")
        c.equal(try t.specKeys(), ["web/api", "web/cache/redis"], "spec keys")
        try t.deleteSpec(jobKey: "web/api")
        c.equal(try t.spec(jobKey: "web/api"), nil, "deleted spec")
        do {
            try t.putSpec(jobKey: "web/bad", .string("not an object"))
            c.fail("a non-object spec was accepted")
        } catch {
            c.equal(error.code, .invalidRecord, "error code for a non-object spec")
        }
    }

    static func batchAtomicity(_ t: any ChildTable, _ c: inout Check) throws {
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
        c.equal(try t.child(id: "new/x/0"), nil, "upsert of the failed batch")
        c.equal(try t.child(id: "keep/x/0")?.id, "keep/x/0", "delete of the failed batch")
        c.equal(try t.child(pid: 7)?.id, "keep/x/0", "pid index after the failed batch")
        c.equal(try t.lastEventSeq(), 0, "events of the failed batch")
        do {
            try t.deleteChild(id: "")
            c.fail("an empty key was accepted")
        } catch {
            c.equal(error.code, .invalidKey, "error code for an empty key")
        }
    }

    static func batchOrder(_ t: any ChildTable, _ c: inout Check) throws {
        try t.apply([
            .upsertChild(Sample.child("a/b/0", state: .starting)), .deleteChild(id: "a/b/0"),
            .upsertChild(Sample.child("a/b/1", state: .starting)), .upsertChild(Sample.child("a/b/1", state: .running)),
        ])
        c.equal(try t.child(id: "a/b/0"), nil, "upsert then delete")
        c.equal(try t.child(id: "a/b/1")?.state, .running, "last upsert wins")
    }
}
