#if canImport(Glibc)
import Glibc
#endif
import CDirectorSys
import DirectorCore

/// Watches a jobs directory with inotify and calls back once per burst of manifest changes.
///
/// Only `*.yaml` / `*.yml` names count; hidden files and editor backups (`~`) are ignored, but
/// renaming such a temp file *to* `x.yaml` (how many editors save) counts as a change of
/// `x.yaml`. A burst of events (an editor's write + rename, `git checkout`) produces one
/// callback after `debounce` of quiet, through an event-loop timer. A queue overflow or the
/// directory itself moving or vanishing also triggers the callback, so the caller rescans.
package final class DirectoryWatcher {
    private static let mask: UInt32 = 0x0000_0008 | 0x0000_0040 | 0x0000_0080 | 0x0000_0100 | 0x0000_0200
        | 0x0000_0004 | 0x0000_0400 | 0x0000_0800  // CLOSE_WRITE MOVED_FROM MOVED_TO CREATE DELETE ATTRIB DELETE_SELF MOVE_SELF
    private static let queueOverflow: UInt32 = 0x0000_4000
    private static let selfEvents: UInt32 = 0x0000_0400 | 0x0000_0800 | 0x0000_8000  // DELETE_SELF MOVE_SELF IGNORED

    private let loop: EventLoop
    private let fd: Int32
    private let debounce: Duration
    private let onChange: () -> Void
    private let timerKey: AnyHashable
    private var stopped = false

    /// Starts watching `directory`. `onChange` runs on the loop after each quiet period that
    /// follows relevant events.
    package init(directory: String, loop: EventLoop, debounce: Duration = .milliseconds(200), onChange: @escaping () -> Void) throws(RuntimeError) {
        let fd = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        guard fd >= 0 else { throw .system("inotify_init1", errno: errno) }
        guard inotify_add_watch(fd, directory, Self.mask) >= 0 else {
            let e = errno
            close(fd)
            throw .system("inotify_add_watch \(directory)", errno: e)
        }
        self.loop = loop
        self.fd = fd
        self.debounce = debounce
        self.onChange = onChange
        self.timerKey = AnyHashable(WatcherTimer(fd: fd))
        try loop.watch(fd, for: .readable) { [weak self] _ in self?.drainEvents() }
    }

    deinit { stop() }

    /// True when `name` is a manifest file name worth reacting to.
    package static func isManifestName(_ name: Substring) -> Bool {
        !name.hasPrefix(".") && !name.hasSuffix("~") && (name.hasSuffix(".yaml") || name.hasSuffix(".yml"))
    }

    /// Stops watching and closes the inotify fd. Idempotent.
    package func stop() {
        guard !stopped else { return }
        stopped = true
        loop.cancelTimer(timerKey)
        loop.unwatch(fd)
        close(fd)
    }

    private func drainEvents() {
        let scratch = loop.scratch
        var relevant = false
        while true {
            let n = read(fd, scratch.baseAddress, scratch.count)
            guard n > 0 else { break }
            var offset = 0
            // struct inotify_event: wd (4), mask (4), cookie (4), len (4), name[len].
            while offset + 16 <= n {
                let mask = scratch.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self)
                let length = Int(scratch.loadUnaligned(fromByteOffset: offset + 12, as: UInt32.self))
                let nameBytes = UnsafeRawBufferPointer(rebasing: scratch[(offset + 16)..<(offset + 16 + length)])
                let name = String(decoding: nameBytes.prefix(while: { $0 != 0 }), as: UTF8.self)
                if mask & (Self.queueOverflow | Self.selfEvents) != 0 || Self.isManifestName(name[...]) {
                    relevant = true
                }
                offset += 16 + length
            }
        }
        if relevant {
            loop.setTimer(timerKey, at: loop.now + debounce) { [weak self] in self?.onChange() }
        }
    }
}

/// The debounce timer's key: unique per watcher (its fd is unique while it is open).
private struct WatcherTimer: Hashable {
    var fd: Int32
}
