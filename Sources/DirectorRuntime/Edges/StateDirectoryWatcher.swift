#if canImport(Glibc)
import Glibc
#endif
import CDirectorSys
import DirectorCore

/// Tells the supervisor when something in its state directory may have been removed.
///
/// inotify watches the state directory and its `table/` through `/proc/self/fd/N` of the
/// descriptors the daemon holds (so the very directories in use, whatever their path now
/// names) for deletions and renames of entries and of the directories themselves. A tmp
/// cleaner's `rm -rf` deletes the entries first, so the first event comes at once; the
/// callback runs after `settle` of quiet (the cleaner has finished), at most a few tens of
/// milliseconds later, and checks what is actually missing. No timer: an idle daemon stays
/// asleep.
final class StateDirectoryWatcher {
    // IN_DELETE IN_MOVED_FROM IN_DELETE_SELF IN_MOVE_SELF
    private static let mask: UInt32 = 0x0000_0200 | 0x0000_0040 | 0x0000_0400 | 0x0000_0800
    private let loop: EventLoop
    private let fd: Int32
    private let settle: Duration
    private let onChange: () -> Void
    private let timerKey: AnyHashable
    private var stopped = false

    /// Watches `directories` (paths; `/proc/self/fd/N` works).
    init(directories: [String], loop: EventLoop, settle: Duration = .milliseconds(50), onChange: @escaping () -> Void) throws(RuntimeError) {
        let fd = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        guard fd >= 0 else { throw .system("inotify_init1", errno: errno) }
        for directory in directories where inotify_add_watch(fd, directory, Self.mask) < 0 {
            let e = errno
            close(fd)
            throw .system("inotify_add_watch \(directory)", errno: e)
        }
        self.loop = loop
        self.fd = fd
        self.settle = settle
        self.onChange = onChange
        self.timerKey = AnyHashable(StateWatchTimer(fd: fd))
        try loop.watch(fd, for: .readable) { [weak self] _ in self?.drain() }
    }

    deinit { stop() }

    /// Stops watching. Idempotent.
    func stop() {
        guard !stopped else { return }
        stopped = true
        loop.cancelTimer(timerKey)
        loop.unwatch(fd)
        close(fd)
    }

    private func drain() {
        let scratch = loop.scratch
        var any = false
        while read(fd, scratch.baseAddress, scratch.count) > 0 { any = true }
        if any {
            loop.setTimer(timerKey, at: loop.now + settle) { [weak self] in self?.onChange() }
        }
    }
}

private struct StateWatchTimer: Hashable {
    var fd: Int32
}
