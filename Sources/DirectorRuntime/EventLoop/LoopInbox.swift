#if canImport(Glibc)
import Glibc
#endif
import CDirectorSys
import Synchronization

/// How other threads reach the event loop: they append to a locked queue and write to an
/// eventfd; the loop, woken by the eventfd, takes the whole queue and handles it in order.
///
/// The loop owns the supervisor's state and never shares it; everything another thread wants
/// (a `SupervisorHandle` call from a task, say) travels as a `Sendable` value through here,
/// and answers travel back through the continuation the value carries. The eventfd is a
/// counter, so any number of posts between two turns cost one wake-up.
package final class LoopInbox<Message: Sendable>: Sendable {
    private struct State {
        var messages: [Message] = []
        var closed = false
    }

    private let state = Mutex(State())
    /// The eventfd the loop watches (non-blocking, close-on-exec).
    package let fd: Int32

    /// Creates the inbox and its eventfd.
    package init() throws(RuntimeError) {
        let fd = director_eventfd()
        guard fd >= 0 else { throw .system("eventfd", errno: errno) }
        self.fd = fd
    }

    deinit { Glibc.close(fd) }

    /// Queues `message` and wakes the loop; false (and nothing queued) once closed, so that
    /// a caller can answer for itself instead of waiting for a loop that has ended.
    @discardableResult
    package func post(_ message: Message) -> Bool {
        let accepted = state.withLock { state in
            guard !state.closed else { return false }
            state.messages.append(message)
            return true
        }
        guard accepted else { return false }
        var one: UInt64 = 1
        // EAGAIN means the counter is at its maximum: the loop is woken anyway.
        _ = write(fd, &one, 8)
        return true
    }

    /// On the loop: everything queued so far, oldest first (the eventfd is reset first, so a
    /// post that races with this call wakes the loop again rather than being missed).
    package func take() -> [Message] {
        var count: UInt64 = 0
        _ = read(fd, &count, 8)
        return state.withLock { state in
            let taken = state.messages
            state.messages.removeAll()
            return taken
        }
    }

    /// Refuses further posts and returns what was still queued (the loop answers those as
    /// refused when it stops).
    package func close() -> [Message] {
        state.withLock { state in
            state.closed = true
            let left = state.messages
            state.messages.removeAll()
            return left
        }
    }
}
