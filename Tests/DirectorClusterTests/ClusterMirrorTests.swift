import DirectorCluster
import DirectorTable
import Foundation
import PostgresNIO
import Synchronization
import Testing

/// `ClusterMirror` driven directly, as the supervisor's table writer drives it (apply to the
/// table, then `committed`), against the tests' private PostgreSQL: each batch goes out as
/// one statement per kind of row, and what PostgreSQL ends up with is exactly the table.
@Suite(.serialized) struct ClusterMirrorTests {
    static func server() -> PrivatePostgres? {
        switch PrivatePostgres.shared {
        case .success(let s): return s
        case .failure(let why):
            print("ClusterMirrorTests: skipped: \(why)")
            return nil
        }
    }

    /// A table and the mirror of a node no other test uses, attached and synced.
    struct Node {
        let name: String
        let table = InMemoryTable()
        let mirror: ClusterMirror

        init(_ server: PrivatePostgres, name: String? = nil) throws {
            self.name = name ?? "mirror-\(UUID().uuidString.prefix(8).lowercased())"
            mirror = ClusterMirror(location: try ClusterLocation(url: server.url, environment: [:]), node: self.name)
            mirror.attach(to: table)
        }

        /// One commit of the table writer: the table first, then the mirror.
        func commit(_ changes: [TableChange]) throws {
            let seqs = try table.apply(changes)
            mirror.committed(changes, eventSeqs: seqs)
        }
    }

    /// The node's child rows in PostgreSQL: id → (record, rev).
    static func rows(_ server: PrivatePostgres, node: String) throws -> [String: (record: ChildRecord, rev: Int64)] {
        let s = try PostgresSession(server.configuration)
        var out: [String: (ChildRecord, Int64)] = [:]
        for row in try s.run("SELECT id, record::text, rev FROM director_children WHERE node = \(node)") {
            out[try Column.text(row, 0)] = (try ChildRecord(json: try JSONValue.parse(try Column.text(row, 1))), try Column.int(row, 2))
        }
        return out
    }

    static func groups(_ server: PrivatePostgres, node: String) throws -> Set<String> {
        let s = try PostgresSession(server.configuration)
        return Set(try s.run("SELECT path FROM director_groups WHERE node = \(node)").map { (row) throws(ClusterError) in try Column.text(row, 0) })
    }

    static func eventSeqs(_ server: PrivatePostgres, node: String) throws -> [Int64] {
        let s = try PostgresSession(server.configuration)
        return try s.run("SELECT seq FROM director_events WHERE node = \(node) ORDER BY seq").map { (row) throws(ClusterError) in try Column.int(row, 0) }
    }

    static func group(_ path: String, _ state: GroupRecord.State = .running) -> GroupRecord {
        GroupRecord(path: path, strategy: .oneForOne, intensity: 3, periodMillis: 5000, state: state)
    }

