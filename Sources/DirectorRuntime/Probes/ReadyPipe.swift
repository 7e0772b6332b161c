#if canImport(Glibc)
import Glibc
#endif

/// The daemon's end of a `ready: {fd: N}` pipe (s6's readiness protocol): the child is ready
/// when it writes a newline on its fd N. The pipe is closed then, at its end of file (the child
/// closed fd N without a newline: it never becomes ready this way, its timeout decides), or
/// when the child exits.
final class ReadyPipe {
    private var fd: Int32
    private let loop: EventLoop
    private var onReady: (() -> Void)?

    /// Takes ownership of `fd` once watched; when the watch fails (this throws), the caller
    /// still owns it.
    init(fd: Int32, loop: EventLoop, onReady: @escaping () -> Void) throws(RuntimeError) {
        self.fd = fd
        self.loop = loop
        self.onReady = onReady
        do {
            try loop.watch(fd, for: .readable) { [weak self] _ in self?.readAvailable() }
        } catch {
            // The caller keeps the fd when this throws. The deinit still runs (every property
            // is set), and closing it there too was a double close.
            self.fd = -1
            throw error
        }
    }

    deinit { close() }

    private func readAvailable() {
        var chunk = [UInt8](repeating: 0, count: 256)
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n < 0 && (errno == EAGAIN || errno == EINTR) { return }
        if n > 0 && !chunk[0..<n].contains(UInt8(ascii: "\n")) { return }
        let ready = n > 0 ? onReady : nil
        close()
        ready?()
    }

    /// Stops reading and closes the fd (idempotent).
    func close() {
        onReady = nil
        guard fd >= 0 else { return }
        loop.unwatch(fd)
        _ = Glibc.close(fd)
        fd = -1
    }
}
