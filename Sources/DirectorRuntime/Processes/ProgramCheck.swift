#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// What `execve` would make of a program, asked before a spawn that does not wait for the
/// exec: whatever can be found out here is reported at once, as a spawn failure, instead of
/// as the child's exit 127 a moment later (`ProcessSpawner.lateFailure`).
///
/// It answers from the file itself: an ELF binary runs; a script runs when its `#!`
/// interpreter (an absolute path) is an executable file. Anything else, or a file it may
/// execute but not read, is `unknown`: the spawn then waits for `execve`'s own answer (a
/// `binfmt_misc` format may well run). ELF files are remembered by their identity (device,
/// inode, size, modification and change time), so a restart storm of one binary costs the
/// `stat` and `access` calls only.
package enum ProgramCheck {
    /// The answer.
    package enum Verdict: Equatable, Sendable {
        /// `execve` will start it (barring a race with whoever changes the file).
        case runs
        /// `execve` would fail with this errno.
        case fails(Int32)
        /// Only `execve` can tell.
        case unknown
    }

    private struct FileIdentity: Hashable {
        var device: UInt64, inode: UInt64, size: Int64
        var modified: Int, modifiedNanos: Int, changed: Int, changedNanos: Int

        init(_ st: stat) {
            device = UInt64(st.st_dev)
            inode = UInt64(st.st_ino)
            size = Int64(st.st_size)
            modified = st.st_mtim.tv_sec
            modifiedNanos = st.st_mtim.tv_nsec
            changed = st.st_ctim.tv_sec
            changedNanos = st.st_ctim.tv_nsec
        }
    }

    /// ELF files seen, bounded: emptied when it would pass `knownLimit`.
    private static let knownBinaries = Mutex<Set<FileIdentity>>([])
    private static let knownLimit = 1024

    /// The verdict on `path`, which is resolved against `cwd` when relative (the child enters
    /// `cwd` before its `execve`).
    package static func verdict(_ path: String, cwd: String) -> Verdict {
        let full = path.hasPrefix("/") || cwd.isEmpty ? path : cwd + "/" + path
        var st = stat()
        if let failure = executableFailure(full, &st) { return .fails(failure) }
        let identity = FileIdentity(st)
        if knownBinaries.withLock({ $0.contains(identity) }) { return .runs }

        let fd = open(full, O_RDONLY | O_CLOEXEC | O_NOCTTY)
        guard fd >= 0 else { return .unknown }
        var head = [UInt8](repeating: 0, count: 256)
        let count = read(fd, &head, head.count)
        close(fd)
        guard count >= 4 else { return .unknown }
        if head[0] == 0x7F && head[1] == UInt8(ascii: "E") && head[2] == UInt8(ascii: "L") && head[3] == UInt8(ascii: "F") {
            knownBinaries.withLock { known in
                if known.count >= knownLimit { known.removeAll() }
                known.insert(identity)
            }
            return .runs
        }
        guard head[0] == UInt8(ascii: "#"), head[1] == UInt8(ascii: "!") else { return .unknown }
        // `#!` then blanks, then the interpreter up to a blank or the line's end.
        var at = 2
        while at < count, head[at] == UInt8(ascii: " ") || head[at] == UInt8(ascii: "\t") { at += 1 }
        var end = at
        while end < count, ![UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"), 0].contains(head[end]) { end += 1 }
        guard end < count, end > at, head[at] == UInt8(ascii: "/") else { return .unknown }
        let interpreter = String(decoding: head[at..<end], as: UTF8.self)
        var interpreterStat = stat()
        if let failure = executableFailure(interpreter, &interpreterStat) { return .fails(failure) }
        return .runs
    }

    /// The errno `execve` gives for a file that is missing, not a regular file, or not
    /// executable by us; nil when it is an executable file (its stat in `st`).
    private static func executableFailure(_ path: String, _ st: inout stat) -> Int32? {
        if stat(path, &st) != 0 { return errno }
        if (st.st_mode & S_IFMT) != S_IFREG { return EACCES }
        if access(path, X_OK) != 0 { return errno }
        return nil
    }
}
