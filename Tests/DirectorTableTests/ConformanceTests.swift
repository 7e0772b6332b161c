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
