import CLMDB
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The `ChildTable` the daemon writes: an LMDB environment in `<state>/table` that other
/// processes read with `TableReader` while the daemon runs, after it stops, and after it
/// was killed.
///
/// One daemon writes a table, or several that share it on purpose (DESIGN §4.1, each writing
/// its own rows; LMDB serialises their transactions through `lock.mdb`). Lookup by pid
/// uses an index in this process, built by one scan at open and kept up to date by
/// `apply(_:)`; readers in other processes scan instead.
public final class LMDBTable: ChildTable {
    /// How commits reach the disk; see docs/table.md for the measurements.
    public enum Durability: Sendable, Hashable {
        /// fsync data and meta page on every commit: survives an OS crash with every commit.
        case full
        /// `MDB_NOMETASYNC`: one fsync per commit; an OS crash may undo the last commit but
        /// never corrupts the table.
        case noMetaSync
        /// `MDB_NOSYNC`: no fsync; an OS crash may lose recent commits (and corrupt the table
        /// on filesystems that reorder writes). A killed process loses nothing.
        case noSync

        var flags: Int32 {
            switch self {
            case .full: 0
            case .noMetaSync: MDB_NOMETASYNC
            case .noSync: MDB_NOSYNC
            }
        }
    }

    /// How to open a table.
    public struct Options: Sendable, Hashable {
        /// The map size for a new table, in bytes; it doubles whenever a commit needs more.
        public var initialMapSize: Int = 64 << 20
        /// The map never grows beyond this; a commit that needs more throws `.mapFull`.
        public var maxMapSize: Int = 64 << 30
        /// How commits reach the disk.
        public var durability: Durability = .noMetaSync
        /// How many events are kept.
        public var eventCapacity: Int = 10_000

        /// The defaults: 64 MiB growing to 64 GiB, `.noMetaSync`, 10 000 events.
        public init() {}
    }

    /// The environment directory.
    public let path: String
    /// How many events are kept.
    public let eventCapacity: Int
    private let options: Options
    private let state: Mutex<WriterState>

    private struct WriterState {
        let handle: LMDBEnvHandle
        var env: OpaquePointer { handle.pointer }
        let dbs: DatabaseHandles
        var idByPid: [Int32: String] = [:]
        var pidByID: [String: Int32] = [:]
        var grownTimes = 0
    }

    /// Opens (creating if needed) the table of state directory `stateDirectory`, that is
    /// `<stateDirectory>/table`.
    public convenience init(stateDirectory: String, options: Options = Options()) throws(TableError) {
        try self.init(path: stateDirectory + "/table", options: options)
    }

    /// Opens (creating if needed) the environment directory `path` (mode 0700, files 0600).
    public init(path: String, options: Options = Options()) throws(TableError) {
        precondition(options.eventCapacity > 0, "eventCapacity must be positive")
        self.path = path
        self.options = options
        self.eventCapacity = options.eventCapacity
        try LMDBEnvironment.makeDirectories(path)
        // The directory and its files are checked and created here, without following links
        // (files 0600 whatever the umask, the lock file's blocks allocated, the header of
        // data.mdb validated); LMDB then opens the very directory checked.
        let dir = try EnvironmentDirectory.openForWriting(path)
        defer { dir.close() }
        let env = try LMDBEnvironment.open(
            path: dir.lmdbPath, flags: MDB_NOTLS | options.durability.flags, mapSize: options.initialMapSize,
            displayPath: path)
        var s: WriterState
        do {
            LMDBEnvironment.clearStaleReaders(env)
            s = WriterState(handle: LMDBEnvHandle(pointer: env), dbs: try LMDBEnvironment.openDatabases(env, create: true))
            try LMDBTable.checkFormat(&s)
            try LMDBEnvironment.read(env, s.dbs) { (snap) throws(TableError) in
                try snap.scan(.children) { (k, v) throws(TableError) in
                    let c = try ChildRecord(json: LMDB.json(v, "children/\(LMDB.string(k))"))
                    if let pid = c.pid {
                        s.idByPid[pid] = c.id
                        s.pidByID[c.id] = pid
                    }
                    return true
                }
            }
        } catch {
            mdb_env_close(env)
            throw error
        }
        self.state = Mutex(s)
    }

