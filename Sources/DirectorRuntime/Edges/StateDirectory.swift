#if canImport(Glibc)
import Glibc
#endif
import CDirectorSys
import DirectorCore
import DirectorTable

/// The daemon's state directory (DESIGN §4): `director.lock`, `table/`, `control.sock`.
///
/// At start the directory is created 0700 if missing, opened with O_NOFOLLOW and refused when
/// it is a symbolic link, is not owned by the daemon's user, or group or others may write it:
/// in a shared directory such as /tmp another user could have created it first and planted
/// `director.lock -> /root-only-file` or `table -> /elsewhere`. Everything in it is then
/// opened relative to the checked directory without following links (the lock file here,
/// the table's files in `LMDBTable`), and a planted link is refused with its name.
///
/// While the daemon runs the directory stays open, so that its removal (a tmp cleaner) can
/// be noticed (`missingParts`) and repaired (`recreate`, `retakeLock`).
final class StateDirectory {
    /// The path as given (`--state`).
    let path: String
    private(set) var fd: Int32
    private(set) var lock: DaemonLock
    private var identity: (dev: UInt64, ino: UInt64)
    /// The control socket's inode once it listens, to notice its removal.
    var socketIdentity: (dev: UInt64, ino: UInt64)?

    /// What went missing while the daemon ran.
    struct Missing: OptionSet {
        var rawValue: Int
        /// The directory itself was removed or moved away.
        static let directory = Missing(rawValue: 1)
        static let lock = Missing(rawValue: 2)
        static let socket = Missing(rawValue: 4)
        static let table = Missing(rawValue: 8)
    }

    /// Opens (creating) and checks the directory, then takes the lock.
    init(path: String) throws(RuntimeStartError) {
        self.path = path
        let (fd, identity) = try Self.openChecked(path)
        self.fd = fd
        self.identity = identity
        do { try Self.refuseLinks(fd: fd, path: path) } catch {
            close(fd)
            throw error
        }
        do { lock = try DaemonLock(directoryFD: fd, stateDirectory: path) } catch {
            close(fd)
            throw RuntimeStartError(code: error.code == .lockHeld ? .lockHeld : .system, lines: [error.message])
        }
    }

    deinit { close(fd) }

    var tablePath: String { path + "/table" }
    var socketPath: String { ControlServer.socketPath(stateDirectory: path) }

    /// Releases the lock (at exit).
    func release() { lock.release() }

    /// mkdir (0700), open with O_NOFOLLOW, owner and mode checks. Throws one line naming
    /// the path and why.
    private static func openChecked(_ path: String) throws(RuntimeStartError) -> (Int32, (UInt64, UInt64)) {
        func refuse(_ why: String) -> RuntimeStartError {
            RuntimeStartError(code: .system, lines: ["refusing state directory \(path): \(why)"])
        }
        if mkdir(path, 0o700) != 0 && errno != EEXIST {
            throw RuntimeStartError(code: .system, lines: ["cannot create state directory \(path): \(errorText(errno))"])
        }
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else {
            let e = errno
            if e == ELOOP || e == ENOTDIR { throw refuse("it is a symbolic link or not a directory (give the real path of a directory)") }
            throw RuntimeStartError(code: .system, lines: ["cannot open state directory \(path): \(errorText(e))"])
        }
        var st = stat()
        guard fstat(fd, &st) == 0 else { close(fd); throw refuse(errorText(errno)) }
        guard st.st_uid == geteuid() else {
            close(fd)
            throw refuse("it is owned by uid \(st.st_uid), not by this daemon's user (uid \(geteuid())); another user may have planted files in it")
        }
        guard st.st_mode & 0o022 == 0 else {
            close(fd)
            throw refuse("it is writable by group or others (mode \(String(st.st_mode & 0o7777, radix: 8))); make it 0700")
        }
        // Readable by others only: ours, so simply made private.
        if st.st_mode & 0o077 != 0 { fchmod(fd, 0o700) }
        return (fd, (UInt64(st.st_dev), UInt64(st.st_ino)))
    }

