#if canImport(Glibc)
import Glibc
#endif

/// Connects a `StreamOutput` (the daemon's stdout or stderr) to the event loop: what the fd
/// did not take at once is retried at the end of every turn and whenever the fd has room.
///
/// Children's lines go through one of these on fd 1, the daemon's own log lines through one
/// on fd 2. Neither ever blocks the loop: a stalled reader costs dropped (and counted) lines,
/// reported by a notice once the reader is back.
package final class OutputSink {
    package let output: StreamOutput
    private let loop: EventLoop
    private var waitingForWritable = false

    /// Writes to `fd` (normally 1) through a buffer of at most `capacity` bytes; dropped
    /// lines are reported as `... N lines dropped`.
    package convenience init(fd: Int32, loop: EventLoop, capacity: Int = 1 << 20) {
        self.init(output: StreamOutput(fd: fd, capacity: capacity) { "... \($0) lines dropped" }, loop: loop)
    }

    /// Drives `output` from `loop`.
    package init(output: StreamOutput, loop: EventLoop) {
        self.output = output
        self.loop = loop
        loop.addEndOfTurnHook { [weak self] in self?.flush() }
    }

    /// Lines dropped in total because the buffer was full.
    package var droppedLines: Int { output.droppedLines }

    /// Bytes queued and not yet written.
    package var pendingBytes: Int { output.pendingBytes }

    /// Queues one line (a newline is added), or drops it when the buffer is full.
    package func write(line: String) {
        output.write(line: line)
    }

    /// Writes as much as the fd takes now; called at the end of every turn.
    package func flush() {
        let waiting = output.flush()
        setWaitingForWritable(waiting && output.canStall)
    }

    /// At exit: gives the reader at most `timeout` to take what is queued, then lets go of
    /// the fd (restoring the inherited description's flags if they had to be changed).
    package func finish(timeout: Duration = .seconds(1)) {
        setWaitingForWritable(false)
        output.finish(timeout: timeout)
    }

    private func setWaitingForWritable(_ wait: Bool) {
        guard wait != waitingForWritable else { return }
        waitingForWritable = wait
        if wait {
            // Level-triggered: the handler runs while there is room, and unwatches once empty.
            do { try loop.watch(output.fd, for: .writable) { [weak self] _ in self?.flush() } } catch {
                waitingForWritable = false
            }
        } else {
            loop.unwatch(output.fd)
        }
    }
}
