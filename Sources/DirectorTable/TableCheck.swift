import CLMDB
#if canImport(Glibc)
import Glibc
#endif

extension LMDBTable {
    /// Checks the environment directory `path` the way the daemon is about to use it: the
    /// header against the file size; every page of the free list, the main database and each
    /// named database read, each key and value touched; every page number in the free list
    /// inside the file; a trial rewrite of every record one byte longer in a write
    /// transaction that is aborted (copy-on-write of every page, a node removed and inserted:
    /// where damaged page headers or offsets send LMDB outside its buffers); then a committed
    /// transaction that creates any missing database and writes every record back unchanged
    /// (the main database's records and the free list, as at the daemon's first commit). The
    /// content stays the same; only LMDB's transaction id moves on. It uses the lock file
    /// (given its blocks first), so readers' snapshots are respected and its write transaction
    /// waits for other writers (daemons sharing the table, DESIGN §4.1); it reads one snapshot.
    /// Returns the number of records read.
    ///
    /// Throws `.damaged` naming `data.mdb` for LMDB's own errors; system errors (ENOSPC, EIO)
    /// keep their codes. A damaged page can also be a SIGBUS or SIGSEGV: run this in a
    /// process that may die — `director run` runs it in a child (`director __check-table`)
    /// before it trusts a table.
    @discardableResult
    public static func verify(path: String) throws(TableError) -> Int {
        let data = LMDB.dataFile(path)
        func named(_ error: TableError) -> TableError {
            guard error.code == .damaged, !error.message.contains(data) else { return error }
            return TableError(.damaged, "the state table \(data) is damaged (\(error.message))")
        }
        do throws(TableError) {
            // Absent or empty: nothing to check (and nothing created).
            let (reader, _) = try EnvironmentDirectory.openForReading(path)
            reader.close()
            // As the daemon opens it: the lock file given its blocks first (a full disk is
            // ENOSPC here, not a SIGBUS), readers' slots respected by the trial commit.
            let dir = try EnvironmentDirectory.openForWriting(path)
            defer { dir.close() }
            let env = try LMDBEnvironment.open(path: dir.lmdbPath, flags: MDB_NOTLS | MDB_NOMETASYNC, mapSize: nil, displayPath: path)
            defer { mdb_env_close(env) }
            var records = 0
            // Handles opened in a read transaction that commits stay valid in later ones (an
            // aborted one would take them along).
            let handles = try LMDBEnvironment.openDatabases(env, create: false)
            let named = DatabaseName.allCases.compactMap { handles[$0] }
            let reading = try LMDBEnvironment.begin(env, readOnly: true)
            // The last page is read once the snapshot is taken: another daemon sharing the table
            // (DESIGN §4.1) may commit meanwhile, and the free list of this snapshot uses no
            // page past the newest meta page's last one (read before the snapshot, a commit in
            // between made sound pages look outside the file).
            var info = MDB_envinfo()
            mdb_env_info(env, &info)
            let lastPage = UInt64(info.me_last_pgno)
            do throws(TableError) {
                // dbi 0 is LMDB's free list (cursors on it only in read-only transactions):
                // values are page lists, a count then page numbers.
                try walk(reading, 0) { (_, value) throws(TableError) in
                    let b = LMDB.bytes(value)
                    guard b.count >= 8, b.count % 8 == 0 else { throw TableError(.damaged, "a free list record of \(b.count) bytes") }
                    let words = UnsafeRawBufferPointer(b)
                    let count = words.loadUnaligned(as: UInt64.self)
                    guard count == UInt64(b.count / 8 - 1) else { throw TableError(.damaged, "a free list record with a wrong count") }
                    for i in 1..<(b.count / 8) {
                        let page = words.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self)
                        guard page >= 2, page <= lastPage else { throw TableError(.damaged, "free page \(page) outside the \(lastPage + 1) pages") }
                    }
                    records += 1
                }
                var main: MDB_dbi = 0
                try stored(mdb_dbi_open(reading, nil, 0, &main), "open the main database")
                try walk(reading, main) { (_, _) throws(TableError) in records += 1 }
                for dbi in named {
                    try walk(reading, dbi) { (_, _) throws(TableError) in records += 1 }
                }
            } catch {
                mdb_txn_abort(reading)
                throw error
            }
            mdb_txn_abort(reading)
            let txn = try LMDBEnvironment.begin(env, readOnly: false)
            var txnOpen = true
            defer { if txnOpen { mdb_txn_abort(txn) } }
            // The writer's path: copy-on-write of every page, a node removed and re-added.
            for dbi in named where !(try rewriteAll(txn, dbi, longer: true)) { break }
            mdb_txn_abort(txn)
            txnOpen = false
            // And a commit, which updates the main database's records of the named ones and
            // saves the free list (where a damaged record flag is MDB_INCOMPATIBLE): every
            // record written back unchanged.
            let trial = try LMDBEnvironment.begin(env, readOnly: false)
            do throws(TableError) {
                // The daemon creates a missing database at open, an insert into the main
                // database: done here first.
                for name in DatabaseName.allCases where handles[name] == nil {
                    var dbi: MDB_dbi = 0
                    try stored(mdb_dbi_open(trial, name.rawValue, UInt32(MDB_CREATE), &dbi), "create database \(name.rawValue)")
                }
                for dbi in named where !(try rewriteAll(trial, dbi, longer: false)) {
                    // The map is full: LMDB has marked the transaction failed, so it cannot
                    // commit; what was read and rewritten so far was sound.
                    mdb_txn_abort(trial)
                    return records
                }
            } catch {
                mdb_txn_abort(trial)
                throw error
            }
            try stored(mdb_txn_commit(trial), "commit the rewritten records")
            return records
        } catch {
            throw named(error)
        }
    }

    /// An LMDB status while reading or rewriting what is stored: LMDB's own codes (a bad
    /// page, a key of an impossible size, a record of the wrong kind) are damage; system
    /// errors (ENOSPC, EIO) and a full map are not.
    private static func stored(_ rc: Int32, _ what: String) throws(TableError) {
        guard rc != 0 else { return }
        if rc < 0 && rc != MDB_MAP_FULL && rc != MDB_TXN_FULL {
            throw TableError(.damaged, "\(what): \(String(cString: mdb_strerror(rc)))")
        }
        throw LMDB.error(rc, what)
    }

    /// Every entry of `dbi`, keys and values touched byte by byte.
    private static func walk(
        _ txn: OpaquePointer, _ dbi: MDB_dbi, _ each: (MDB_val, MDB_val) throws(TableError) -> Void
    ) throws(TableError) {
        var cursor: OpaquePointer?
        try LMDB.check(mdb_cursor_open(txn, dbi, &cursor), "open a cursor")
        defer { mdb_cursor_close(cursor) }
        var key = MDB_val(), value = MDB_val()
        var op = MDB_FIRST
        var sum: UInt8 = 0
        while true {
            let rc = mdb_cursor_get(cursor, &key, &value, op)
            if rc == MDB_NOTFOUND { break }
            try stored(rc, "read database \(dbi)")
            for b in LMDB.bytes(key) { sum &+= b }
            for b in LMDB.bytes(value) { sum &+= b }
            try each(key, value)
            op = MDB_NEXT
        }
        // Keeps the reads from being optimized away.
        if sum == 1 && dbi == .max { print(sum) }
    }

    /// Rewrites each record of `dbi` (one byte longer when `longer`) inside `txn`. False when
    /// the map was too small to go on: LMDB then marks the transaction failed (every later
    /// call in it is MDB_BAD_TXN), so the caller stops using it. A map that small is common
    /// on a table another daemon grew (DESIGN §4.1): this process maps what the file says.
    @discardableResult
    private static func rewriteAll(_ txn: OpaquePointer, _ dbi: MDB_dbi, longer: Bool) throws(TableError) -> Bool {
        var cursor: OpaquePointer?
        try LMDB.check(mdb_cursor_open(txn, dbi, &cursor), "open a cursor")
        defer { mdb_cursor_close(cursor) }
        var key = MDB_val(), value = MDB_val()
        var op = MDB_FIRST
        var buffer: [UInt8] = []
        while true {
            let rc = mdb_cursor_get(cursor, &key, &value, op)
            if rc == MDB_NOTFOUND { break }
            try stored(rc, "read database \(dbi)")
            buffer.removeAll(keepingCapacity: true)
            buffer += LMDB.bytes(value)
            if longer { buffer.append(0x20) }
            let put: Int32 = buffer.withUnsafeMutableBytes { raw in
                var longer = MDB_val(mv_size: raw.count, mv_data: raw.baseAddress)
                return mdb_cursor_put(cursor, &key, &longer, UInt32(MDB_CURRENT))
            }
            // A map too small for the rewrite says nothing about damage: stop there.
            if put == MDB_MAP_FULL || put == MDB_TXN_FULL { return false }
            try stored(put, "rewrite a record of database \(dbi)")
            op = MDB_NEXT
        }
        return true
    }
}
