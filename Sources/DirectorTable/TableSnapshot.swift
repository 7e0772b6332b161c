import CLMDB

/// A consistent view of an LMDB table: everything read through one snapshot comes from the
/// same committed state. Valid only inside the closure that received it.
public struct TableSnapshot {
    let txn: OpaquePointer
    let dbs: DatabaseHandles

    /// Calls `body` for each entry of `db` from `start` (or the first key) on, in key order,
    /// until it returns false.
    func scan(
        _ db: DatabaseName, from start: MDB_val? = nil,
        _ body: (MDB_val, MDB_val) throws(TableError) -> Bool
    ) throws(TableError) {
        guard let dbi = dbs[db] else { return }
        var cursor: OpaquePointer?
        try LMDB.check(mdb_cursor_open(txn, dbi, &cursor), "open cursor on \(db.rawValue)")
        defer { mdb_cursor_close(cursor) }
        var key = start ?? MDB_val(mv_size: 0, mv_data: nil)
        var val = MDB_val(mv_size: 0, mv_data: nil)
        var rc = mdb_cursor_get(cursor, &key, &val, start == nil ? MDB_FIRST : MDB_SET_RANGE)
        while rc == 0 {
            guard try body(key, val) else { return }
            rc = mdb_cursor_get(cursor, &key, &val, MDB_NEXT)
        }
        guard rc == MDB_NOTFOUND else { throw LMDB.error(rc, "read \(db.rawValue)") }
    }

    /// The raw value of `key` in `db`, decoded as JSON.
    func json(_ db: DatabaseName, key: String) throws(TableError) -> JSONValue? {
        guard let dbi = dbs[db] else { return nil }
        return try LMDB.withVal(key) { (k: inout MDB_val) throws(TableError) -> JSONValue? in
            var val = MDB_val(mv_size: 0, mv_data: nil)
            let rc = mdb_get(txn, dbi, &k, &val)
            if rc == MDB_NOTFOUND { return nil }
            try LMDB.check(rc, "read \(db.rawValue)/\(key)")
            return try LMDB.json(val, "\(db.rawValue)/\(key)")
        }
    }

    func entries(_ db: DatabaseName) throws(TableError) -> Int {
        guard let dbi = dbs[db] else { return 0 }
        var stat = MDB_stat()
        try LMDB.check(mdb_stat(txn, dbi, &stat), "stat \(db.rawValue)")
        return stat.ms_entries
    }

    /// The child with this id.
    public func child(id: String) throws(TableError) -> ChildRecord? {
        try json(.children, key: id).map { v throws(TableError) in try ChildRecord(json: v) }
    }

    /// The child whose live process has this pid (a scan; readers keep no index).
    public func child(pid: Int32) throws(TableError) -> ChildRecord? {
        var found: ChildRecord?
        try scan(.children) { (k, v) throws(TableError) in
            let c = try ChildRecord(json: LMDB.json(v, "children/\(LMDB.string(k))"))
            if c.pid == pid { found = c }
            return found == nil
        }
        return found
    }

    /// Children under `prefix` on whole path segments (all when nil or empty), in key order.
    public func children(prefix: String? = nil) throws(TableError) -> [ChildRecord] {
        var out: [ChildRecord] = []
        try scanChildren(prefix: prefix) { (key, v) throws(TableError) in
            out.append(try ChildRecord(json: LMDB.json(v, "children/\(key)")))
        }
        return out
    }

    /// The stored JSON text of each child under `prefix`, in key order, without decoding it:
    /// for tools that pass the records on as they are (`director ps --json`), which is several
    /// times faster than decoding and encoding again.
    public func childrenJSON(prefix: String? = nil) throws(TableError) -> [(id: String, json: String)] {
        var out: [(id: String, json: String)] = []
        try scanChildren(prefix: prefix) { (key, v) throws(TableError) in
            let text = String(decoding: UnsafeRawBufferPointer(start: v.mv_data, count: v.mv_size), as: UTF8.self)
            out.append((key, text))
        }
        return out
    }

    /// Calls `body` with the key and value of every child under `prefix` (whole segments).
    private func scanChildren(prefix: String?, _ body: (String, MDB_val) throws(TableError) -> Void) throws(TableError) {
        let p = TableKey.normalizedPrefix(prefix)
        func visit(_ k: MDB_val, _ v: MDB_val) throws(TableError) -> Bool {
            let key = LMDB.string(k)
            // Keys sharing the prefix bytes are contiguous; `web/api-x` sorts between `web/api`
            // and `web/api/0`, hence the segment filter inside the run.
            guard key.utf8.starts(with: p.utf8) else { return false }
            if TableKey.id(key, isUnder: p) { try body(key, v) }
            return true
        }
        if p.isEmpty {
            try scan(.children, visit)
        } else {
            try LMDB.withVal(p) { (start: inout MDB_val) throws(TableError) in try scan(.children, from: start, visit) }
        }
    }

