#if canImport(Glibc)
import Glibc
#endif

/// A tiny sd_notify client: tells a service manager (systemd's `Type=notify`) that the daemon
/// is ready, by one datagram to the socket `$NOTIFY_SOCKET` names (a path, or `@name` in the
/// abstract namespace). Without the variable it does nothing; it never blocks and never fails
/// the daemon (a service manager that is gone is not the tree's problem).
package enum ServiceNotifier {
    /// Sends `READY=1` and `MAINPID`; true when a datagram was sent.
    @discardableResult
    package static func ready() -> Bool {
        notify("READY=1\nMAINPID=\(getpid())\n")
    }

    /// Sends `state` to `$NOTIFY_SOCKET` (or to `socketPath` when given).
    @discardableResult
    package static func notify(_ state: String, socketPath: String? = nil) -> Bool {
        guard let path = socketPath ?? environmentValue("NOTIFY_SOCKET"), !path.isEmpty,
            path.hasPrefix("/") || path.hasPrefix("@")
        else { return false }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        var bytes = Array(path.utf8)
        // `@name`: the abstract namespace, a leading NUL and no terminator.
        if bytes.first == UInt8(ascii: "@") { bytes[0] = 0 }
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard bytes.count < capacity else { return false }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, b) in bytes.enumerated() { raw[i] = b }
        }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + bytes.count + (bytes.first == 0 ? 0 : 1))
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        let message = Array(state.utf8)
        let sent = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                sendto(fd, message, message.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT), sa, length)
            }
        }
        return sent == message.count
    }

    private static func environmentValue(_ name: String) -> String? {
        guard let value = getenv(name) else { return nil }
        return String(decoding: UnsafeRawBufferPointer(start: value, count: strlen(value)), as: UTF8.self)
    }
}