    deinit {
        state.withLock { mdb_env_close($0.env) }
    }

    /// Writes `meta.format` on a new table; refuses a table of another format.
    private static func checkFormat(_ s: inout WriterState) throws(TableError) {
        let format = try LMDBEnvironment.read(s.env, s.dbs) { (snap) throws(TableError) in try snap.meta(.format) }
        if let format {
            guard format.stringValue == tableFormatVersion else {
                throw TableError(.invalidRecord, "meta: field 'format': table format \(format.serialized()) is not \"\(tableFormatVersion)\"")
            }
            return
        }
        _ = try commit([.setMeta(.format, .string(tableFormatVersion))], &s, eventCapacity: 1)
    }

    /// Runs `body` with the environment, under the state lock.
    func withEnvironment<R>(_ body: (OpaquePointer) -> R) -> R {
        state.withLock { body($0.env) }
    }

    /// The durability flags the environment was opened with.
    var durabilityFlags: Int32 { options.durability.flags }

    /// Swaps the environment for the one `open` returns (given the old one), under the state
    /// lock; the pid index is kept, the old environment closed. On error nothing changes.
    func replaceEnvironment(_ open: (OpaquePointer) throws(TableError) -> OpaquePointer) throws(TableError) {
        try state.withLock { (s) throws(TableError) in
            let env = try open(s.env)
            let dbs: DatabaseHandles
            do throws(TableError) { dbs = try LMDBEnvironment.openDatabases(env, create: true) } catch {
                mdb_env_close(env)
                throw error
            }
            let old = s.env
            s = WriterState(handle: LMDBEnvHandle(pointer: env), dbs: dbs, idByPid: s.idByPid, pidByID: s.pidByID, grownTimes: s.grownTimes)
            mdb_env_close(old)
        }
    }

    /// How many times the map has doubled since open (for tests and diagnostics).
    public var mapGrowthCount: Int { state.withLock { $0.grownTimes } }

    /// The current map size in bytes.
    public var mapSize: Int { state.withLock { LMDBEnvironment.mapSize($0.env) } }

    /// Commits `changes` atomically, in order; returns the seqs given to appended events.
    @discardableResult
    public func apply(_ changes: [TableChange]) throws(TableError) -> [UInt64] {
        try TableKey.validate(changes)
        let capacity = eventCapacity
        let maxMapSize = options.maxMapSize
        return try state.withLock { (s) throws(TableError) -> [UInt64] in
            while true {
                do throws(TableError) {
                    let seqs = try LMDBTable.commit(changes, &s, eventCapacity: capacity)
                    LMDBTable.updatePidIndex(changes, &s)
                    return seqs
                } catch {
                    guard error.code == .mapFull else { throw error }
                    // No transaction is open here (commit aborted it), which set_mapsize requires.
                    let current = LMDBEnvironment.mapSize(s.env)
                    guard current < maxMapSize else { throw error }
                    try LMDB.check(mdb_env_set_mapsize(s.env, min(current * 2, maxMapSize)), "grow the map")
                    s.grownTimes += 1
                }
            }
        }
    }

    /// One write transaction; aborted on any error.
    private static func commit(_ changes: [TableChange], _ s: inout WriterState, eventCapacity: Int) throws(TableError) -> [UInt64] {
        let txn = try LMDBEnvironment.begin(s.env, readOnly: false)
        var batch = LMDBWriteBatch(txn: txn, dbs: s.dbs)
        let seqs: [UInt64]
        do {
            for change in changes { try batch.apply(change) }
            if !batch.assignedSeqs.isEmpty { try batch.trimEvents(keeping: eventCapacity) }
            seqs = batch.assignedSeqs
        } catch {
            mdb_txn_abort(txn)
            throw error
        }
        // mdb_txn_commit frees the transaction whether or not it succeeds.
        try LMDB.check(mdb_txn_commit(txn), "commit")
        return seqs
    }