    /// The names in the directory that must not be symbolic links, checked before anything
    /// opens them (the lock and the table's files are also opened with O_NOFOLLOW).
    private static func refuseLinks(fd: Int32, path: String) throws(RuntimeStartError) {
        for name in ["director.lock", "table", "control.sock", "table/data.mdb", "table/lock.mdb"] {
            var st = stat()
            if fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && (st.st_mode & S_IFMT) == S_IFLNK {
                throw RuntimeStartError(code: .system, lines: ["refusing state directory \(path): \(path)/\(name) is a symbolic link"])
            }
        }
    }

    // MARK: - The table, damaged or not

    /// Opens the table, first making sure it is safe to map: a table whose check fails
    /// (`checkCommand`, a child process that reads every page, so that a fault kills it and
    /// not the daemon; or LMDB's own checks at open) is moved aside to
    /// `table.damaged-<UTC time>` and a fresh table is created. Logged as a warning.
    func openTable(options: LMDBTable.Options, checkCommand: [String]?, log: RuntimeLog) throws(RuntimeStartError) -> LMDBTable {
        if let checkCommand, let damage = TableCheck.run(checkCommand + [tablePath]) {
            try moveTableAside(damage, log: log)
        }
        do { return try LMDBTable(path: tablePath, options: options) } catch where error.code == .damaged && !error.message.contains("refusing") {
            try moveTableAside(error.message, log: log)
        } catch {
            throw RuntimeStartError(code: .table, lines: [error.message])
        }
        do { return try LMDBTable(path: tablePath, options: options) } catch {
            throw RuntimeStartError(code: .table, lines: [error.message])
        }
    }

    /// Opens a table that other daemons may share (DESIGN §4.1), checked first like the
    /// state directory's own: a damaged one is an error and stays where it is, since moving
    /// it aside under live daemons would split them between two tables. The operator stops
    /// them and moves it.
    func openSharedTable(path: String, options: LMDBTable.Options, checkCommand: [String]?) throws(RuntimeStartError) -> LMDBTable {
        let advice = "it is shared with other daemons, so it is not moved aside: stop every daemon using it, move it away, and start again"
        if let checkCommand, let damage = TableCheck.run(checkCommand + [path]) {
            throw RuntimeStartError(code: .table, lines: ["\(damage); \(advice)"])
        }
        do { return try LMDBTable(path: path, options: options) } catch where error.code == .damaged && !error.message.contains("refusing") {
            throw RuntimeStartError(code: .table, lines: ["\(error.message); \(advice)"])
        } catch {
            throw RuntimeStartError(code: .table, lines: [error.message])
        }
    }

    private func moveTableAside(_ damage: String, log: RuntimeLog) throws(RuntimeStartError) {
        var now = time(nil)
        var parts = tm()
        gmtime_r(&now, &parts)
        var buffer = [CChar](repeating: 0, count: 32)
        strftime(&buffer, buffer.count, "%Y%m%dT%H%M%SZ", &parts)
        let stamp = String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        var name = "table.damaged-" + stamp
        var n = 1
        var st = stat()
        while fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 {
            n += 1
            name = "table.damaged-" + stamp + "-\(n)"
        }
        guard renameat(fd, "table", fd, name) == 0 else {
            throw RuntimeStartError(code: .table, lines: ["\(damage); cannot move it aside to \(path)/\(name): \(errorText(errno))"])
        }
        log.log(.warning, "\(damage): moved it aside to \(path)/\(name) and starting with a fresh table; processes a previous daemon left cannot be identified from it")
    }

    // MARK: - Removed while running

    /// What is gone or replaced: the directory (removed, or another one at its path), the
    /// lock file, the control socket, the table's data file (when the table is the state
    /// directory's own: another table kept elsewhere is not this directory's to repair).
    func missingParts(table: LMDBTable?) -> Missing {
        var missing: Missing = []
        var st = stat()
        if fstat(fd, &st) != 0 || st.st_nlink == 0 || lstat(path, &st) != 0
            || UInt64(st.st_dev) != identity.dev || UInt64(st.st_ino) != identity.ino {
            return table == nil ? [.directory, .lock, .socket] : [.directory, .lock, .socket, .table]
        }
        if let held = lock.identity, fstatat(fd, "director.lock", &st, AT_SYMLINK_NOFOLLOW) == 0,
            UInt64(st.st_dev) == held.dev, UInt64(st.st_ino) == held.ino {
        } else {
            missing.insert(.lock)
        }
        if let socket = socketIdentity {
            if fstatat(fd, "control.sock", &st, AT_SYMLINK_NOFOLLOW) != 0 || UInt64(st.st_ino) != socket.ino || UInt64(st.st_dev) != socket.dev {
                missing.insert(.socket)
            }
        }
        if let table, !table.isAtItsPath { missing.insert(.table) }
        return missing
    }

