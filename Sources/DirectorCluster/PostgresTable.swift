import DirectorTable
import Logging
import NIOCore
import NIOPosix
import PostgresNIO
import Synchronization

/// A `ChildTable` in PostgreSQL: one node's rows of the cluster schema (`ClusterSchema`),
/// usable directly by an embedder (`Supervisor(…, table: PostgresTable(…))`) and read by the
/// same conformance suite as the LMDB and in-memory tables.
///
/// Calls are synchronous, as `ChildTable`'s are: each runs its statements on one connection
/// and waits for the answer, so call it off any event loop (the supervisor's table writer is
/// a thread of its own). `apply` is one transaction: a reader sees all of a batch or none.
/// Key order is byte order (sorted here, not by the database's collation).
public final class PostgresTable: ChildTable {
    /// The node whose rows this table holds.
    public let node: String
    /// Events kept per node; older ones are deleted in the commit that passes the capacity.
    public let eventCapacity: Int
    /// The connection, with its statement timeout (shared with the cluster mirror's code).
    private let session: PostgresSession

    /// Connects, creates the schema if it is missing, and makes sure `meta.format` is set.
    public init(
        configuration: PostgresConnection.Configuration, node: String, eventCapacity: Int = 10_000,
        logger: Logger = Logger(label: "director.cluster", factory: { _ in SwiftLogNoOpLogHandler() })
    ) throws(TableError) {
        precondition(eventCapacity > 0, "eventCapacity must be positive")
        self.node = node
        self.eventCapacity = eventCapacity
        do { session = try PostgresSession(configuration, logger: logger) } catch {
            throw TableError(.notFound, error.message)
        }
        try transaction { run throws(TableError) in
            // One creator at a time: concurrent CREATE TABLE IF NOT EXISTS can still collide.
            _ = try run("SELECT pg_advisory_xact_lock(\(ClusterSchema.creationLock))")
            for statement in ClusterSchema.statements { _ = try run(PostgresQuery(unsafeSQL: statement)) }
            let format = JSONValue.string(tableFormatVersion).serialized()
            _ = try run("INSERT INTO director_meta (node, key, value) VALUES (\(node), 'format', \(format)::jsonb) ON CONFLICT DO NOTHING")
        }
    }

    // MARK: Writing

    @discardableResult
    public func apply(_ changes: [TableChange]) throws(TableError) -> [UInt64] {
        try TableKey.validate(changes)
        let node = self.node
        return try transaction { run throws(TableError) -> [UInt64] in
            var last = UInt64(try Self.firstInt(run("SELECT last_seq FROM director_sequences WHERE node = \(node) FOR UPDATE")) ?? 0)
            var seqs: [UInt64] = []
            for change in changes {
                switch change {
                case .upsertChild(let r):
                    _ = try run("""
                        INSERT INTO director_children (node, id, record, updated_at) VALUES (\(node), \(r.id), \(r.json.serialized())::jsonb, now())
                        ON CONFLICT (node, id) DO UPDATE SET record = EXCLUDED.record, rev = director_children.rev + 1, updated_at = now()
                        """)
                case .deleteChild(let id):
                    _ = try run("DELETE FROM director_children WHERE node = \(node) AND id = \(id)")
                case .upsertGroup(let g):
                    _ = try run("""
                        INSERT INTO director_groups (node, path, record) VALUES (\(node), \(g.key), \(g.json.serialized())::jsonb)
                        ON CONFLICT (node, path) DO UPDATE SET record = EXCLUDED.record, rev = director_groups.rev + 1
                        """)
                case .deleteGroup(let path):
                    let key = path.isEmpty ? GroupRecord.rootKey : path
                    _ = try run("DELETE FROM director_groups WHERE node = \(node) AND path = \(key)")
                case .setMeta(let key, let value):
                    _ = try run("""
                        INSERT INTO director_meta (node, key, value) VALUES (\(node), \(key.rawValue), \(value.serialized())::jsonb)
                        ON CONFLICT (node, key) DO UPDATE SET value = EXCLUDED.value
                        """)
                case .mergeMeta(let key, let merge):
                    // Read and written inside the transaction, the row locked: two writers
                    // merging their parts never lose one (DESIGN §4.1's rule, kept here).
                    let rows = try run("SELECT value::text FROM director_meta WHERE node = \(node) AND key = \(key.rawValue) FOR UPDATE")
                    let current = try rows.first.map { (row) throws(TableError) in try Self.json(row, 0) }
                    let value = merge.applied(to: current).serialized()
                    _ = try run("""
                        INSERT INTO director_meta (node, key, value) VALUES (\(node), \(key.rawValue), \(value)::jsonb)
                        ON CONFLICT (node, key) DO UPDATE SET value = EXCLUDED.value
                        """)
                case .putSpec(let key, let spec):
                    _ = try run("""
                        INSERT INTO director_specs (node, job_key, spec) VALUES (\(node), \(key), \(spec.serialized())::jsonb)
                        ON CONFLICT (node, job_key) DO UPDATE SET spec = EXCLUDED.spec
                        """)
                case .deleteSpec(let key):
                    _ = try run("DELETE FROM director_specs WHERE node = \(node) AND job_key = \(key)")
                case .appendEvent(let e):
                    last += 1
                    seqs.append(last)
                    let seq = Int64(last)
                    _ = try run("""
                        INSERT INTO director_events (seq, node, at, id, kind, detail)
                        VALUES (\(seq), \(node), to_timestamp(\(Double(e.at) / 1000)), \(e.id), \(e.kind), \(e.detail))
                        """)
                }
            }
            if !seqs.isEmpty {
                let lastSeq = Int64(last)
                _ = try run("""
                    INSERT INTO director_sequences (node, last_seq) VALUES (\(node), \(lastSeq))
                    ON CONFLICT (node) DO UPDATE SET last_seq = EXCLUDED.last_seq
                    """)
                // Trimming belongs to the same commit: readers never see more than the capacity.
                let oldestKept = lastSeq - Int64(eventCapacity)
                _ = try run("DELETE FROM director_events WHERE node = \(node) AND seq <= \(oldestKept)")
            }
            return seqs
        }
    }

