#if canImport(Glibc)
import Glibc
#endif
import CDirectorSys

/// Small fd helpers shared by the edges (and the CLI).
package enum FileDescriptors {
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
        // A new pipe's read end has no status flags but O_RDONLY (0): one F_SETFL, no F_GETFL.
        _ = fcntl(fds[0], F_SETFL, O_NONBLOCK)
        return (fds[0], fds[1])
    }

    /// Opens /dev/null on each of fds 0, 1 and 2 that is closed. A daemon started with closed
    /// standard streams would otherwise hand those numbers to the next files it opens, and
    /// its log lines (written to fd 2) would land in whatever that is: a pipe, a socket, the
    /// state table. Call first thing, before anything else opens a file.
    package static func openStandardStreams() {
        for fd: Int32 in 0...2 where fcntl(fd, F_GETFD) < 0 && errno == EBADF {
            // open returns the lowest free number, which is `fd` since the lower ones are open.
            let opened = open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY)
            if opened >= 0 && opened != fd { _ = dup2(opened, fd); close(opened) }
        }
    }

    /// Writes everything, retrying on EINTR and waiting on EAGAIN (stderr may share a
    /// non-blocking file description with stdout, e.g. one terminal); false on error.
    @discardableResult
    package static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
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
