// The files of an environment directory, opened without following symbolic links and
// checked before LMDB maps them.
//
// LMDB opens `data.mdb` and `lock.mdb` by name (it has no API taking descriptors) and follows
// symbolic links, creates the lock file, and reads the table through a memory map: a file
// shorter than its header says is a SIGBUS on the first access past its end, not an error
// code. So before LMDB sees an environment, the directory is opened with O_NOFOLLOW, its
// files are opened (and created, by the writer) relative to it with O_NOFOLLOW, their owner
// and type are checked, the header of `data.mdb` is validated against the file's size, and
// LMDB is given `/proc/self/fd/N` — the very directory checked, whatever happens to the path
// meanwhile.

import CLMDB
#if canImport(Glibc)
import Glibc
#endif

/// An environment directory opened with O_NOFOLLOW, and the path LMDB should open it by.
struct EnvironmentDirectory {
    /// The directory's descriptor (O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC).
    let fd: Int32
    /// The path as the caller named it, for messages.
    let path: String
    /// What to hand to `mdb_env_open`: `/proc/self/fd/N` when /proc is there, else `path`.
    var lmdbPath: String {
        let proc = "/proc/self/fd/\(fd)"
        return access(proc, F_OK) == 0 ? proc : path
    }

    /// The size of a lock file LMDB uses as is (126 reader slots: 125 × 64 + 192 bytes, what
    /// `mdb_env_setup_locks` computes). Allocated before LMDB maps it: LMDB grows the file
    /// with `ftruncate` (a hole) and writes it through the map, which on a full file system
    /// is a SIGBUS instead of ENOSPC.
    static let lockFileSize = 8192

    /// Opens (creating it, mode 0700, if needed) the writer's environment directory: it
    /// must be a directory owned by us that group and others cannot write. Creates
    /// `data.mdb` and `lock.mdb` (0600, O_EXCL when new) or checks the existing ones, and
    /// allocates the lock file's blocks. Throws `.damaged` for a symbolic link or a file that
    /// is not ours, `.storage` naming the file for a system error (ENOSPC included).
    static func openForWriting(_ path: String) throws(TableError) -> EnvironmentDirectory {
        let dir = try openDirectory(path)
        do throws(TableError) {
            var st = stat()
            guard fstat(dir.fd, &st) == 0 else { throw LMDB.error(errno, "stat \(path)") }
            guard st.st_uid == geteuid() else {
                throw TableError(.damaged, "\(path) is owned by uid \(st.st_uid), not by this process's user (uid \(geteuid())): refusing it")
            }
            guard st.st_mode & 0o022 == 0 || fchmod(dir.fd, 0o700) == 0 else {
                throw TableError(.damaged, "\(path) is writable by group or others and cannot be made private: refusing it")
            }
            if st.st_mode & 0o077 != 0 { fchmod(dir.fd, 0o700) }
            // The lock file first: when it cannot get its blocks (a full disk), nothing is
            // left behind that a reader would take for a table.
            for name in ["lock.mdb", "data.mdb"] {
                let fd = try dir.openFile(name, create: true)
                defer { Glibc.close(fd) }
                if name == "lock.mdb" { try dir.preallocate(fd, name, bytes: lockFileSize) }
                if name == "data.mdb" { try LMDBFileCheck.checkDataFile(fd: fd, path: dir.file(name)) }
            }
        } catch {
            dir.close()
            throw error
        }
        return dir
    }

