#if canImport(Glibc)
import Glibc
#endif
import CDirectorSys
import DirectorCore
import DirectorTable

/// The CLI's side of the control socket: connect, send one request, read one reply line.
/// Blocking, with a timeout for the reply.
package struct ControlClient: Sendable {
    /// The daemon's state directory.
    package var stateDirectory: String
    /// How long to wait for the reply.
    package var timeout: Duration

    /// A client for the daemon of `stateDirectory`.
    package init(stateDirectory: String, timeout: Duration = .seconds(30)) {
        self.stateDirectory = stateDirectory
        self.timeout = timeout
    }

    /// Sends `request` and returns the daemon's reply.
    package func send(_ request: ControlRequest) throws(RuntimeError) -> ControlReply {
        let line = try exchange(line: request.json.serialized())
        guard let reply = ControlReply.parse(line: line) else {
            throw RuntimeError(.protocolViolation, "the daemon sent an invalid reply: \(line.prefix(200))")
        }
        return reply
    }

    /// Sends one raw line (a newline is added) and returns the reply line without its newline.
    package func exchange(line: String) throws(RuntimeError) -> String {
        let path = ControlServer.socketPath(stateDirectory: stateDirectory)
        let fd = director_unix_connect(path)
        guard fd >= 0 else {
            switch -fd {
            case ENOENT, ECONNREFUSED:
                throw RuntimeError(.noDaemon, "no daemon is running for state directory \(stateDirectory)", errno: -fd)
            default:
                throw .system("connect to \(path)", errno: -fd)
            }
        }
        defer { close(fd) }
        var bytes = Array(line.utf8)
        bytes.append(0x0A)
        var sent = 0
        while sent < bytes.count {
            let n = bytes.withUnsafeBytes { director_send(fd, $0.baseAddress! + sent, UInt($0.count - sent)) }
            guard n >= 0 else { throw .system("send to \(path)", errno: Int32(-n)) }
            sent += n
        }
        return try readLine(fd)
    }

    private func readLine(_ fd: Int32) throws(RuntimeError) -> String {
        let deadline = SystemClock.monotonic() + timeout
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            if let newline = received.firstIndex(of: 0x0A) {
                return String(decoding: received[..<newline], as: UTF8.self)
            }
            let remaining = deadline.nanoseconds - SystemClock.monotonic().nanoseconds
            guard remaining > 0 else {
                throw RuntimeError(.timeout, "the daemon did not answer within \(timeout)")
            }
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&p, 1, Int32(clamping: (remaining + 999_999) / 1_000_000))
            if ready < 0 && errno != EINTR { throw .system("poll", errno: errno) }
            guard ready > 0 else { continue }
            let n = read(fd, &buffer, buffer.count)
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else {
                throw RuntimeError(.protocolViolation, "the daemon closed the connection without a reply")
            }
            received += buffer[0..<n]
        }
    }
}