    // MARK: Reading

    public func child(id: String) throws(TableError) -> ChildRecord? {
        guard let row = try query("SELECT record::text FROM director_children WHERE node = \(node) AND id = \(id)").first else { return nil }
        return try ChildRecord(json: Self.json(row, 0))
    }

    public func child(pid: Int32) throws(TableError) -> ChildRecord? {
        guard let row = try query("SELECT record::text FROM director_children WHERE node = \(node) AND (record->>'pid')::int = \(pid)").first else { return nil }
        return try ChildRecord(json: Self.json(row, 0))
    }

    public func children(prefix: String?) throws(TableError) -> [ChildRecord] {
        let p = TableKey.normalizedPrefix(prefix)
        return try keyed("SELECT id, record::text FROM director_children WHERE node = \(node)")
            .filter { TableKey.id($0.key, isUnder: p) }
            .map { (row) throws(TableError) in try ChildRecord(json: row.value) }
    }

    public func childCount() throws(TableError) -> Int {
        Int(try Self.firstInt(query("SELECT count(*) FROM director_children WHERE node = \(node)")) ?? 0)
    }

    public func groups() throws(TableError) -> [GroupRecord] {
        try keyed("SELECT path, record::text FROM director_groups WHERE node = \(node)")
            .map { (row) throws(TableError) in try GroupRecord(json: row.value) }
    }

    public func events(since: UInt64, limit: Int) throws(TableError) -> [EventEntry] {
        guard limit > 0 else { return [] }
        // Past Int64.max nothing can follow; a limit past it is no limit.
        guard since < UInt64(Int64.max) else { return [] }
        let after = Int64(since)
        let most = Int64(min(limit, Int(Int64.max)))
        let rows = try query("""
            SELECT seq, round(extract(epoch FROM at) * 1000)::bigint, id, kind, detail FROM director_events
            WHERE node = \(node) AND seq > \(after) ORDER BY seq LIMIT \(most)
            """)
        return try rows.map { (row) throws(TableError) in
            let seq = try Self.int(row, 0)
            let at = try Self.int(row, 1)
            let id = try Self.text(row, 2), kind = try Self.text(row, 3), detail = try Self.text(row, 4)
            return NewEvent(at: at, id: id, kind: kind, detail: detail).numbered(UInt64(seq))
        }
    }

    public func lastEventSeq() throws(TableError) -> UInt64 {
        UInt64(try Self.firstInt(query("SELECT last_seq FROM director_sequences WHERE node = \(node)")) ?? 0)
    }

