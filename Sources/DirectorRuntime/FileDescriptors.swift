#if canImport(Glibc)
import Glibc
#endif
import CDirectorSys

/// Small fd helpers shared by the edges (and the CLI).
public enum FileDescriptors {
    /// Sets or clears O_NONBLOCK.
    static func setNonBlocking(_ fd: Int32, _ on: Bool = true) {
        let flags = fcntl(fd, F_GETFL)
        guard flags >= 0 else { return }
        _ = fcntl(fd, F_SETFL, on ? flags | O_NONBLOCK : flags & ~O_NONBLOCK)
    }

    /// A close-on-exec pipe whose read end is non-blocking; the write end stays blocking
    /// because it is the child's stdout/stderr.
    static func outputPipe() throws(RuntimeError) -> (read: Int32, write: Int32) {
        var fds: [Int32] = [-1, -1]
        let rc = director_pipe_cloexec(&fds)
        guard rc == 0 else { throw .system("pipe2", errno: -rc) }
        setNonBlocking(fds[0])
        return (fds[0], fds[1])
    }

    /// Writes what the fd accepts without blocking: the count written, 0 when it would block,
    /// or nil when the fd is broken (EPIPE, EBADF, ...).
    static func writeSome(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> Int? {
        while true {
            let n = write(fd, bytes.baseAddress, bytes.count)
            if n >= 0 { return n }
            switch errno {
            case EINTR: continue
            case EAGAIN, EWOULDBLOCK: return 0
            default: return nil
            }
        }
    }

    /// Writes everything, retrying on EINTR and waiting on EAGAIN (stderr may share a
    /// non-blocking file description with stdout, e.g. one terminal); false on error.
    @discardableResult
    public static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 {
                if errno == EINTR { continue }
                if errno == EAGAIN || errno == EWOULDBLOCK {
                    var p = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                    _ = poll(&p, 1, 1000)
                    continue
                }
                return false
            }
            offset += n
        }
        return true
    }
}