    /// Opens a reader's environment directory and checks `data.mdb`. Returns whether the lock
    /// file may be used: only when the directory and `lock.mdb` are ours, `lock.mdb` is a
    /// regular file we may write, and it exists — a reader creates nothing and follows no
    /// link (LMDB would truncate and write a planted `lock.mdb -> /somewhere`).
    static func openForReading(_ path: String) throws(TableError) -> (EnvironmentDirectory, lockUsable: Bool) {
        let dir = try openDirectory(path)
        do throws(TableError) {
            let fd = try dir.openFile("data.mdb", create: false)
            defer { Glibc.close(fd) }
            var st = stat()
            if fstat(fd, &st) == 0 && st.st_size == 0 {
                // LMDB has not written its header yet: no table to read (LMDB would try to
                // initialize the file, which a reader must not).
                throw TableError(.notFound, "the state table \(dir.file("data.mdb")) is empty: no daemon has written it yet")
            }
            try LMDBFileCheck.checkDataFile(fd: fd, path: dir.file("data.mdb"))
        } catch {
            dir.close()
            throw error
        }
        var dirStat = stat(), lockStat = stat()
        let me = geteuid()
        // A lock file shorter than LMDB needs (or with holes) would be grown by LMDB through
        // its map: a reader never does that, it reads without the lock instead.
        let lockUsable = fstat(dir.fd, &dirStat) == 0 && dirStat.st_uid == me
            && fstatat(dir.fd, "lock.mdb", &lockStat, AT_SYMLINK_NOFOLLOW) == 0
            && (lockStat.st_mode & S_IFMT) == S_IFREG && lockStat.st_uid == me
            && Int(lockStat.st_size) >= lockFileSize && Int(lockStat.st_blocks) * 512 >= lockFileSize
            && faccessat(dir.fd, "lock.mdb", R_OK | W_OK, 0) == 0
        return (dir, lockUsable)
    }

    func close() { _ = Glibc.close(fd) }

    func file(_ name: String) -> String { path + "/" + name }

    private static func openDirectory(_ path: String) throws(TableError) -> EnvironmentDirectory {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else {
            let e = errno
            if e == ELOOP || e == ENOTDIR {
                throw TableError(.damaged, "\(path) is a symbolic link or not a directory: refusing to follow it")
            }
            throw LMDB.error(e, "open \(path)")
        }
        return EnvironmentDirectory(fd: fd, path: path)
    }

    /// Opens `name` in the directory without following a link: created exclusively (0600)
    /// when `create` and missing, else opened and checked (a regular file, ours when we
    /// write, mode 0600). Returns the descriptor.
    private func openFile(_ name: String, create: Bool) throws(TableError) -> Int32 {
        let flags = (create ? O_RDWR : O_RDONLY) | O_NOFOLLOW | O_CLOEXEC
        var fd = create ? openat(self.fd, name, flags | O_CREAT | O_EXCL, 0o600) : -1
        if fd < 0 && (!create || errno == EEXIST) { fd = openat(self.fd, name, flags) }
        guard fd >= 0 else {
            let e = errno
            if e == ELOOP { throw TableError(.damaged, "\(file(name)) is a symbolic link: refusing to follow it") }
            if e == ENOENT && !create { throw TableError(.notFound, "no state table at \(path)") }
            throw LMDB.error(e, "open \(file(name))")
        }
        var st = stat()
        guard fstat(fd, &st) == 0 else { let e = errno; Glibc.close(fd); throw LMDB.error(e, "stat \(file(name))") }
        guard (st.st_mode & S_IFMT) == S_IFREG else {
            Glibc.close(fd)
            throw TableError(.damaged, "\(file(name)) is not a regular file: refusing it")
        }
        if create {
            guard st.st_uid == geteuid(), st.st_nlink == 1 else {
                Glibc.close(fd)
                throw TableError(.damaged, "\(file(name)) is owned by uid \(st.st_uid) or has other links: refusing it")
            }
            // The table holds pids, commands and environments: private whatever the umask.
            fchmod(fd, 0o600)
        }
        return fd
    }

    /// Gives `fd` real blocks up to `bytes` (no hole), or throws naming the file (ENOSPC).
    private func preallocate(_ fd: Int32, _ name: String, bytes: Int) throws(TableError) {
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw LMDB.error(errno, "stat \(file(name))") }
        // st_blocks counts 512-byte units: a file with a hole has fewer than its size needs.
        if Int(st.st_size) >= bytes && Int(st.st_blocks) * 512 >= bytes { return }
        let rc = posix_fallocate(fd, 0, off_t(bytes))
        guard rc == 0 else {
            // A file that was empty is ours from just now: do not leave a half-made one.
            if st.st_size == 0 { unlinkat(self.fd, name, 0) }
            throw TableError(.storage, "cannot allocate \(file(name)): \(String(cString: strerror(rc)))")
        }
    }
}

/// Validation of `data.mdb` before LMDB maps it.
enum LMDBFileCheck {
    /// LMDB's magic number and the data format version of LMDB 0.9.
    static let magic: UInt32 = 0xBEEF_C0DE
    static let dataVersion: UInt32 = 1
    /// `P_META`, the flag of the two meta pages.
    static let metaPageFlag: UInt16 = 0x08
    /// `P_INVALID`: no root page (an empty database).
    static let noPage = UInt64.max

