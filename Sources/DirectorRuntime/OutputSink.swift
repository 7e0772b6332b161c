#if canImport(Glibc)
import Glibc
#endif

/// The daemon's stdout as a bounded, non-blocking line buffer.
///
/// Children's lines are queued and written at the end of each loop turn (and whenever the fd
/// becomes writable). When the reader of stdout is slow and the buffer is full, new lines are
/// dropped and counted; once the buffer has drained, a `... N lines dropped` line says so.
/// The loop never blocks on stdout. Note that O_NONBLOCK is set on the fd, which is shared with
/// whatever else holds that file description (a terminal, a pipe).
public final class OutputSink {
    private let fd: Int32
    private let loop: EventLoop
    private let capacity: Int
    private var buffer: [UInt8] = []
    private var offset = 0
    private var waitingForWritable = false
    private var droppedSinceNotice = 0
    private var broken = false

    /// Lines dropped in total because the buffer was full.
    public private(set) var droppedLines = 0

    /// Writes to `fd` (normally 1) through a buffer of at most `capacity` bytes.
    public init(fd: Int32, loop: EventLoop, capacity: Int = 1 << 20) {
        self.fd = fd
        self.loop = loop
        self.capacity = capacity
        FileDescriptors.setNonBlocking(fd)
        loop.addEndOfTurnHook { [weak self] in self?.flush() }
    }

    /// Queues one line (a newline is added), or drops it when the buffer is full.
    public func write(line: String) {
        var line = line
        line.withUTF8 { bytes in
            guard pendingBytes + bytes.count + 1 <= capacity else {
                droppedLines += 1
                droppedSinceNotice += 1
                return
            }
            buffer.append(contentsOf: bytes)
            buffer.append(0x0A)
        }
    }

    /// Bytes queued and not yet written.
    public var pendingBytes: Int { buffer.count - offset }

    /// Writes as much as the fd takes now; called at the end of every turn.
    public func flush() {
        guard !broken else { buffer.removeAll(); offset = 0; return }
        while pendingBytes > 0 {
            let written = buffer.withUnsafeBytes { all in
                FileDescriptors.writeSome(fd, UnsafeRawBufferPointer(rebasing: all[offset...]))
            }
            guard let written else {
                // stdout is gone (EPIPE): keep running, stop writing.
                broken = true
                buffer.removeAll()
                offset = 0
                return
            }
            if written == 0 { break }
            offset += written
        }
        if pendingBytes == 0 {
            buffer.removeAll(keepingCapacity: buffer.count <= 64 * 1024)
            offset = 0
            if droppedSinceNotice > 0 {
                let notice = "... \(droppedSinceNotice) lines dropped"
                droppedSinceNotice = 0
                buffer.append(contentsOf: Array(notice.utf8) + [0x0A])
                flush()
                return
            }
        } else if offset > capacity / 2 {
            buffer.removeFirst(offset)
            offset = 0
        }
        setWaitingForWritable(pendingBytes > 0)
    }

    private func setWaitingForWritable(_ wait: Bool) {
        guard wait != waitingForWritable else { return }
        waitingForWritable = wait
        if wait {
            try? loop.watch(fd, for: .writable) { [weak self] _ in self?.flush() }
        } else {
            loop.unwatch(fd)
        }
    }
}
