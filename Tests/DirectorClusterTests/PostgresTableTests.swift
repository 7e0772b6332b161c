import DirectorCluster
import DirectorTable
import DirectorTableTesting
import Foundation
import Testing

/// The PostgreSQL table under the same conformance suite as LMDB and the in-memory table,
/// against a real server of the tests' own.
@Suite(.serialized) struct PostgresTableTests {
    static func server() throws -> PrivatePostgres {
        switch PrivatePostgres.shared {
        case .success(let s): return s
        case .failure(let why):
            print("PostgresTableTests: skipped: \(why)")
            throw why
        }
    }

    /// A table of a node no other case uses: every case starts empty.
    static func freshTable(_ server: PrivatePostgres, capacity: Int = 10_000) throws -> PostgresTable {
        try PostgresTable(configuration: server.configuration, node: "node-\(UUID().uuidString)", eventCapacity: capacity)
    }

    @Test(arguments: ChildTableConformance.caseNames)
    func conforms(caseName: String) throws {
        guard let server = try? Self.server() else { return }
        let failures = ChildTableConformance.run(case: caseName) { try Self.freshTable(server) }
        #expect(failures.isEmpty, "\(failures)")
    }

    @Test func twoNodesShareOneDatabaseAndSeeOnlyTheirOwnRows() throws {
        guard let server = try? Self.server() else { return }
        let a = try Self.freshTable(server)
        let b = try Self.freshTable(server)
        try a.apply([.upsertChild(record("web/api/0")), .appendEvent(NewEvent(at: 1, id: "web/api/0", kind: "start"))])
        try b.apply([.upsertChild(record("db/pg/0"))])
        #expect(try a.children().map(\.id) == ["web/api/0"])
        #expect(try b.children().map(\.id) == ["db/pg/0"])
        #expect(try b.events(since: 0).isEmpty)
        #expect(try a.lastEventSeq() == 1 && b.lastEventSeq() == 0)
        // A second connection to the same node reads what the first committed.
        let again = try PostgresTable(configuration: server.configuration, node: a.node)
        #expect(try again.child(id: "web/api/0") == a.child(id: "web/api/0"))
    }
}

/// A running child's record.
func record(_ id: String) -> ChildRecord {
    let parts = id.split(separator: "/").map(String.init)
    return ChildRecord(
        id: id, group: parts.dropLast(2).joined(separator: "/"), job: parts[parts.count - 2],
        instance: Int(parts.last!) ?? 0, state: .running, pid: 1234, pgid: 1234, startTicks: 12_340,
        startedAt: 1_795_550_340_000, restarts: 0, lastExit: nil, nextRestartAt: nil, specHash: "0123456789abcdef",
        updatedAt: 1_795_550_400_000)
}
