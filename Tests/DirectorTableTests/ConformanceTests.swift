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

@Suite struct ConformanceCatchesBugsTests {
    @Test func sloppyTableFails() {
        let failed = Set(ChildTableConformance.run { SloppyTable() }.map(\.caseName))
        #expect(failed.contains("prefix listing"))
        #expect(!failed.contains("insert and lookup"))
    }
}
