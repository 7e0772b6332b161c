// Opening environments and running read transactions, shared by the writer (`LMDBTable`)
// and the readers (`TableReader`).

import CLMDB
#if canImport(Glibc)
import Glibc
#endif

enum LMDBEnvironment {
    /// Room for the five named databases and a few more in later formats.
    static let maxDatabases: MDB_dbi = 16

    /// Creates and opens an environment on directory `path`.
    /// `displayPath` names the environment in errors when `path` is a `/proc/self/fd` alias.
    static func open(path: String, flags: Int32, mapSize: Int?, displayPath: String? = nil) throws(TableError) -> OpaquePointer {
        var envOut: OpaquePointer?
        try LMDB.check(mdb_env_create(&envOut), "create LMDB environment")
        guard let env = envOut else { throw TableError(.storage, "create LMDB environment: no handle") }
        do {
            try LMDB.check(mdb_env_set_maxdbs(env, maxDatabases), "set maxdbs")
            if let mapSize { try LMDB.check(mdb_env_set_mapsize(env, mapSize), "set map size") }
            try LMDB.check(mdb_env_open(env, path, UInt32(bitPattern: flags), 0o600), "open \(displayPath ?? path)")
        } catch {
            mdb_env_close(env)
            throw error
        }
        return env
    }

    /// Clears reader slots left by processes that died, so they do not pin old pages.
    static func clearStaleReaders(_ env: OpaquePointer) {
        var dead: Int32 = 0
        _ = mdb_reader_check(env, &dead)
    }

    /// The current map size.
    static func mapSize(_ env: OpaquePointer) -> Int {
        var info = MDB_envinfo()
        mdb_env_info(env, &info)
        return info.me_mapsize
    }

    /// Begins a transaction, adopting a map grown by another process first if needed.
    static func begin(_ env: OpaquePointer, readOnly: Bool) throws(TableError) -> OpaquePointer {
        let flags = readOnly ? UInt32(MDB_RDONLY) : 0
        var txn: OpaquePointer?
        var rc = mdb_txn_begin(env, nil, flags, &txn)
        if rc == MDB_MAP_RESIZED {
            // Another process grew the map; size 0 means "adopt the size in the file".
            try LMDB.check(mdb_env_set_mapsize(env, 0), "adopt the grown map")
            rc = mdb_txn_begin(env, nil, flags, &txn)
        }
        try LMDB.check(rc, readOnly ? "begin read transaction" : "begin write transaction")
        guard let txn else { throw TableError(.storage, "begin transaction: no handle") }
        return txn
    }

    /// Runs `body` on a read snapshot.
    static func read<R>(
        _ env: OpaquePointer, _ dbs: DatabaseHandles, _ body: (TableSnapshot) throws(TableError) -> R
    ) throws(TableError) -> R {
        let txn = try begin(env, readOnly: true)
        defer { mdb_txn_abort(txn) }
        return try body(TableSnapshot(txn: txn, dbs: dbs))
    }

    /// Opens the named databases, creating them when `create` (writer) or skipping the
    /// missing ones (reader).
    static func openDatabases(_ env: OpaquePointer, create: Bool) throws(TableError) -> DatabaseHandles {
        let txn = try begin(env, readOnly: !create)
        var handles = DatabaseHandles()
        for name in DatabaseName.allCases {
            var dbi: MDB_dbi = 0
            let rc = mdb_dbi_open(txn, name.rawValue, create ? UInt32(MDB_CREATE) : 0, &dbi)
            if rc == MDB_NOTFOUND && !create { continue }
            if rc != 0 {
                mdb_txn_abort(txn)
                throw LMDB.error(rc, "open database \(name.rawValue)")
            }
            handles.handles[name] = dbi
        }
        // Committing (even a read transaction) makes the handles usable by later transactions.
        try LMDB.check(mdb_txn_commit(txn), "open databases")
        return handles
    }

    /// `mkdir -p path` with mode 0700 for the directories it creates, set explicitly so the
    /// umask cannot widen or narrow it.
    static func makeDirectories(_ path: String) throws(TableError) {
        var built = path.hasPrefix("/") ? "" : "."
        for part in path.split(separator: "/", omittingEmptySubsequences: true) {
            built += "/" + part
            if mkdir(built, 0o700) == 0 {
                chmod(built, 0o700)
            } else if errno != EEXIST {
                throw LMDB.error(errno, "create directory \(built)")
            }
        }
    }

    static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }
}
