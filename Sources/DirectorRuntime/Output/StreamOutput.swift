#if canImport(Glibc)
import Glibc
#endif
import DirectorCore
import Synchronization

/// A bounded, never-blocking byte stream to a file the daemon inherited: its stdout (children's
/// lines) or its stderr (its own log lines).
///
/// Why: a reader that holds the other end of a pipe open and never reads (a paused `less`,
/// Ctrl-S on a terminal, a stuck log shipper) would otherwise leave the event loop sitting in
/// `write`: no restart, no table commit, no control reply. Here every write is non-blocking;
/// what the fd does not take waits in a buffer of at most `capacity` bytes; beyond that whole
/// lines are dropped and counted, and once the buffer has drained a notice line says how many.
///
/// Non-blocking without touching the inherited file description: O_NONBLOCK is a property of
/// the open file description, shared with every process holding it (the shell, other programs
/// writing to the same terminal or pipe). Setting it there, as the daemon once did, left the
/// terminal non-blocking after `director run` exited. Instead:
/// - a pipe, FIFO or terminal is opened again through `/proc/self/fd/N`, which gives the daemon
///   a description of its own, non-blocking, on the same pipe or terminal;
/// - a socket is written with `send(MSG_DONTWAIT)`, a per-call flag;
/// - a regular file or block device is written as it is (a write to a file does not wait for
///   a reader; a full disk fails at once with ENOSPC);
/// - only when reopening is refused is O_NONBLOCK set on the shared description, and the
///   original flags are put back by `finish`.
///
/// Thread-safe: the loop and the table writer thread both log. Writes are attempted at once
/// (lines appear immediately when the reader keeps up); the event loop retries the rest
/// (`OutputSink` watches the fd for room).
package final class StreamOutput: Sendable {
    private enum Mode: Sendable {
        /// `write(2)` on an fd that never blocks, or that may block harmlessly (a file).
        case write
        /// `send(2)` with MSG_DONTWAIT on a socket.
        case send
    }

    private struct State {
        var buffer: [UInt8] = []
        var offset = 0
        var droppedSinceNotice = 0
        var dropped = 0
        var broken = false
        var finished = false
    }

    /// The fd written to: a private description, or the inherited fd itself.
    package let fd: Int32
    /// True when `fd` can return EAGAIN, so the loop must watch it for room.
    package let canStall: Bool
    private let ownsFD: Bool
    private let mode: Mode
    private let restoreFlags: Int32?
    private let inheritedFD: Int32
    private let capacity: Int
    private let notice: @Sendable (Int) -> String
    private let state = Mutex(State())

    /// Writes to `fd` (normally 1 or 2) through a buffer of at most `capacity` bytes.
    /// `notice(n)` is the line (without newline) written once `n` dropped lines are behind.
    package init(fd: Int32, capacity: Int = 1 << 20, notice: @escaping @Sendable (Int) -> String) {
        self.inheritedFD = fd
        self.capacity = capacity
        self.notice = notice
        var st = stat()
        let kind = fstat(fd, &st) == 0 ? st.st_mode & S_IFMT : 0
        let flags = fcntl(fd, F_GETFL)
        switch kind {
        case S_IFSOCK:
            (self.fd, ownsFD, mode, restoreFlags, canStall) = (fd, false, .send, nil, true)
        case S_IFIFO, S_IFCHR:
            if flags >= 0 && flags & O_NONBLOCK != 0 {
                // Already non-blocking (someone else's choice): use it as it is.
                (self.fd, ownsFD, mode, restoreFlags, canStall) = (fd, false, .write, nil, true)
                break
            }
            let own = open("/proc/self/fd/\(fd)", O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY | (flags >= 0 ? flags & O_APPEND : 0))
            if own >= 0 {
                (self.fd, ownsFD, mode, restoreFlags, canStall) = (own, true, .write, nil, true)
            } else {
                // No /proc, or the reopen is refused: the shared description it must be, and
                // its flags are restored by `finish`.
                if flags >= 0 { _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK) }
                (self.fd, ownsFD, mode, restoreFlags, canStall) = (fd, false, .write, flags >= 0 ? flags : nil, true)
            }
        default:
            (self.fd, ownsFD, mode, restoreFlags, canStall) = (fd, false, .write, nil, false)
        }
    }

    deinit {
        if ownsFD && !state.withLock({ $0.finished }) { close(fd) }
    }

    /// Lines dropped in total because the buffer was full.
    package var droppedLines: Int { state.withLock { $0.dropped } }

    /// Bytes queued and not yet written.
    package var pendingBytes: Int { state.withLock { $0.buffer.count - $0.offset } }

    /// Queues one line (a newline is added) and writes what the fd takes now, or drops the
    /// line when the buffer is full.
    package func write(line: String) {
        var line = line
        line.withUTF8 { bytes in
            state.withLock { s in
                guard !s.broken, !s.finished else { return }
                guard s.buffer.count - s.offset + bytes.count + 1 <= capacity else {
                    s.dropped += 1
                    s.droppedSinceNotice += 1
                    return
                }
                s.buffer.append(contentsOf: bytes)
                s.buffer.append(0x0A)
                drain(&s)
            }
        }
    }

    /// Writes as much as the fd takes now. Returns true while bytes are still waiting.
    @discardableResult
    package func flush() -> Bool {
        state.withLock { s in
            drain(&s)
            return s.buffer.count > s.offset
        }
    }

    /// At exit: waits at most `timeout` for the reader to take what is queued, then drops
    /// the rest, closes the private fd and restores the inherited description's flags.
    package func finish(timeout: Duration = .seconds(1)) {
        let deadline = SystemClock.monotonic() + timeout
        while flush() && canStall {
            let left = deadline - SystemClock.monotonic()
            guard left > .zero else { break }
            var p = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            _ = poll(&p, 1, Int32(clamping: max(1, left.nanosecondsClamped / 1_000_000)))
        }
        state.withLock { s in
            s.finished = true
            s.buffer = []
            s.offset = 0
        }
        if ownsFD { close(fd) }
        if let restoreFlags { _ = fcntl(inheritedFD, F_SETFL, restoreFlags) }
    }

    private func drain(_ s: inout State) {
        while !s.broken {
            while s.offset < s.buffer.count {
                let n = s.buffer.withUnsafeBytes { all in
                    writeSome(UnsafeRawBufferPointer(rebasing: all[s.offset...]))
                }
                guard let n else {
                    // The reader is gone for good (EPIPE, EBADF): keep supervising, stop writing.
                    s.broken = true
                    s.buffer = []
                    s.offset = 0
                    return
                }
                if n < 0 {
                    // A file on a full disk: these lines are lost (counted); later ones are
                    // tried again, so output resumes when space returns.
                    let lost = s.buffer[s.offset...].reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) }
                    s.dropped += lost
                    s.droppedSinceNotice += lost
                    s.buffer.removeAll(keepingCapacity: false)
                    s.offset = 0
                    return
                }
                if n == 0 {
                    // Full: keep the unwritten tail, compacting once the written head is large.
                    if s.offset > capacity / 2 {
                        s.buffer.removeFirst(s.offset)
                        s.offset = 0
                    }
                    return
                }
                s.offset += n
            }
            s.buffer.removeAll(keepingCapacity: s.buffer.capacity <= 64 * 1024)
            s.offset = 0
            guard s.droppedSinceNotice > 0 else { return }
            // The reader is back and everything queued is out: say what it missed.
            s.buffer.append(contentsOf: Array(notice(s.droppedSinceNotice).utf8))
            s.buffer.append(0x0A)
            s.droppedSinceNotice = 0
        }
    }

    /// The count written, 0 when the fd is full, nil when it is broken.
    private func writeSome(_ bytes: UnsafeRawBufferPointer) -> Int? {
        while true {
            let n = mode == .send
                ? send(fd, bytes.baseAddress, bytes.count, Int32(MSG_DONTWAIT | MSG_NOSIGNAL))
                : Glibc.write(fd, bytes.baseAddress, bytes.count)
            if n >= 0 { return n }
            switch errno {
            case EINTR: continue
            case EAGAIN, EWOULDBLOCK: return 0
            case ENOSPC, EDQUOT, EFBIG, EIO: return -1
            default: return nil
            }
        }
    }
}