    public func meta(_ key: MetaKey) throws(TableError) -> JSONValue? {
        guard let row = try query("SELECT value::text FROM director_meta WHERE node = \(node) AND key = \(key.rawValue)").first else { return nil }
        return try Self.json(row, 0)
    }

    public func spec(jobKey: String) throws(TableError) -> JSONValue? {
        guard let row = try query("SELECT spec::text FROM director_specs WHERE node = \(node) AND job_key = \(jobKey)").first else { return nil }
        return try Self.json(row, 0)
    }

    public func specKeys() throws(TableError) -> [String] {
        try query("SELECT job_key FROM director_specs WHERE node = \(node)")
            .map { (row) throws(TableError) in try Self.text(row, 0) }
            .sorted(by: TableKey.precedes)
    }

    public func count() throws(TableError) -> ChildCount {
        let children = try children(prefix: nil)
        let specs = try Self.firstInt(query("SELECT count(*) FROM director_specs WHERE node = \(node)")) ?? 0
        let groups = try Self.firstInt(query("SELECT count(*) FROM director_groups WHERE node = \(node)")) ?? 0
        return ChildCount(specs: Int(specs), active: children.count { $0.state == .running }, supervisors: Int(groups), workers: children.count)
    }

    // MARK: - Talking to PostgreSQL

    /// Runs one statement on the connection (outside a transaction: the statement is one).
    private func query(_ q: PostgresQuery) throws(TableError) -> [PostgresRow] {
        do { return try session.run(q) } catch { throw Self.storage(error) }
    }

    /// Rows of (key, JSON) in key order.
    private func keyed(_ q: PostgresQuery) throws(TableError) -> [(key: String, value: JSONValue)] {
        try query(q).map { (row) throws(TableError) in (try Self.text(row, 0), try Self.json(row, 1)) }
            .sorted { TableKey.precedes($0.key, $1.key) }
    }

    /// `body` inside BEGIN … COMMIT on the connection (ROLLBACK when it throws): the session's
    /// transaction, with the table's error type on both sides.
    private func transaction<R>(_ body: (_ run: (PostgresQuery) throws(TableError) -> [PostgresRow]) throws(TableError) -> R) throws(TableError) -> R {
        var bodyError: TableError?
        do throws(ClusterError) {
            return try session.transaction { (sessionRun) throws(ClusterError) -> R in
                // The body cannot hold `sessionRun` past this call; the compiler needs telling.
                let outcome: Result<R, TableError> = withoutActuallyEscaping(sessionRun) { run in
                    do throws(TableError) {
                        return .success(try body { (q) throws(TableError) in
                            do throws(ClusterError) { return try run(q) } catch { throw Self.storage(error) }
                        })
                    } catch {
                        return .failure(error)
                    }
                }
                switch outcome {
                case .success(let value): return value
                case .failure(let error):
                    bodyError = error
                    throw ClusterError(.query, error.message)  // the session rolls back
                }
            }
        } catch {
            throw bodyError ?? Self.storage(error)
        }
    }

    /// A failed statement as a table error (`PostgreSQL: <the server's message>`).
    private static func storage(_ error: ClusterError) -> TableError {
        TableError(.storage, error.message)
    }

    static func describe(_ error: any Error) -> String { PostgresSession.describe(error) }

    private static func firstInt(_ rows: [PostgresRow]) throws(TableError) -> Int64? {
        guard let row = rows.first else { return nil }
        return try int(row, 0)
    }

    private static func text(_ row: PostgresRow, _ column: Int) throws(TableError) -> String {
        do { return try row.makeRandomAccess()[column].decode(String.self) } catch {
            throw TableError(.invalidRecord, "PostgreSQL column \(column): \(describe(error))")
        }
    }

    private static func int(_ row: PostgresRow, _ column: Int) throws(TableError) -> Int64 {
        do { return try row.makeRandomAccess()[column].decode(Int64.self) } catch {
            throw TableError(.invalidRecord, "PostgreSQL column \(column): \(describe(error))")
        }
    }

    private static func json(_ row: PostgresRow, _ column: Int) throws(TableError) -> JSONValue {
        let text = try text(row, column)
        do { return try JSONValue.parse(text) } catch {
            throw TableError(.invalidRecord, "PostgreSQL column \(column) is not JSON: \(error)")
        }
    }
}
