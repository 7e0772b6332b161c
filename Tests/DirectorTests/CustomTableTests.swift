import Director
import Synchronization
import Testing

/// A table of the embedder's own: every commit is counted and kept in order, then handed to
/// an `InMemoryTable` for storage. The supervisor sees only `ChildTable`.
final class RecordingTable: ChildTable {
    private let storage = InMemoryTable()
    let commits = Mutex<[[TableChange]]>([])
    var eventCapacity: Int { storage.eventCapacity }

    func apply(_ changes: [TableChange]) throws(TableError) -> [UInt64] {
        commits.withLock { $0.append(changes) }
        return try storage.apply(changes)
    }

    func child(pid: Int32) throws(TableError) -> ChildRecord? { storage.child(pid: pid) }
    func childCount() throws(TableError) -> Int { storage.childCount() }
    func child(id: String) throws(TableError) -> ChildRecord? { storage.child(id: id) }
    func children(prefix: String?) throws(TableError) -> [ChildRecord] { storage.children(prefix: prefix) }
    func groups() throws(TableError) -> [GroupRecord] { storage.groups() }
    func count() throws(TableError) -> ChildCount { storage.count() }
    func spec(jobKey: String) throws(TableError) -> JSONValue? { storage.spec(jobKey: jobKey) }
    func specKeys() throws(TableError) -> [String] { storage.specKeys() }
    func meta(_ key: MetaKey) throws(TableError) -> JSONValue? { storage.meta(key) }
    func events(since: UInt64, limit: Int) throws(TableError) -> [EventEntry] { storage.events(since: since, limit: limit) }
    func lastEventSeq() throws(TableError) -> UInt64 { storage.lastEventSeq() }
}

@Suite struct CustomTableTests {
    @Test func aTableOfTheEmbeddersOwnReceivesEveryCommit() async throws {
        let table = RecordingTable()
        let tree = Manifest(groups: [GroupSpec(name: "app", children: [.job(shellJob("s", "exec sleep 60"))])])
        let supervisor = try Supervisor(manifest: .manifest(tree), table: table, logger: CapturedLog().logger)
        let run = Task { try await supervisor.run() }
        #expect(await eventually { await supervisor.handle.whichChildren().first?.state == .running })
        // The end of `run()` waits until the table holds everything, so what follows is exact.
        try await supervisor.handle.shutdown()
        try await run.value
        let changes = table.commits.withLock { $0.flatMap { $0 } }
        #expect(changes.contains { if case .upsertChild(let r) = $0 { r.id == "app/s/0" && r.state == .running } else { false } })
        #expect(try table.child(id: "app/s/0")?.state == .stopped)
        #expect(try table.events(since: 0).map(\.kind).contains("start"))
    }
}
