#if canImport(Glibc)
import Glibc
#endif
import CDirectorSys

/// The daemon's control socket: `<state>/control.sock`, mode 0600, one JSON object per line
/// each way (DESIGN §5).
///
/// Every client has its own bounded buffers: a line longer than `maxLineBytes` gets a
/// `line_too_long` reply and the connection is closed; a client that does not read its replies
/// is dropped once `maxPendingReplyBytes` pile up. Malformed lines get `bad_json` /
/// `bad_request` replies and the connection stays usable. Requests of one client are answered
/// in order: while one waits for its (possibly deferred) reply, later lines stay buffered.
public final class ControlServer {
    /// Limits per client.
    public struct Limits: Sendable, Hashable {
        /// The longest request line.
        public var maxLineBytes = 1 << 20
        /// Reply bytes a client may leave unread before it is dropped.
        public var maxPendingReplyBytes = 1 << 20
        /// Simultaneous clients; more are accepted and closed at once.
        public var maxClients = 128
        /// The defaults.
        public init() {}
    }

    /// Receives each request; must eventually call `responder.reply` exactly once (at once,
    /// or later on the loop, e.g. when a reload finished).
    public typealias Handler = (ControlRequest, ControlResponder) -> Void

    private final class Connection {
        let fd: Int32
        let serial: UInt64
        var input: [UInt8] = []
        /// Bytes of `input` already consumed; compacted once per batch, not once per line.
        var consumed = 0
        var output: [UInt8] = []
        var awaitingReply = false
        var processing = false
        var closeWhenFlushed = false
        var peerClosed = false
        init(fd: Int32, serial: UInt64) {
            self.fd = fd
            self.serial = serial
        }
    }

    private let loop: EventLoop
    private let listenFD: Int32
    private let limits: Limits
    private let handler: Handler
    private var connections: [Int32: Connection] = [:]
    private var lastSerial: UInt64 = 0
    private var closed = false

    /// The socket's path.
    public let path: String

    /// `<stateDirectory>/control.sock`.
    public static func socketPath(stateDirectory: String) -> String { stateDirectory + "/control.sock" }

    /// Listens on `path`. A socket file left by a dead daemon is replaced; one that a live
    /// daemon answers on is an `address_in_use` error.
    public init(path: String, loop: EventLoop, limits: Limits = Limits(), handler: @escaping Handler) throws(RuntimeError) {
        try Self.removeStaleSocket(path)
        let fd = director_unix_listen(path, 64)
        guard fd >= 0 else { throw .system("listen on \(path)", errno: -fd) }
        self.loop = loop
        self.listenFD = fd
        self.limits = limits
        self.handler = handler
        self.path = path
        try loop.watch(fd, for: .readable) { [weak self] _ in self?.acceptClients() }
    }

    /// A server whose handler answers synchronously.
    public convenience init(path: String, loop: EventLoop, limits: Limits = Limits(), reply: @escaping (ControlRequest) -> ControlReply) throws(RuntimeError) {
        try self.init(path: path, loop: loop, limits: limits) { request, responder in responder.reply(reply(request)) }
    }

    deinit { close() }

    /// Connected clients.
    public var clientCount: Int { connections.count }

    /// Stops listening, drops every client and removes the socket file. Idempotent.
    public func close() {
        guard !closed else { return }
        closed = true
        for fd in Array(connections.keys) { drop(fd) }
        loop.unwatch(listenFD)
        Glibc.close(listenFD)
        unlink(path)
    }

    private static func removeStaleSocket(_ path: String) throws(RuntimeError) {
        var st = stat()
        guard lstat(path, &st) == 0 else { return }
        guard (st.st_mode & S_IFMT) == S_IFSOCK else {
            throw RuntimeError(.addressInUse, "\(path) exists and is not a socket")
        }
        let probe = director_unix_connect(path)
        if probe >= 0 {
            Glibc.close(probe)
            throw RuntimeError(.addressInUse, "another daemon is listening on \(path)")
        }
        unlink(path)
    }

    private func acceptClients() {
        while true {
            let fd = director_accept(listenFD)
            guard fd >= 0 else { return }
            guard connections.count < limits.maxClients else {
                Glibc.close(fd)
                continue
            }
            lastSerial += 1
            connections[fd] = Connection(fd: fd, serial: lastSerial)
            do {
                try loop.watch(fd, for: .readable) { [weak self] ready in self?.service(fd, ready) }
            } catch {
                connections[fd] = nil
                Glibc.close(fd)
            }
        }
    }

