import CLMDB
#if canImport(Glibc)
import Glibc
#endif

extension LMDBTable {
    /// True while the data file this table writes is still the one at `<path>/data.mdb`.
    /// False once it was removed or replaced (a tmp cleaner emptied the state directory):
    /// commits then go to a file nobody else can see, until `recreate()`.
    public var isAtItsPath: Bool {
        withEnvironment { env in
            var fd: Int32 = -1
            var mine = stat(), there = stat()
            guard mdb_env_get_fd(env, &fd) == 0, fstat(fd, &mine) == 0, mine.st_nlink > 0 else { return false }
            guard lstat(LMDB.dataFile(path), &there) == 0 else { return false }
            return mine.st_dev == there.st_dev && mine.st_ino == there.st_ino
        }
    }

    /// Re-creates the environment at `path` (its directory 0700, files 0600, created without
    /// following links) as a full copy of the one this table has open — every database, the
    /// event history with its sequence numbers included — and writes there from now on. For
    /// a state directory removed under a running daemon: the open environment is intact (its
    /// files are unlinked, not gone), so nothing is lost. Commits wait while it copies.
    public func recreate() throws(TableError) {
        let path = self.path
        try replaceEnvironment { (old) throws(TableError) -> OpaquePointer in
            try LMDBEnvironment.makeDirectories(path)
            let dir = try EnvironmentDirectory.openForWriting(path)
            defer { dir.close() }
            let fd = openat(dir.fd, "data.mdb", O_WRONLY | O_NOFOLLOW | O_CLOEXEC)
            guard fd >= 0 else { throw LMDB.error(errno, "open \(path)/data.mdb") }
            defer { close(fd) }
            guard ftruncate(fd, 0) == 0 else { throw LMDB.error(errno, "truncate \(path)/data.mdb") }
            // A compacting copy reads one snapshot of the old environment and writes a new
            // file; no write transaction can run meanwhile (the caller holds the state lock).
            try LMDB.check(mdb_env_copyfd2(old, fd, UInt32(MDB_CP_COMPACT)), "copy the table to \(path)")
            guard fsync(fd) == 0 else { throw LMDB.error(errno, "sync \(path)/data.mdb") }
            return try LMDBEnvironment.open(
                path: dir.lmdbPath, flags: MDB_NOTLS | self.durabilityFlags, mapSize: LMDBEnvironment.mapSize(old),
                displayPath: path)
        }
    }
}