    private static func updatePidIndex(_ changes: [TableChange], _ s: inout WriterState) {
        func forget(_ id: String) {
            if let old = s.pidByID.removeValue(forKey: id), s.idByPid[old] == id { s.idByPid[old] = nil }
        }
        for change in changes {
            switch change {
            case .upsertChild(let c):
                forget(c.id)
                if let pid = c.pid {
                    s.idByPid[pid] = c.id
                    s.pidByID[c.id] = pid
                }
            case .deleteChild(let id): forget(id)
            default: break
            }
        }
    }

    /// Runs `body` on one consistent snapshot (one read transaction). `body` may throw any
    /// error; it is rethrown as is.
    public func snapshot<R>(_ body: (TableSnapshot) throws -> R) throws -> R {
        try TableSnapshot.run(body, reading: read)
    }


    /// Runs `body` on a consistent snapshot of the committed state.
    func read<R>(_ body: (TableSnapshot) throws(TableError) -> R) throws(TableError) -> R {
        try state.withLock { (s) throws(TableError) -> R in try LMDBEnvironment.read(s.env, s.dbs, body) }
    }

    /// The child with this id.
    public func child(id: String) throws(TableError) -> ChildRecord? {
        try read { (s) throws(TableError) in try s.child(id: id) }
    }

    /// The child whose live process has this pid (from the in-process index).
    public func child(pid: Int32) throws(TableError) -> ChildRecord? {
        try state.withLock { (s) throws(TableError) -> ChildRecord? in
            guard let id = s.idByPid[pid] else { return nil }
            return try LMDBEnvironment.read(s.env, s.dbs) { (snap) throws(TableError) in try snap.child(id: id) }
        }
    }

    /// Children under `prefix` on whole path segments, in key order.
    public func children(prefix: String?) throws(TableError) -> [ChildRecord] {
        try read { (s) throws(TableError) in try s.children(prefix: prefix) }
    }

    /// The stored JSON text of each child under `prefix`, in key order, undecoded (see
    /// `TableSnapshot.childrenJSON`).
    public func childrenJSON(prefix: String?) throws(TableError) -> [(id: String, json: String)] {
        try read { (s) throws(TableError) in try s.childrenJSON(prefix: prefix) }
    }

    /// The number of children.
    public func childCount() throws(TableError) -> Int {
        try read { (s) throws(TableError) in try s.childCount() }
    }

    /// Every group, in key order.
    public func groups() throws(TableError) -> [GroupRecord] {
        try read { (s) throws(TableError) in try s.groups() }
    }

    /// Events with `seq > since`, oldest first, at most `limit`.
    public func events(since: UInt64, limit: Int) throws(TableError) -> [EventEntry] {
        try read { (s) throws(TableError) in try s.events(since: since, limit: limit) }
    }

    /// The highest sequence number ever assigned.
    public func lastEventSeq() throws(TableError) -> UInt64 {
        try read { (s) throws(TableError) in try s.lastEventSeq() }
    }

    /// A `meta` value.
    public func meta(_ key: MetaKey) throws(TableError) -> JSONValue? {
        try read { (s) throws(TableError) in try s.meta(key) }
    }

    /// The spec stored for job key `group/job`.
    public func spec(jobKey: String) throws(TableError) -> JSONValue? {
        try read { (s) throws(TableError) in try s.spec(jobKey: jobKey) }
    }

    /// Every stored job key, in key order.
    public func specKeys() throws(TableError) -> [String] {
        try read { (s) throws(TableError) in try s.specKeys() }
    }

    /// OTP `count_children`.
    public func count() throws(TableError) -> ChildCount {
        try read { (s) throws(TableError) in try s.count() }
    }
}
