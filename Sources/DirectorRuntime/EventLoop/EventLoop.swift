#if canImport(Glibc)
import Glibc
#endif
import CDirectorSys
import DirectorCore

/// What an fd is ready for (a subset of the epoll event bits).
package struct Readiness: OptionSet, Sendable, Hashable {
    /// The bits.
    package var rawValue: UInt32
    /// Creates a set from epoll bits.
    package init(rawValue: UInt32) { self.rawValue = rawValue }
    /// Data to read, or EOF.
    package static let readable = Readiness(rawValue: 0x001)  // EPOLLIN
    /// Room to write.
    package static let writable = Readiness(rawValue: 0x004)  // EPOLLOUT
    /// An error on the fd (always reported).
    package static let error = Readiness(rawValue: 0x008)  // EPOLLERR
    /// The peer hung up (always reported).
    package static let hangup = Readiness(rawValue: 0x010)  // EPOLLHUP
}

/// The daemon's single-threaded event loop: fd readiness, timers and an end-of-turn hook,
/// all on one epoll instance.
///
/// One turn = one `epoll_wait` (its timeout is the earliest timer, or infinite: an idle loop
/// never wakes up; 0 when work was deferred to this turn), then the ready fds' handlers, then
/// the work deferred from the previous turn, then the due timers, then the end-of-turn hooks (where the supervisor commits its table writes once per turn).
///
/// Handlers run on the loop's thread and may watch, unwatch, arm and cancel freely, also
/// for fds and timers of the same turn: an fd unwatched (and maybe reused) earlier in the
/// turn does not see stale events, because epoll carries a registration token, not the fd.
package final class EventLoop {
    private struct Registration {
        /// What epoll carries for the fd: a generation in the high 32 bits, the fd in the low.
        var token: UInt64
        var urgent: Bool
        var handler: (Readiness) -> Void
    }

    private let epollFD: Int32
    /// Registrations indexed by fd (fds are small and dense). Two dictionaries (token → entry,
    /// fd → token) cost ~80 bytes per fd with their spare slots, three fds per child.
    private var registrations: [Registration?] = []
    private var registrationCount = 0
    private var lastGeneration: UInt64 = 0
    private var timers = TimerQueue<AnyHashable>()
    private var timerHandlers: [AnyHashable: (sequence: UInt64, run: () -> Void)] = [:]
    private var endOfTurnHooks: [() -> Void] = []
    private var nextTurnWork: [() -> Void] = []
    private var stopRequested = false
    private var readyData = [UInt64](repeating: 0, count: 512)
    private var readyEvents = [UInt32](repeating: 0, count: 512)

    /// One shared read buffer (64 KiB) for handlers that read and immediately consume: a
    /// per-pipe buffer would cost 64 KiB × 2 × children of resident memory.
    package let scratch: UnsafeMutableRawBufferPointer

    /// How many times `epoll_wait` returned: lets tests prove that an idle loop sleeps.
    package private(set) var wakeups = 0

    /// Creates the loop (an epoll fd, close-on-exec).
    package init() throws(RuntimeError) {
        let fd = epoll_create1(Int32(EPOLL_CLOEXEC))
        guard fd >= 0 else { throw .system("epoll_create1", errno: errno) }
        epollFD = fd
        scratch = .allocate(byteCount: 64 * 1024, alignment: 16)
    }

    deinit {
        close(epollFD)
        scratch.deallocate()
    }

    /// Now on the monotonic clock.
    package var now: Instant { SystemClock.monotonic() }

    // MARK: File descriptors

    /// Calls `handler` whenever `fd` is ready for `interest` (level-triggered). Watching an fd
    /// again replaces its interest and handler.
    ///
    /// `urgent` handlers run before the others of the same turn: the reaper's pidfds are
    /// urgent, so a crashed child is reaped and restarted before the end-of-file of its own
    /// output pipes (which becomes ready at the same moment) is handled.
    package func watch(_ fd: Int32, for interest: Readiness, urgent: Bool = false, handler: @escaping (Readiness) -> Void) throws(RuntimeError) {
        if let token = entry(for: fd)?.token {
            let rc = director_epoll_ctl(epollFD, EPOLL_CTL_MOD, fd, interest.rawValue, token)
            guard rc == 0 else { throw .system("epoll_ctl(MOD, fd \(fd))", errno: -rc) }
            registrations[Int(fd)]?.handler = handler
            registrations[Int(fd)]?.urgent = urgent
            return
        }
        guard fd >= 0 else { throw .system("epoll_ctl(ADD, fd \(fd))", errno: EBADF) }
        // A new generation per registration: an event queued for an fd unwatched (and maybe
        // reused) earlier in the same turn carries the old token and is skipped.
        lastGeneration = (lastGeneration &+ 1) & 0xffff_ffff
        let token = lastGeneration << 32 | UInt64(UInt32(fd))
        let rc = director_epoll_ctl(epollFD, EPOLL_CTL_ADD, fd, interest.rawValue, token)
        guard rc == 0 else { throw .system("epoll_ctl(ADD, fd \(fd))", errno: -rc) }
        let index = Int(fd)
        if index >= registrations.count {
            registrations.append(contentsOf: repeatElement(nil, count: index + 1 - registrations.count))
        }
        registrations[index] = Registration(token: token, urgent: urgent, handler: handler)
        registrationCount += 1
    }

    private func entry(for fd: Int32) -> Registration? {
        fd >= 0 && Int(fd) < registrations.count ? registrations[Int(fd)] : nil
    }

    /// Changes the interest of a watched fd, keeping its handler.
    package func update(_ fd: Int32, interest: Readiness) {
        guard let token = entry(for: fd)?.token else { return }
        _ = director_epoll_ctl(epollFD, EPOLL_CTL_MOD, fd, interest.rawValue, token)
    }

    /// Stops watching `fd` (call before closing it). Unknown fds are ignored.
    package func unwatch(_ fd: Int32) {
        guard entry(for: fd) != nil else { return }
        registrations[Int(fd)] = nil
        registrationCount -= 1
        _ = director_epoll_ctl(epollFD, EPOLL_CTL_DEL, fd, 0, 0)
    }

    /// How many fds are watched.
    package var watchedCount: Int { registrationCount }

    // MARK: Timers

    /// Arms the timer `key` to run `handler` once at `deadline`, replacing an armed timer with
    /// the same key. Keys are any hashable value, e.g. the engine's `TimerID`.
    package func setTimer(_ key: AnyHashable, at deadline: Instant, handler: @escaping () -> Void) {
        let sequence = timers.arm(key, at: deadline)
        timerHandlers[key] = (sequence, handler)
    }

    /// Cancels the timer `key`; cancelling an unarmed key is fine.
    package func cancelTimer(_ key: AnyHashable) {
        timers.cancel(key)
        timerHandlers[key] = nil
    }

    /// True when `key` is armed.
    package func isTimerArmed(_ key: AnyHashable) -> Bool { timers.isArmed(key) }

    // MARK: Turns

    /// Adds a hook run at the end of every turn, in the order added.
    package func addEndOfTurnHook(_ hook: @escaping () -> Void) {
        endOfTurnHooks.append(hook)
    }

    /// Runs `work` in the next turn (after that turn's ready fds, before its timers), and makes
    /// that turn come at once: its `epoll_wait` does not sleep.
    ///
    /// For work that must not happen in the turn that caused it: a child that cannot be
    /// spawned is restarted at the earliest in the next turn, so a failing spawn can never loop
    /// inside one turn while signals, the control socket and the table wait.
    package func runInNextTurn(_ work: @escaping () -> Void) {
        nextTurnWork.append(work)
    }

    /// Makes `run` return after the current turn.
    package func stop() { stopRequested = true }

    /// Runs turns until `stop()` is called or, when given, `deadline` passes.
    package func run(until deadline: Instant? = nil) throws(RuntimeError) {
        stopRequested = false
        while !stopRequested {
            if let deadline, now >= deadline { return }
            try turn(notAfter: deadline)
        }
    }

    /// Runs one turn, sleeping at most until `deadline` (and the earliest timer).
    package func turn(notAfter deadline: Instant? = nil) throws(RuntimeError) {
        let deferred = nextTurnWork
        nextTurnWork.removeAll()
        let timeout = deferred.isEmpty ? timeoutMilliseconds(until: [timers.nextDeadline(), deadline].compactMap { $0 }.min()) : 0
        // A large batch: in a crash storm hundreds of pidfds and pipes are ready at once, and
        // each turn ends with a table commit.
        let n = director_epoll_wait(epollFD, &readyData, &readyEvents, Int32(readyData.count), timeout)
        wakeups += 1
        if n < 0 && n != -EINTR { throw .system("epoll_wait", errno: -n) }
        let count = max(0, Int(n))
        for pass in 0..<2 {
            for i in 0..<count {
                // Looked up per event: an earlier handler may have unwatched this registration.
                let token = readyData[i]
                guard let registration = entry(for: Int32(truncatingIfNeeded: token & 0xffff_ffff)),
                    registration.token == token, registration.urgent == (pass == 0)
                else { continue }
                registration.handler(Readiness(rawValue: readyEvents[i]))
            }
        }
        for work in deferred { work() }
        fireDueTimers()
        for hook in endOfTurnHooks { hook() }
    }

    private func fireDueTimers() {
        for (key, sequence) in timers.popDue(now: now) {
            // Skip a timer cancelled or re-armed by a handler that ran earlier in this batch.
            guard let armed = timerHandlers[key], armed.sequence == sequence else { continue }
            timerHandlers[key] = nil
            armed.run()
        }
    }

    /// The epoll timeout in whole milliseconds, rounded up so that a timer never fires early.
    private func timeoutMilliseconds(until deadline: Instant?) -> Int32 {
        guard let deadline else { return -1 }
        let remaining = deadline.nanoseconds - now.nanoseconds
        if remaining <= 0 { return 0 }
        let ms = (remaining + 999_999) / 1_000_000
        return Int32(clamping: ms)
    }
}