    /// The number of children.
    public func childCount() throws(TableError) -> Int { try entries(.children) }

    /// Every group, in key order.
    public func groups() throws(TableError) -> [GroupRecord] {
        var out: [GroupRecord] = []
        try scan(.groups) { (k, v) throws(TableError) in
            out.append(try GroupRecord(json: LMDB.json(v, "groups/\(LMDB.string(k))")))
            return true
        }
        return out
    }

    /// Events with `seq > since`, oldest first, at most `limit`.
    public func events(since: UInt64, limit: Int = .max) throws(TableError) -> [EventEntry] {
        var out: [EventEntry] = []
        guard limit > 0, since < UInt64.max else { return out }
        try LMDB.withSeqVal(since + 1) { (start: inout MDB_val) throws(TableError) in
            try scan(.events, from: start) { (k, v) throws(TableError) in
                out.append(try EventEntry(json: LMDB.json(v, "events/\(LMDB.seq(k) ?? 0)")))
                return out.count < limit
            }
        }
        return out
    }

    /// The highest stored sequence number (0 when there are no events).
    public func lastEventSeq() throws(TableError) -> UInt64 {
        guard let dbi = dbs[.events] else { return 0 }
        var cursor: OpaquePointer?
        try LMDB.check(mdb_cursor_open(txn, dbi, &cursor), "open cursor on events")
        defer { mdb_cursor_close(cursor) }
        var key = MDB_val(mv_size: 0, mv_data: nil)
        var val = MDB_val(mv_size: 0, mv_data: nil)
        let rc = mdb_cursor_get(cursor, &key, &val, MDB_LAST)
        if rc == MDB_NOTFOUND { return 0 }
        try LMDB.check(rc, "read events")
        return LMDB.seq(key) ?? 0
    }

    /// A `meta` value.
    public func meta(_ key: MetaKey) throws(TableError) -> JSONValue? { try json(.meta, key: key.rawValue) }

    /// `meta["daemon"]`, decoded.
    public func daemonInfo() throws(TableError) -> DaemonInfo? {
        try meta(.daemon).map { v throws(TableError) in try DaemonInfo(json: v) }
    }

    /// `meta["reload"]`, decoded.
    public func reloadInfo() throws(TableError) -> ReloadInfo? {
        try meta(.reload).map { v throws(TableError) in try ReloadInfo(json: v) }
    }

    /// The spec stored for job key `group/job`.
    public func spec(jobKey: String) throws(TableError) -> JSONValue? { try json(.specs, key: jobKey) }

    /// Every stored job key, in key order.
    public func specKeys() throws(TableError) -> [String] {
        var out: [String] = []
        try scan(.specs) { (k, _) throws(TableError) in
            out.append(LMDB.string(k))
            return true
        }
        return out
    }

    /// OTP `count_children`.
    public func count() throws(TableError) -> ChildCount {
        var active = 0
        // Counting `running` means decoding the rows; a cheap substring test would also
        // match ids that contain the word.
        try scan(.children) { (k, v) throws(TableError) in
            if try ChildRecord(json: LMDB.json(v, "children/\(LMDB.string(k))")).state == .running { active += 1 }
            return true
        }
        return ChildCount(
            specs: try entries(.specs), active: active, supervisors: try entries(.groups), workers: try entries(.children))
    }
}

extension TableSnapshot {
    /// Runs a `body` that may throw any error inside `read`, whose closures may throw only
    /// `TableError`: other errors are carried out of the transaction and rethrown as they are.
    /// (Closures spelled `throws(TableError)` by callers crash the Swift 6.3 compiler when
    /// converted, so the public API takes plain `throws`.)
    static func run<R>(
        _ body: (TableSnapshot) throws -> R,
        reading read: ((TableSnapshot) throws(TableError) -> R?) throws(TableError) -> R?
    ) throws -> R {
        // `body` and `read` are both non-escaping; treating `body` as escaping for the call is
        // safe because `read` runs it before returning.
        try withoutActuallyEscaping(body) { body in
            var failure: (any Error)?
            let result = try read { (s) throws(TableError) -> R? in
                do {
                    return try body(s)
                } catch let e as TableError {
                    throw e
                } catch {
                    failure = error
                    return nil
                }
            }
            if let failure { throw failure }
            return result!
        }
    }
}
