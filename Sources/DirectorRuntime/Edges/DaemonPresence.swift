#if canImport(Glibc)
import Glibc
#endif

/// Whether a daemon holds a state directory's lock, found without touching the lock.
///
/// A reader (`director ps`) must not take the flock even for a moment: a daemon starting in
/// that moment would be refused. So it looks instead: `/proc/locks` lists every flock with
/// the holder's pid and the file's device and inode, and the lock file holds the pid of its
/// holder while one holds it (`DaemonLock` truncates it on release). Either is enough to say
/// "running"; the second covers file systems whose `/proc/locks` device differs from `stat`'s
/// (overlay).
package enum DaemonPresence {
    /// What a reader found.
    package enum State: Equatable, Sendable {
        /// A process holds the lock (pid when known).
        case running(pid: Int32?)
        /// Nobody holds it: the table is history. `lastSeen` is when the daemon last wrote the
        /// table (data.mdb's modification time, ms since the epoch), when there is a table.
        case notRunning(lastSeen: Int64?)
    }

    /// Looks at `<stateDirectory>/director.lock` and `/proc/locks`.
    package static func probe(stateDirectory: String) -> State {
        let lockPath = DaemonLock.lockPath(stateDirectory: stateDirectory)
        var st = stat()
        if lstat(lockPath, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG {
            if let pid = holder(device: UInt64(st.st_dev), inode: UInt64(st.st_ino)) { return .running(pid: pid) }
            if let pid = pidInFile(lockPath), ProcStat.isRunning(pid: pid) { return .running(pid: pid) }
        }
        var data = stat()
        guard lstat(stateDirectory + "/table/data.mdb", &data) == 0 else { return .notRunning(lastSeen: nil) }
        return .notRunning(lastSeen: Int64(data.st_mtim.tv_sec) * 1000 + Int64(data.st_mtim.tv_nsec) / 1_000_000)
    }

    /// The pid holding a flock on the file `device`/`inode`, from `/proc/locks`.
    static func holder(device: UInt64, inode: UInt64) -> Int32? {
        guard let text = readAll("/proc/locks") else { return nil }
        for line in text.split(separator: "\n") {
            if let pid = flockHolder(line: line, device: device, inode: inode) { return pid }
        }
        return nil
    }

    /// One `/proc/locks` line: `1: FLOCK  ADVISORY  WRITE 4242 fe:00:16224303 0 EOF`. Lines
    /// of waiters (`1: -> FLOCK ...`) hold nothing and are skipped.
    static func flockHolder(line: Substring, device: UInt64, inode: UInt64) -> Int32? {
        let fields = line.split(separator: " ", omittingEmptySubsequences: true)
        guard fields.count >= 6, fields[1] == "FLOCK", let pid = Int32(fields[4]) else { return nil }
        let place = fields[5].split(separator: ":")
        guard place.count == 3, let major = UInt64(place[0], radix: 16), let minor = UInt64(place[1], radix: 16),
            let ino = UInt64(place[2])
        else { return nil }
        return ino == inode && major == deviceMajor(device) && minor == deviceMinor(device) ? pid : nil
    }

    // glibc's gnu_dev_major/minor are macros Swift cannot call.
    static func deviceMajor(_ dev: UInt64) -> UInt64 { ((dev >> 8) & 0xfff) | ((dev >> 32) & ~UInt64(0xfff)) }
    static func deviceMinor(_ dev: UInt64) -> UInt64 { (dev & 0xff) | ((dev >> 12) & ~UInt64(0xff)) }

    private static func pidInFile(_ path: String) -> Int32? {
        guard let text = readAll(path) else { return nil }
        return Int32(text.prefix { $0.isNumber })
    }

    /// A small file read whole (`/proc/locks` grows with the host's locks: read until EOF).
    private static func readAll(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16_384)
        while bytes.count < 4 << 20 {
            let n = read(fd, &buffer, buffer.count)
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { break }
            bytes += buffer[0..<n]
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