    /// What one meta page says (offsets of LMDB 0.9's 64-bit `MDB_page` + `MDB_meta`).
    struct Meta {
        var pageSize: Int
        var lastPage: UInt64
        var freeRoot: UInt64
        var mainRoot: UInt64
        var txnID: UInt64
    }

    /// Checks the header of `data.mdb` (open on `fd`) against the file's size: both meta pages
    /// valid, a sane page size, every page the metas reach inside the file. An empty file is
    /// a table LMDB has not initialized yet and passes. Throws `.damaged` naming `path`.
    static func checkDataFile(fd: Int32, path: String) throws(TableError) {
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw LMDB.error(errno, "stat \(path)") }
        let size = Int(st.st_size)
        if size == 0 { return }
        func damaged(_ why: String) -> TableError {
            TableError(.damaged, "the state table \(path) is damaged (\(why))")
        }
        // The first meta page tells the page size; the second is one page further.
        var first = [UInt8](repeating: 0, count: 160)
        guard size >= first.count, pread(fd, &first, first.count, 0) == first.count else {
            throw damaged("\(size) bytes, shorter than its header")
        }
        let firstMeta = try parse(first, damaged)
        let pageSize = firstMeta.pageSize
        guard size >= 2 * pageSize else { throw damaged("\(size) bytes, shorter than its two meta pages") }
        var second = [UInt8](repeating: 0, count: 160)
        guard pread(fd, &second, second.count, off_t(pageSize)) == second.count else {
            throw damaged("cannot read its second meta page")
        }
        let secondMeta = try parse(second, damaged)
        guard secondMeta.pageSize == pageSize else { throw damaged("the two meta pages disagree on the page size") }
        // The size again, now that the metas are read: a daemon committing meanwhile writes
        // its pages before the meta that names them, so a size taken after the metas covers
        // them, while the size taken first may not (a reader beside a busy daemon called a
        // sound table damaged: `director events` in FaultChildrenTests, on CI).
        guard fstat(fd, &st) == 0 else { throw LMDB.error(errno, "stat \(path)") }
        let sizeAfter = Int(st.st_size)
        for meta in [firstMeta, secondMeta] {
            // Without MDB_WRITEMAP (never used here) LMDB writes every page up to the last
            // one it uses, so a file shorter than that has lost pages.
            let needed = (meta.lastPage + 1).multipliedReportingOverflow(by: UInt64(pageSize))
            guard meta.lastPage >= 1, !needed.overflow, needed.partialValue <= UInt64(sizeAfter) else {
                throw damaged("\(sizeAfter) bytes, but its header uses pages up to \(meta.lastPage) of \(pageSize) bytes")
            }
            for root in [meta.freeRoot, meta.mainRoot] where root != noPage {
                guard root >= 2, root <= meta.lastPage else {
                    throw damaged("a root page \(root) outside the \(meta.lastPage + 1) pages it uses")
                }
            }
        }
    }

    private static func parse(_ b: [UInt8], _ damaged: (String) -> TableError) throws(TableError) -> Meta {
        func u16(_ at: Int) -> UInt16 { UInt16(b[at]) | UInt16(b[at + 1]) << 8 }
        func u32(_ at: Int) -> UInt32 { (0..<4).reduce(UInt32(0)) { $0 | UInt32(b[at + $1]) << (8 * $1) } }
        func u64(_ at: Int) -> UInt64 { (0..<8).reduce(UInt64(0)) { $0 | UInt64(b[at + $1]) << (8 * $1) } }
        guard u16(10) & metaPageFlag != 0, u32(16) == magic else { throw damaged("not an LMDB meta page") }
        guard u32(20) == dataVersion else { throw damaged("LMDB data version \(u32(20)), not \(dataVersion)") }
        let pageSize = Int(u32(40))
        guard pageSize >= 512, pageSize <= 65536, pageSize & (pageSize - 1) == 0 else {
            throw damaged("page size \(pageSize)")
        }
        return Meta(pageSize: pageSize, lastPage: u64(136), freeRoot: u64(80), mainRoot: u64(128), txnID: u64(144))
    }
}