    /// Creates the directory again (0700, the same checks as at start) after it was removed,
    /// and takes the lock in it.
    func recreate() throws(RuntimeStartError) {
        // Parents a cleaner removed too come back 0700.
        var built = path.hasPrefix("/") ? "" : "."
        for part in path.split(separator: "/").dropLast() {
            built += "/" + part
            _ = mkdir(built, 0o700)
        }
        let (newFD, newIdentity) = try Self.openChecked(path)
        close(fd)
        fd = newFD
        identity = newIdentity
        socketIdentity = nil
        try retakeLock()
    }

    /// Takes the lock again in the directory (its file was removed). The old lock is let go
    /// only once the new one is held, so there is no moment without one.
    func retakeLock() throws(RuntimeStartError) {
        do {
            let fresh = try DaemonLock(directoryFD: fd, stateDirectory: path)
            lock.release()
            lock = fresh
        } catch {
            throw RuntimeStartError(code: error.code == .lockHeld ? .lockHeld : .system, lines: [error.message])
        }
    }

    /// Records the inode of the control socket just created.
    func noteSocket() {
        var st = stat()
        socketIdentity = fstatat(fd, "control.sock", &st, AT_SYMLINK_NOFOLLOW) == 0 ? (UInt64(st.st_dev), UInt64(st.st_ino)) : nil
    }
}

/// Runs the table check command (`director __check-table PATH`) in a child process: a table
/// damaged so that reading it faults kills the child, not the daemon.
enum TableCheck {
    /// How long a check may take (it reads every page; 10 000 children are a few MB).
    static let timeout: Duration = .seconds(30)

    /// Returns nil when the table is sound (or absent), else one line saying why not.
    static func run(_ argv: [String]) -> String? {
        var fds: [Int32] = [-1, -1]
        guard director_pipe_cloexec(&fds) == 0 else { return nil }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, fds[1], 2)
        var cArgs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        defer { for p in cArgs { free(p) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, argv[0], &actions, nil, &cArgs, environ)
        close(fds[1])
        defer { close(fds[0]) }
        guard rc == 0 else { return nil }  // no checker: LMDB's own checks at open still apply
        _ = fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_NONBLOCK)
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        var status: Int32 = 0
        let deadline = SystemClock.monotonic() + timeout
        while true {
            let n = read(fds[0], &chunk, chunk.count)
            if n > 0 && output.count < 4096 { output += chunk[0..<n] }
            let w = waitpid(pid, &status, WNOHANG)
            if w == pid { break }
            if w < 0 && errno != EINTR { return nil }
            if SystemClock.monotonic() >= deadline {
                kill(pid, SIGKILL)
                _ = waitpid(pid, &status, 0)
                return "the state table check of \(argv.last ?? "") took longer than \(timeout): taking it as damaged"
            }
            if n <= 0 { usleep(2_000) }
        }
        while true {
            let n = read(fds[0], &chunk, chunk.count)
            guard n > 0 else { break }
            if output.count < 4096 { output += chunk[0..<n] }
        }
        let text = String(decoding: output, as: UTF8.self).split(separator: "\n").first.map(String.init) ?? ""
        let line = text.hasPrefix("director: ") ? String(text.dropFirst("director: ".count)) : text
        let signaled = status & 0x7f
        if signaled != 0 && signaled != 0x7f {
            return "the state table \(argv.last ?? "")/data.mdb is damaged (reading it is fatal: signal \(signaled))"
        }
        let code = (status >> 8) & 0xff
        if code == 0 { return nil }
        if code == 1 { return line.isEmpty ? "the state table \(argv.last ?? "")/data.mdb is damaged" : line }
        return nil
    }
}
