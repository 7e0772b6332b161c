import DirectorTable
import DirectorTableTesting
import Testing

@Suite struct ConformanceTests {
    @Test(arguments: ChildTableConformance.caseNames)
    func inMemoryTable(_ name: String) {
        let failures = ChildTableConformance.run(case: name) { InMemoryTable(eventCapacity: 1000) }
        #expect(failures.isEmpty, "\(failures)")
    }

    @Test(arguments: ChildTableConformance.caseNames)
    func lmdbTable(_ name: String) throws {
        let dir = try TempDirectory("conformance")
        defer { dir.remove() }
        var options = LMDBTable.Options()
        options.eventCapacity = 1000
        let failures = ChildTableConformance.run(case: name) { try LMDBTable(path: dir.path + "/table", options: options) }
        #expect(failures.isEmpty, "\(failures)")
    }

    /// The CLI's reader: the same cases, written through `LMDBTable`, read through
    /// `TableReader` on the same files (one process opening one environment twice, which
    /// the daemon never does; see docs/table.md).
    @Test(arguments: ChildTableConformance.caseNames)
    func lmdbTableReadThroughTableReader(_ name: String) throws {
        let dir = try TempDirectory("conformance")
        defer { dir.remove() }
        var options = LMDBTable.Options()
        options.eventCapacity = 1000
        let failures = ChildTableConformance.run(
            case: name, { try LMDBTable(path: dir.path + "/table", options: options) },
            readingThrough: { _ in try TableReader(path: dir.path + "/table") })
        #expect(failures.isEmpty, "\(failures)")
    }

    /// The worked backend of docs/table.md.
    @Test(arguments: ChildTableConformance.caseNames)
    func jsonLinesTable(_ name: String) throws {
        let dir = try TempDirectory("conformance")
        defer { dir.remove() }
        let failures = ChildTableConformance.run(case: name) { try JSONLinesTable(path: dir.path + "/table.jsonl", eventCapacity: 1000) }
        #expect(failures.isEmpty, "\(failures)")
    }

    /// The worked backend written by one instance and read by another on the same file, as a
    /// reader in another process would.
    @Test(arguments: ChildTableConformance.caseNames)
    func jsonLinesTableReadByAnotherInstance(_ name: String) throws {
        let dir = try TempDirectory("conformance")
        defer { dir.remove() }
        let file = dir.path + "/table.jsonl"
        let failures = ChildTableConformance.run(
            case: name, { try JSONLinesTable(path: file, eventCapacity: 1000) },
            readingThrough: { _ in try JSONLinesTable(path: file) })
        #expect(failures.isEmpty, "\(failures)")
    }

    @Test func defaultCapacityTrimsAtTenThousand() throws {
        let dir = try TempDirectory("conformance")
        defer { dir.remove() }
        let failures = ChildTableConformance.run(case: "event trim at capacity") { try LMDBTable(path: dir.path + "/table") }
            + ChildTableConformance.run(case: "event trim at capacity") { InMemoryTable() }
        #expect(failures.isEmpty, "\(failures)")
        #expect(LMDBTable.Options().eventCapacity == 10_000)
    }

    @Test func unknownCaseIsReported() {
        let failures = ChildTableConformance.run(case: "no such thing") { InMemoryTable() }
        #expect(failures.map(\.caseName) == ["no such thing"])
    }
}

/// An InMemoryTable with a classic bug: prefixes matched on characters rather than whole
/// segments. The suite must catch it.
private final class SloppyTable: ChildTable {
    let base = InMemoryTable(eventCapacity: 1000)
    var eventCapacity: Int { base.eventCapacity }
    func apply(_ changes: [TableChange]) throws(TableError) -> [UInt64] { try base.apply(changes) }
    func child(id: String) throws(TableError) -> ChildRecord? { base.child(id: id) }
    func child(pid: Int32) throws(TableError) -> ChildRecord? { base.child(pid: pid) }
    func children(prefix: String?) throws(TableError) -> [ChildRecord] {
        base.children(prefix: nil).filter { $0.id.hasPrefix(prefix ?? "") }
    }
    func childCount() throws(TableError) -> Int { base.childCount() }
    func groups() throws(TableError) -> [GroupRecord] { base.groups() }
    func events(since: UInt64, limit: Int) throws(TableError) -> [EventEntry] { base.events(since: since, limit: limit) }
    func lastEventSeq() throws(TableError) -> UInt64 { base.lastEventSeq() }
    func meta(_ key: MetaKey) throws(TableError) -> JSONValue? { base.meta(key) }
    func spec(jobKey: String) throws(TableError) -> JSONValue? { base.spec(jobKey: jobKey) }
    func specKeys() throws(TableError) -> [String] { base.specKeys() }
    func count() throws(TableError) -> ChildCount { base.count() }
}

/// Two more classic bugs on the reader side: the last seq taken from the kept events (wrong
/// once the oldest were trimmed), and a JSON fast path that drifted from the records.
private final class DriftingReaderTable: ChildTable {
    let base = InMemoryTable(eventCapacity: 1000)
    var eventCapacity: Int { base.eventCapacity }
    func apply(_ changes: [TableChange]) throws(TableError) -> [UInt64] { try base.apply(changes) }
    func child(id: String) throws(TableError) -> ChildRecord? { base.child(id: id) }
    func child(pid: Int32) throws(TableError) -> ChildRecord? { base.child(pid: pid) }
    func children(prefix: String?) throws(TableError) -> [ChildRecord] { base.children(prefix: prefix) }
    func childrenJSON(prefix: String?) throws(TableError) -> [(id: String, json: String)] {
        base.children(prefix: prefix).map { ($0.id, #"{"id":"\#($0.id)"}"#) }
    }
    func childCount() throws(TableError) -> Int { base.childCount() }
    func groups() throws(TableError) -> [GroupRecord] { base.groups() }
    func events(since: UInt64, limit: Int) throws(TableError) -> [EventEntry] { base.events(since: since, limit: limit) }
    func lastEventSeq() throws(TableError) -> UInt64 { UInt64(base.events(since: 0, limit: .max).count) }
    func meta(_ key: MetaKey) throws(TableError) -> JSONValue? { base.meta(key) }
    func spec(jobKey: String) throws(TableError) -> JSONValue? { base.spec(jobKey: jobKey) }
    func specKeys() throws(TableError) -> [String] { base.specKeys() }
    func count() throws(TableError) -> ChildCount { base.count() }
}

@Suite struct ConformanceCatchesBugsTests {
    @Test func sloppyTableFails() {
        let failed = Set(ChildTableConformance.run { SloppyTable() }.map(\.caseName))
        #expect(failed.contains("prefix listing"))
        #expect(!failed.contains("insert and lookup"))
    }

    @Test func driftingReaderFails() {
        let failed = Set(ChildTableConformance.run { DriftingReaderTable() }.map(\.caseName))
        #expect(failed == ["children JSON agrees with children", "event trim at capacity"], "\(failed)")
    }
}
