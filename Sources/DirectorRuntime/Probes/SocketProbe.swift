#if canImport(Glibc)
import Glibc
#endif
import CDirectorSys

/// One TCP or HTTP probe on the loop: a non-blocking connect (its completion seen as
/// writability), then for HTTP a `GET` and the status line of the answer. Nothing here
/// blocks: every step waits for epoll. `done` is called at most once; `cancel()` closes the
/// socket without calling it.
final class SocketProbe {
    private let loop: EventLoop
    private var fd: Int32 = -1
    private let request: [UInt8]?
    private var answer: [UInt8] = []
    private var done: ((Bool, String) -> Void)?

    /// Starts connecting to `host:port` (an IP literal); with `request` (HTTP) it is sent
    /// once connected and a 2xx status line is success, without it (TCP) the connect is.
    init(host: String, port: Int, request: [UInt8]?, loop: EventLoop, done: @escaping (Bool, String) -> Void) {
        self.loop = loop
        self.request = request
        self.done = done
        connect(host: host, port: port)
    }

    private func connect(host: String, port: Int) {
        let v6 = host.contains(":")
        let type = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        fd = socket(v6 ? AF_INET6 : AF_INET, type, 0)
        guard fd >= 0 else { return finish(false, "socket: \(errorText(errno))") }
        var rc: Int32
        if v6 {
            var address = sockaddr_in6()
            address.sin6_family = sa_family_t(AF_INET6)
            address.sin6_port = in_port_t(UInt16(port).bigEndian)
            guard inet_pton(AF_INET6, host, &address.sin6_addr) == 1 else { return finish(false, "bad address \(host)") }
            rc = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
            }
        } else {
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            guard inet_pton(AF_INET, host, &address.sin_addr) == 1 else { return finish(false, "bad address \(host)") }
            rc = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
        }
        if rc == 0 { return connected() }
        guard errno == EINPROGRESS else { return finish(false, errorText(errno)) }
        do {
            try loop.watch(fd, for: .writable) { [weak self] _ in self?.connectEnded() }
        } catch {
            finish(false, error.message)
        }
    }

    private func connectEnded() {
        var code: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(fd, SOL_SOCKET, SO_ERROR, &code, &length) == 0 else { return finish(false, errorText(errno)) }
        guard code == 0 else { return finish(false, errorText(code)) }
        connected()
    }

    private func connected() {
        guard let request else { return finish(true, "") }
        // A request of a few hundred bytes on a fresh connection fits the socket buffer.
        let sent = request.withUnsafeBytes { director_send(fd, $0.baseAddress, UInt($0.count)) }
        guard sent == request.count else { return finish(false, sent < 0 ? errorText(Int32(-sent)) : "request cut short") }
        do {
            try loop.watch(fd, for: .readable) { [weak self] _ in self?.readAnswer() }
        } catch {
            finish(false, error.message)
        }
    }

    /// Reads until the status line is complete; the rest of the answer is not waited for.
    private func readAnswer() {
        var chunk = [UInt8](repeating: 0, count: 512)
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n < 0 {
            if errno == EAGAIN || errno == EINTR { return }
            return finish(false, errorText(errno))
        }
        answer += chunk[0..<n]
        if let end = answer.firstIndex(of: UInt8(ascii: "\n")) {
            let (ok, detail) = Self.judge(statusLine: answer[..<end])
            return finish(ok, detail)
        }
        if n == 0 { return finish(false, answer.isEmpty ? "connection closed without an answer" : "no HTTP status line") }
        if answer.count > 4096 { return finish(false, "no HTTP status line") }
    }

    /// `HTTP/1.1 204 No Content` is success; anything but a 2xx fails with `HTTP 503`.
    static func judge(statusLine line: ArraySlice<UInt8>) -> (ok: Bool, detail: String) {
        let words = String(decoding: line, as: UTF8.self).split(separator: " ", omittingEmptySubsequences: true)
        guard words.count >= 2, words[0].hasPrefix("HTTP/"), let code = Int(words[1]) else { return (false, "no HTTP status line") }
        return (200..<300).contains(code) ? (true, "") : (false, "HTTP \(code)")
    }

    private func finish(_ ok: Bool, _ detail: String) {
        let callback = done
        cancel()
        callback?(ok, detail)
    }

    /// Closes the socket; `done` is not called any more.
    func cancel() {
        done = nil
        guard fd >= 0 else { return }
        loop.unwatch(fd)
        close(fd)
        fd = -1
    }

    /// `GET target HTTP/1.0` with a Host header: HTTP/1.0 so that the server closes.
    static func httpRequest(path: String, authority: String) -> [UInt8] {
        Array("GET \(path) HTTP/1.0\r\nHost: \(authority)\r\nUser-Agent: director-probe\r\nConnection: close\r\n\r\n".utf8)
    }
}