    @Test func batchesOfUpsertsAndDeletesLeaveExactlyTheTablesRows() throws {
        guard let server = Self.server() else { return }
        let n = try Node(server)
        defer { n.mirror.close() }
        #expect(n.mirror.flush(timeout: .seconds(30)), "the first sync")
        let ids = (0..<300).map { "web/api/\($0)" }
        // A storm's worth of commits with no wait in between: however the mirror's thread
        // cuts them into batches, a batch holds upserts and deletes of children and groups,
        // an id deleted and created again, and events.
        try n.commit(ids.map { .upsertChild(record($0)) } + [.upsertGroup(Self.group("web")), .upsertGroup(Self.group("web/old"))]
            + ids.prefix(50).map { .appendEvent(NewEvent(at: 1_795_550_400_000, id: $0, kind: "start")) })
        for round in 1...5 {
            var changes: [TableChange] = []
            for (i, id) in ids.enumerated() where i % 5 == round - 1 {
                var r = record(id)
                r.restarts = round
                r.state = round % 2 == 0 ? .backoff : .running
                changes.append(.upsertChild(r))
                changes.append(.appendEvent(NewEvent(at: 1_795_550_400_000 + Int64(round), id: id, kind: "exit", detail: "code=1")))
            }
            changes += ids[(round * 20)..<(round * 20 + 10)].map { .deleteChild(id: $0) }
            try n.commit(changes)
        }
        // Deleted, then created again: the newest change wins.
        try n.commit(ids[20..<25].map { var r = record($0); r.restarts = 99; return .upsertChild(r) })
        try n.commit([.deleteGroup(path: "web/old"), .upsertGroup(Self.group("web", .restarting))])
        #expect(n.mirror.flush(timeout: .seconds(30)))

        let local = Dictionary(uniqueKeysWithValues: n.table.children(prefix: nil).map { ($0.id, $0) })
        let remote = try Self.rows(server, node: n.name)
        let onlyRemote = Set(remote.keys).subtracting(local.keys).sorted(), onlyLocal = Set(local.keys).subtracting(remote.keys).sorted()
        #expect(onlyRemote.isEmpty && onlyLocal.isEmpty, "only in PostgreSQL: \(onlyRemote), only in the table: \(onlyLocal)")
        for (id, r) in local { #expect(remote[id]?.record == r, "\(id): \(String(describing: remote[id]?.record)) vs \(r)") }
        #expect(remote["web/api/20"]?.record.restarts == 99 && remote["web/api/100"] == nil)
        #expect(try Self.groups(server, node: n.name) == ["web"])
        #expect(try Self.eventSeqs(server, node: n.name) == n.table.events(since: 0, limit: 10_000).map { Int64($0.seq) })
    }

    /// A table reader whose first `children(prefix:)` call (the mirror's first sync reading
    /// the table) waits until the test lets it go, so the test can commit in the middle of a
    /// sync. Every other call goes straight to the table.
    final class HeldReader: ChildTableReader, @unchecked Sendable {
        let table: InMemoryTable
        let reading = DispatchSemaphore(value: 0), release = DispatchSemaphore(value: 0)
        private let first = Mutex(true)
        init(_ table: InMemoryTable) { self.table = table }
        func children(prefix: String?) throws(TableError) -> [ChildRecord] {
            if first.withLock({ let was = $0; $0 = false; return was }) {
                reading.signal()
                release.wait()
            }
            return try table.children(prefix: prefix)
        }
        func child(id: String) throws(TableError) -> ChildRecord? { try table.child(id: id) }
        func groups() throws(TableError) -> [GroupRecord] { try table.groups() }
        func count() throws(TableError) -> ChildCount { try table.count() }
        func spec(jobKey: String) throws(TableError) -> JSONValue? { try table.spec(jobKey: jobKey) }
        func specKeys() throws(TableError) -> [String] { try table.specKeys() }
        func meta(_ key: MetaKey) throws(TableError) -> JSONValue? { try table.meta(key) }
        func events(since: UInt64, limit: Int) throws(TableError) -> [EventEntry] { try table.events(since: since, limit: limit) }
        func lastEventSeq() throws(TableError) -> UInt64 { try table.lastEventSeq() }
    }

    /// Found by CI on a loaded machine: `flush` returned while the first sync was still
    /// running (its flag was cleared when the sync began), and a sync's end marked as
    /// acknowledged the commits queued while it ran, so `flush` after them returned before
    /// they were sent and PostgreSQL was missing most of the rows.
    @Test func flushWaitsForASyncAndForTheCommitsMadeWhileItRan() throws {
        guard let server = Self.server() else { return }
        let table = InMemoryTable()
        let reader = HeldReader(table)
        var options = ClusterMirror.Options()
        options.batchInterval = .seconds(2)
        let name = "mirror-\(UUID().uuidString.prefix(8).lowercased())"
        let mirror = ClusterMirror(location: try ClusterLocation(url: server.url, environment: [:]), node: name, options: options)
        defer { mirror.close() }
        mirror.attach(to: reader)
        #expect(reader.reading.wait(timeout: .now() + 30) == .success, "the first sync reads the table")
        #expect(!mirror.flush(timeout: .milliseconds(300)), "flush returned while the first sync was still running")
        let ids = (0..<50).map { "web/api/\($0)" }
        let changes = ids.map { TableChange.upsertChild(record($0)) }
        mirror.committed(changes, eventSeqs: try table.apply(changes))
        reader.release.signal()
        #expect(mirror.flush(timeout: .seconds(30)))
        let remote = try Self.rows(server, node: name)
        #expect(Set(remote.keys) == Set(ids), "rows in PostgreSQL after flush: \(remote.count) of \(ids.count)")
    }

    @Test func aStaleEpochChangesNothingNotEvenADelete() throws {
        guard let server = Self.server() else { return }
        let old = try Node(server)
        defer { old.mirror.close() }
        #expect(old.mirror.flush(timeout: .seconds(30)))
        try old.commit([.upsertChild(record("web/api/0")), .upsertChild(record("web/api/1"))])
        #expect(old.mirror.flush(timeout: .seconds(30)))
        // A newer daemon of the same node, with a table of its own.
        let new = try Node(server, name: old.name)
        defer { new.mirror.close() }
        try new.commit([.upsertChild(record("web/api/1")), .upsertChild(record("web/api/2"))])
        #expect(new.mirror.flush(timeout: .seconds(30)))
        #expect(Set(try Self.rows(server, node: old.name).keys) == ["web/api/1", "web/api/2"])
        // The old one deletes and upserts: fenced, nothing of it lands.
        var changed = record("web/api/2")
        changed.restarts = 7
        try old.commit([.deleteChild(id: "web/api/1"), .upsertChild(changed), .upsertChild(record("web/api/3"))])
        #expect(eventually(timeout: 10) { old.mirror.isFenced })
        let rows = try Self.rows(server, node: old.name)
        #expect(Set(rows.keys) == ["web/api/1", "web/api/2"] && rows["web/api/2"]?.record.restarts == 0)
        #expect(new.mirror.epoch.map { $0 > (old.mirror.epoch ?? 0) } == true)
    }
}