    private func service(_ fd: Int32, _ ready: Readiness) {
        guard let c = connections[fd] else { return }
        if ready.contains(.writable) || ready.contains(.error) { flushOutput(c) }
        guard connections[fd] != nil else { return }
        if ready.contains(.readable) || ready.contains(.hangup), !c.peerClosed, !c.closeWhenFlushed {
            let scratch = loop.scratch
            let n = read(fd, scratch.baseAddress, scratch.count)
            if n > 0 {
                c.input.append(contentsOf: UnsafeRawBufferPointer(rebasing: scratch[0..<n]))
            } else if n == 0 || (errno != EAGAIN && errno != EINTR) {
                c.peerClosed = true
            }
            processLines(c)
        }
        settle(c)
    }

    private func processLines(_ c: Connection) {
        c.processing = true
        defer {
            c.processing = false
            if c.consumed > 0 {
                c.input.removeFirst(min(c.consumed, c.input.count))
                c.consumed = 0
            }
        }
        while !c.awaitingReply && !c.closeWhenFlushed && connections[c.fd] != nil {
            guard let newline = c.input[c.consumed...].firstIndex(of: 0x0A) else {
                let pending = c.input.count - c.consumed
                if pending > limits.maxLineBytes {
                    refuseLongLine(c)
                } else if c.peerClosed && pending > 0 {
                    // A last request without a newline (e.g. `printf ... | nc -U`) still counts.
                    c.input.append(0x0A)
                    continue
                }
                return
            }
            let line = Array(c.input[c.consumed..<newline])
            c.consumed = newline + 1
            if line.count > limits.maxLineBytes {
                refuseLongLine(c)
                return
            }
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { continue }
            switch ControlRequest.parse(line: line) {
            case .failure(let failure):
                send(.failure(failure), to: c)
            case .success(let request):
                c.awaitingReply = true
                handler(request, ControlResponder(server: self, fd: c.fd, serial: c.serial))
            }
        }
    }

    private func refuseLongLine(_ c: Connection) {
        c.input = []
        c.consumed = 0
        send(.failure(ControlFailure(.lineTooLong, "request line longer than \(limits.maxLineBytes) bytes")), to: c)
        c.closeWhenFlushed = true
    }

    /// Delivers a reply for a request of the connection (ignored when the client is gone).
    fileprivate func deliver(_ reply: ControlReply, fd: Int32, serial: UInt64) {
        // The serial tells a reused fd number from the connection that asked.
        guard let c = connections[fd], c.serial == serial, c.awaitingReply else { return }
        c.awaitingReply = false
        send(reply, to: c)
        guard connections[fd] != nil, !c.processing else { return }
        processLines(c)
        settle(c)
    }

    private func send(_ reply: ControlReply, to c: Connection) {
        c.output.append(contentsOf: Array(reply.serialized().utf8))
        c.output.append(0x0A)
        flushOutput(c)
        if connections[c.fd] != nil && c.output.count > limits.maxPendingReplyBytes { drop(c.fd) }
    }

    private func flushOutput(_ c: Connection) {
        while !c.output.isEmpty {
            let n = c.output.withUnsafeBytes { director_send(c.fd, $0.baseAddress, UInt($0.count)) }
            if n == -Int(EAGAIN) { return }
            if n < 0 { drop(c.fd); return }
            c.output.removeFirst(n)
        }
    }

    /// Closes finished connections and sets the epoll interest to what the connection needs.
    private func settle(_ c: Connection) {
        guard connections[c.fd] != nil else { return }
        let finished = c.output.isEmpty && (c.closeWhenFlushed || (c.peerClosed && !c.awaitingReply && c.input.count == c.consumed))
        if finished { drop(c.fd); return }
        var interest: Readiness = []
        if !c.peerClosed && !c.closeWhenFlushed { interest.insert(.readable) }
        if !c.output.isEmpty { interest.insert(.writable) }
        loop.update(c.fd, interest: interest)
    }

    private func drop(_ fd: Int32) {
        guard connections.removeValue(forKey: fd) != nil else { return }
        loop.unwatch(fd)
        Glibc.close(fd)
    }
}

/// Answers one request. Copyable and cheap; replying twice or after the client left is
/// ignored.
public struct ControlResponder {
    fileprivate weak var server: ControlServer?
    fileprivate let fd: Int32
    fileprivate let serial: UInt64

    /// Sends the reply (on the loop's thread).
    public func reply(_ reply: ControlReply) {
        server?.deliver(reply, fd: fd, serial: serial)
    }
}
