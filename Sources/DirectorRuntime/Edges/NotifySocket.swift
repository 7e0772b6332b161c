#if canImport(Glibc)
import Glibc
#endif
import CDirectorSys

/// The daemon's sd_notify socket (`$NOTIFY_SOCKET` of children with `ready: {notify: true}`):
/// one `SOCK_DGRAM` Unix socket with `SO_PASSCRED`, read on the loop without blocking. Each
/// datagram reaches `onMessage` with the sender's pid as the kernel gives it; attributing it
/// to a child is the caller's (by the sender's process group).
package final class NotifySocket {
    /// The address children get: a path, or `@name` for an abstract socket.
    package let address: String
    private let fd: Int32
    private let loop: EventLoop
    private var buffer = [UInt8](repeating: 0, count: 4096)

    /// Binds `address` and watches it; `onMessage(pid, text)` per datagram.
    package init(address: String, loop: EventLoop, onMessage: @escaping (Int32, String) -> Void) throws(RuntimeError) {
        let fd = director_notify_socket(address)
        guard fd >= 0 else { throw .system("notify socket \(address)", errno: -fd) }
        self.fd = fd
        self.address = address
        self.loop = loop
        // When this throws, the deinit still runs (every property is set) and closes the fd:
        // closing it here as well was a double close (ReadyPipeTests shows the deinit runs).
        try loop.watch(fd, for: .readable) { [unowned self] _ in self.readAvailable(onMessage) }
    }

    deinit {
        loop.unwatch(fd)
        close(fd)
        if !address.hasPrefix("@") { unlink(address) }
    }

    /// At most 64 datagrams a turn, so a flood cannot hold the loop.
    private func readAvailable(_ onMessage: (Int32, String) -> Void) {
        for _ in 0..<64 {
            var pid: pid_t = 0
            let n = buffer.withUnsafeMutableBytes { director_recv_credentials(fd, $0.baseAddress, UInt($0.count), &pid) }
            if n == -Int(EAGAIN) { return }
            if n < 0 { continue }  // a datagram too long for any sd_notify message: dropped
            onMessage(pid, String(decoding: buffer[0..<Int(n)], as: UTF8.self))
        }
    }

    /// The `KEY=VALUE` lines of an sd_notify message.
    package static func fields(_ text: String) -> [(key: Substring, value: Substring)] {
        text.split(separator: "\n").compactMap { line in
            guard let eq = line.firstIndex(of: "=") else { return nil }
            return (line[..<eq], line[line.index(after: eq)...])
        }
    }
}
