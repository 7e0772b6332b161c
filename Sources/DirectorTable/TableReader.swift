import CLMDB
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Reads a table another process writes (`director ps`, `count`, `spec`, `events`, and any
/// Swift tool). Opens the environment with `MDB_RDONLY`: it never blocks the writer and works
/// while the daemon runs, after it stopped, and after it was killed.
///
/// When `lock.mdb` is not writable for us (a read-only copy, another user's state directory
/// opened with read permission only), the reader falls back to `MDB_NOLOCK` and
/// `isLockless` is true: it takes no reader slot, so a writer committing at the same time
/// may recycle pages the reader is looking at. Each read then retries a few times when it
/// sees a torn record; results are still from one commit when they decode.
///
/// Each method is one read transaction; `snapshot(_:)` reads several things from one commit.
/// As a `ChildTableReader` it follows events with the protocol's polling default.
public final class TableReader: ChildTableReader {
    /// The environment directory (`<state>/table`).
    public let path: String
    /// True when the reader opened without the lock file (see the type's documentation).
    public let isLockless: Bool
    private let handle: Mutex<ReaderHandle>

    private struct ReaderHandle {
        let handle: LMDBEnvHandle
        var dbs: DatabaseHandles
        var env: OpaquePointer { handle.pointer }
    }

    /// Whether the reader uses `lock.mdb`.
    public enum LockMode: Sendable, Hashable {
        /// Use the lock file when it is writable for us, else read without it.
        case automatic
        /// Never use the lock file (`MDB_NOLOCK`), as when it is not writable.
        case withoutLock
    }

    /// Opens `<stateDirectory>/table`.
    public convenience init(stateDirectory: String, lockMode: LockMode = .automatic) throws(TableError) {
        try self.init(path: stateDirectory + "/table", stateDirectory: stateDirectory, lockMode: lockMode)
    }

    /// Opens the environment directory `path`.
    public convenience init(path: String, lockMode: LockMode = .automatic) throws(TableError) {
        let parent = path.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
        try self.init(path: path, stateDirectory: parent.isEmpty ? "." : parent, lockMode: lockMode)
    }

    private init(path: String, stateDirectory: String, lockMode: LockMode) throws(TableError) {
        self.path = path
        let data = LMDB.dataFile(path)
        guard LMDBEnvironment.exists(data) else {
            // A directory we may not search hides the table: say so, not "no table".
            if errno == EACCES {
                throw TableError(.permissionDenied, "cannot read the state table \(data): permission denied")
            }
            throw TableError(.notFound, "no state table at \(path): is the daemon running with --state \(stateDirectory)?")
        }
        guard access(data, R_OK) == 0 else {
            throw TableError(.permissionDenied, "cannot read the state table \(data): permission denied")
        }
        // Opened without following links, data.mdb's header checked against its size (a
        // truncated file would be a SIGBUS inside LMDB), the lock file used only when it is
        // ours: a reader creates nothing and follows no planted link.
        let (dir, lockUsable): (EnvironmentDirectory, Bool)
        do { (dir, lockUsable) = try EnvironmentDirectory.openForReading(path) } catch {
            throw Self.naming(error, data)
        }
        defer { dir.close() }
        let base = MDB_RDONLY | MDB_NOTLS
        var lockless = !lockUsable || lockMode == .withoutLock
        var env: OpaquePointer
        do throws(TableError) {
            env = try LMDBEnvironment.open(path: dir.lmdbPath, flags: lockless ? base | MDB_NOLOCK : base, mapSize: nil, displayPath: path)
        } catch {
            // LMDB only falls back by itself on a read-only filesystem, not on EACCES.
            guard !lockless, error.code == .permissionDenied else { throw Self.naming(error, data) }
            lockless = true
            do { env = try LMDBEnvironment.open(path: dir.lmdbPath, flags: base | MDB_NOLOCK, mapSize: nil, displayPath: path) } catch {
                throw Self.naming(error, data)
            }
        }
        if !lockless { LMDBEnvironment.clearStaleReaders(env) }
        let dbs: DatabaseHandles
        do {
            dbs = try LMDBEnvironment.openDatabases(env, create: false)
        } catch {
            mdb_env_close(env)
            throw Self.naming(error, data)
        }
        self.isLockless = lockless
        self.handle = Mutex(ReaderHandle(handle: LMDBEnvHandle(pointer: env), dbs: dbs))
    }

    deinit {
        handle.withLock { mdb_env_close($0.env) }
    }

    /// Runs `body` on one consistent snapshot (one read transaction). `body` may throw any
    /// error; it is rethrown as is.
    public func snapshot<R>(_ body: (TableSnapshot) throws -> R) throws -> R {
        try TableSnapshot.run(body, reading: read)
    }


    /// Runs `body` on one consistent snapshot (one read transaction). Keep it short: a
    /// snapshot pins the pages it sees until it ends.
    func read<R>(_ body: (TableSnapshot) throws(TableError) -> R) throws(TableError) -> R {
        let attempts = isLockless ? 5 : 1
        var attempt = 1
        while true {
            do throws(TableError) {
                return try readOnce(body)
            } catch {
                guard error.code == .invalidRecord, attempt < attempts else { throw Self.naming(error, LMDB.dataFile(path)) }
                attempt += 1
            }
        }
    }

    /// A `.damaged` error whose message does not name the data file gets it: the one line a
    /// reader prints must say which file is damaged.
    static func naming(_ error: TableError, _ dataFile: String) -> TableError {
        guard error.code == .damaged, !error.message.contains(dataFile) else { return error }
        return TableError(.damaged, "the state table \(dataFile) is damaged (\(error.message))")
    }

    private func readOnce<R>(_ body: (TableSnapshot) throws(TableError) -> R) throws(TableError) -> R {
        try handle.withLock { (h) throws(TableError) in
            if h.dbs.handles.count < DatabaseName.allCases.count {
                // The writer may have created the databases after we opened.
                h.dbs = try LMDBEnvironment.openDatabases(h.env, create: false)
            }
        }
        return try handle.withLock { (h) throws(TableError) -> R in try LMDBEnvironment.read(h.env, h.dbs, body) }
    }

    /// Children under `prefix` on whole path segments (all when nil or empty).
    public func children(prefix: String? = nil) throws(TableError) -> [ChildRecord] {
        try read { (s) throws(TableError) in try s.children(prefix: prefix) }
    }

    /// The stored JSON text of each child under `prefix`, in key order (see
    /// `TableSnapshot.childrenJSON`).
    public func childrenJSON(prefix: String? = nil) throws(TableError) -> [(id: String, json: String)] {
        try read { (s) throws(TableError) in try s.childrenJSON(prefix: prefix) }
    }

    /// The child with this id.
    public func child(id: String) throws(TableError) -> ChildRecord? {
        try read { (s) throws(TableError) in try s.child(id: id) }
    }

    /// Every group.
    public func groups() throws(TableError) -> [GroupRecord] {
        try read { (s) throws(TableError) in try s.groups() }
    }

    /// OTP `count_children`.
    public func count() throws(TableError) -> ChildCount {
        try read { (s) throws(TableError) in try s.count() }
    }

    /// The spec of job key `group/job`.
    public func spec(jobKey: String) throws(TableError) -> JSONValue? {
        try read { (s) throws(TableError) in try s.spec(jobKey: jobKey) }
    }

    /// A `meta` value.
    public func meta(_ key: MetaKey) throws(TableError) -> JSONValue? {
        try read { (s) throws(TableError) in try s.meta(key) }
    }

    /// Events with `seq > since`, oldest first, at most `limit`.
    public func events(since: UInt64 = 0, limit: Int = .max) throws(TableError) -> [EventEntry] {
        try read { (s) throws(TableError) in try s.events(since: since, limit: limit) }
    }

    /// The highest stored sequence number (0 when there are no events).
    public func lastEventSeq() throws(TableError) -> UInt64 {
        try read { (s) throws(TableError) in try s.lastEventSeq() }
    }

    /// Every stored job key, in key order.
    public func specKeys() throws(TableError) -> [String] {
        try read { (s) throws(TableError) in try s.specKeys() }
    }
}
