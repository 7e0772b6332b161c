#if canImport(Glibc)
import Glibc
#endif
import CDirectorSys

/// Delivers signals through a signalfd on the event loop.
///
/// The signals are blocked first (on the calling thread: the daemon's only thread), so they
/// queue for the signalfd instead of running default actions. Children do not inherit the
/// mask: the spawner resets it.
package final class SignalWatcher {
    private let loop: EventLoop
    private let fd: Int32
    private let signals: [Int32]

    /// The daemon's set: SIGTERM, SIGINT, SIGHUP, SIGCHLD, SIGUSR1 (reopen the log files).
    package static let daemonSignals: [Int32] = [SIGTERM, SIGINT, SIGHUP, SIGCHLD, SIGUSR1]

    /// Blocks `signals` and calls `handler` with each one received, on the loop.
    package init(loop: EventLoop, signals: [Int32], handler: @escaping (Int32) -> Void) throws(RuntimeError) {
        let rcMask = director_sigmask(0, signals, Int32(signals.count))
        guard rcMask == 0 else { throw .system("pthread_sigmask", errno: -rcMask) }
        let fd = director_signalfd(signals, Int32(signals.count))
        guard fd >= 0 else { throw .system("signalfd", errno: -fd) }
        self.loop = loop
        self.fd = fd
        self.signals = signals
        try loop.watch(fd, for: .readable) { _ in
            // struct signalfd_siginfo is 128 bytes; ssi_signo is its first field.
            // One read per readiness, not "until empty": children exiting while the handler
            // restarts others raise new SIGCHLDs, and draining them here would never end the
            // loop turn (no table commit, no control reply). Level-triggered epoll brings the
            // rest back next turn.
            var info = [UInt8](repeating: 0, count: 128 * 16)
            let n = read(fd, &info, info.count)
            guard n >= 128 else { return }
            for offset in stride(from: 0, to: n - 127, by: 128) {
                let number = info.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: UInt32.self) }
                handler(Int32(number))
            }
        }
    }

    /// Ignores SIGPIPE for the daemon, so that a vanished stdout reader or control client
    /// surfaces as EPIPE instead of killing it. Children still start with the default
    /// disposition: the spawner resets every signal.
    package static func ignoreBrokenPipes() {
        signal(SIGPIPE, SIG_IGN)
    }

    /// Stops watching, closes the fd and unblocks the signals.
    package func close() {
        loop.unwatch(fd)
        Glibc.close(fd)
        _ = director_sigmask(1, signals, Int32(signals.count))
    }
}
