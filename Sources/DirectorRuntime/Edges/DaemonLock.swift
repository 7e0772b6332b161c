#if canImport(Glibc)
import Glibc
#endif
import DirectorCore

/// One daemon per state directory: an exclusive flock on `<state>/director.lock`, which holds
/// the owner's pid so that the refusal can name it. The kernel releases the lock when the
/// process dies, so a crashed daemon never leaves a stale lock.
package final class DaemonLock {
    private var fd: Int32

    /// The lock file's path.
    package let path: String

    /// `<stateDirectory>/director.lock`.
    package static func lockPath(stateDirectory: String) -> String { stateDirectory + "/director.lock" }

    /// Takes the lock without waiting, or throws `lock_held` naming the holder's pid.
    package convenience init(stateDirectory: String) throws(RuntimeError) {
        try self.init(directoryFD: AT_FDCWD, stateDirectory: stateDirectory)
    }

    /// Takes the lock in the state directory open on `directoryFD` (named `stateDirectory`
    /// in messages). The file is opened relative to that descriptor with O_NOFOLLOW and
    /// created 0600: a planted `director.lock -> /victim` is refused, never truncated.
    package init(directoryFD: Int32, stateDirectory: String) throws(RuntimeError) {
        path = Self.lockPath(stateDirectory: stateDirectory)
        let name = directoryFD == AT_FDCWD ? path : "director.lock"
        fd = openat(directoryFD, name, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            let e = errno
            if e == ELOOP { throw RuntimeError(.system, "\(path) is a symbolic link: refusing to follow it", errno: e) }
            throw .system("open \(path)", errno: e)
        }
        var st = stat()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, st.st_uid == geteuid() else {
            close(fd)
            throw RuntimeError(.system, "\(path) is not a regular file of this daemon's user: refusing it")
        }
        fchmod(fd, 0o600)
        guard Self.takeLock(fd) else {
            let e = errno
            let holder = Self.readPID(fd)
            close(fd)
            guard e == EWOULDBLOCK else { throw .system("flock \(path)", errno: e) }
            let who = holder.map { "pid \($0)" } ?? "another process"
            throw RuntimeError(.lockHeld, "another director daemon (\(who)) is running for state directory \(stateDirectory)", errno: e)
        }
        let text = Array("\(getpid())\n".utf8)
        _ = ftruncate(fd, 0)
        _ = pwrite(fd, text, text.count, 0)
    }

    deinit { release() }

    /// flock, waiting up to 2 s while the pid recorded in the file is dead. A daemon killed
    /// with SIGKILL in the middle of a spawn leaves its vfork-style child holding the shared
    /// fd table, lock included, until that child reaches its `close_range` a moment later
    /// (longer on a loaded machine): a daemon started right after the kill must not take that
    /// for a live daemon. A live holder is refused at once.
    private static func takeLock(_ fd: Int32) -> Bool {
        let deadline = SystemClock.monotonic() + .seconds(2)
        while true {
            if flock(fd, LOCK_EX | LOCK_NB) == 0 { return true }
            let e = errno
            guard e == EWOULDBLOCK, let holder = readPID(fd), holder != getpid(), !ProcStat.isRunning(pid: holder),
                SystemClock.monotonic() < deadline
            else {
                errno = e
                return false
            }
            usleep(10_000)
        }
    }

    /// Releases the lock (also on deinit). Idempotent.
    package func release() {
        guard fd >= 0 else { return }
        _ = ftruncate(fd, 0)
        // Unlock explicitly: a process forked elsewhere in this program that has not exec'd
        // yet shares the open file description, and closing our fd alone would leave the lock
        // held until it does.
        _ = flock(fd, LOCK_UN)
        close(fd)
        fd = -1
    }

    /// The lock file's device and inode while it is held, to notice it was removed.
    var identity: (dev: UInt64, ino: UInt64)? {
        var st = stat()
        guard fd >= 0, fstat(fd, &st) == 0, st.st_nlink > 0 else { return nil }
        return (UInt64(st.st_dev), UInt64(st.st_ino))
    }

    private static func readPID(_ fd: Int32) -> Int32? {
        var buffer = [UInt8](repeating: 0, count: 32)
        let n = pread(fd, &buffer, buffer.count, 0)
        guard n > 0 else { return nil }
        let digits = buffer[0..<n].prefix(while: { $0 >= 0x30 && $0 <= 0x39 })
        return Int32(String(decoding: digits, as: UTF8.self))
    }
}
