import CLMDB
#if canImport(Glibc)
import Glibc
#endif

extension LMDBTable {
    /// Checks the environment directory `path` the way the daemon is about to use it, and
    /// changes nothing: the header against the file size; every page of the free list, the
    /// main database and each named database read, each key and value touched; every page
    /// number in the free list inside the file; and a trial rewrite of every record, one byte
    /// longer, in a write transaction that is then aborted — it copies every page the writer
    /// would modify and inserts into it, which is where damaged page headers or offsets send
    /// LMDB outside its buffers. Opened without the lock file (`MDB_NOLOCK`), so it works on a
    /// full disk; call it only while no other process writes the table (the daemon holds
    /// `director.lock`). Returns the number of records read.
    ///
    /// Throws `.damaged` naming `data.mdb` for what LMDB reports. A damaged page can also be
    /// a SIGBUS or SIGSEGV: run this in a process that may die — `director run` runs it in a
    /// child (`director __check-table`) before it trusts a table.
    @discardableResult
    public static func verify(path: String) throws(TableError) -> Int {
        let data = LMDB.dataFile(path)
        func named(_ error: TableError) -> TableError {
            error.code == .damaged && !error.message.contains(data)
                ? TableError(.damaged, "the state table \(data) is damaged (\(error.message))") : error
        }
        do throws(TableError) {
            let (dir, _) = try EnvironmentDirectory.openForReading(path)
            defer { dir.close() }
            let env = try LMDBEnvironment.open(path: dir.lmdbPath, flags: MDB_NOTLS | MDB_NOLOCK, mapSize: nil, displayPath: path)
            defer { mdb_env_close(env) }
            var info = MDB_envinfo()
            mdb_env_info(env, &info)
            let lastPage = UInt64(info.me_last_pgno)
            var records = 0
            // dbi 0 is LMDB's free list (cursors on it only in read-only transactions):
            // values are page lists, a count then page numbers.
            let reading = try LMDBEnvironment.begin(env, readOnly: true)
            do throws(TableError) {
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
            } catch {
                mdb_txn_abort(reading)
                throw error
            }
            mdb_txn_abort(reading)
            let txn = try LMDBEnvironment.begin(env, readOnly: false)
            defer { mdb_txn_abort(txn) }
            var main: MDB_dbi = 0
            try LMDB.check(mdb_dbi_open(txn, nil, 0, &main), "open the main database")
            var named: [MDB_dbi] = []
            for name in DatabaseName.allCases {
                var dbi: MDB_dbi = 0
                let rc = mdb_dbi_open(txn, name.rawValue, 0, &dbi)
                if rc == MDB_NOTFOUND { continue }
                try LMDB.check(rc, "open database \(name.rawValue)")
                named.append(dbi)
            }
            try walk(txn, main) { (_, _) throws(TableError) in records += 1 }
            for dbi in named {
                try walk(txn, dbi) { (_, _) throws(TableError) in records += 1 }
            }
            // The writer's path: copy-on-write of every page, a node removed and re-added.
            for dbi in named { try rewriteAll(txn, dbi) }
            return records
        } catch {
            throw named(error)
        }
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
            try LMDB.check(rc, "read database \(dbi)")
            for b in LMDB.bytes(key) { sum &+= b }
            for b in LMDB.bytes(value) { sum &+= b }
            try each(key, value)
            op = MDB_NEXT
        }
        // Keeps the reads from being optimized away.
        if sum == 1 && dbi == .max { print(sum) }
    }

    /// Rewrites each record of `dbi` one byte longer, inside the (aborted) transaction.
    private static func rewriteAll(_ txn: OpaquePointer, _ dbi: MDB_dbi) throws(TableError) {
        var cursor: OpaquePointer?
        try LMDB.check(mdb_cursor_open(txn, dbi, &cursor), "open a cursor")
        defer { mdb_cursor_close(cursor) }
        var key = MDB_val(), value = MDB_val()
        var op = MDB_FIRST
        var buffer: [UInt8] = []
        while true {
            let rc = mdb_cursor_get(cursor, &key, &value, op)
            if rc == MDB_NOTFOUND { break }
            try LMDB.check(rc, "read database \(dbi)")
            buffer.removeAll(keepingCapacity: true)
            buffer += LMDB.bytes(value)
            buffer.append(0x20)
            let put: Int32 = buffer.withUnsafeMutableBytes { raw in
                var longer = MDB_val(mv_size: raw.count, mv_data: raw.baseAddress)
                return mdb_cursor_put(cursor, &key, &longer, UInt32(MDB_CURRENT))
            }
            // A map too small for the rewrite says nothing about damage: stop there.
            if put == MDB_MAP_FULL || put == MDB_TXN_FULL { return }
            try LMDB.check(put, "rewrite a record of database \(dbi)")
            op = MDB_NEXT
        }
    }
}
