#if canImport(Glibc)
import Glibc
#endif
import CDirectorSys
import DirectorCore

/// The daemon's control socket: `<state>/control.sock`, mode 0600, one JSON object per line
/// each way (DESIGN §5).
///
/// Every client has its own bounded buffers: a line longer than `maxLineBytes` gets a
/// `line_too_long` reply and the connection is closed; a client that does not read its replies
/// is dropped once `maxPendingReplyBytes` pile up. Malformed lines get `bad_json` /
/// `bad_request` replies and the connection stays usable. Requests of one client are answered
/// in order: while one waits for its (possibly deferred) reply, later lines stay buffered.
package final class ControlServer {
    /// Limits per client.
    package struct Limits: Sendable, Hashable {
        /// The longest request line.
        package var maxLineBytes = 1 << 20
        /// Reply bytes a client may leave unread before it is dropped.
        package var maxPendingReplyBytes = 1 << 20
        /// Simultaneous clients. When all are taken, the longest-idle client is dropped for a
        /// new one; when none is idle (all wait for replies), the new one gets a `busy` reply.
        package var maxClients = 128
        /// A client that has sent nothing and awaits no reply for this long is dropped.
        package var idleTimeout: Duration = .seconds(30)
        /// The defaults.
        package init() {}
    }

    /// Receives each request; must eventually call `responder.reply` exactly once (at once,
    /// or later on the loop, e.g. when a reload finished).
    package typealias Handler = (ControlRequest, ControlResponder) -> Void

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
        /// When it last sent bytes or was answered.
        var lastActive: Instant
        init(fd: Int32, serial: UInt64, now: Instant) {
            self.fd = fd
            self.serial = serial
            self.lastActive = now
        }

        /// Nothing in flight: no request being answered, no half-received line.
        var isIdle: Bool { !awaitingReply && input.count == consumed && output.isEmpty }
    }

    private let loop: EventLoop
    private let listenFD: Int32
    private let limits: Limits
    private let handler: Handler
    private var connections: [Int32: Connection] = [:]
    private var lastSerial: UInt64 = 0
    private var closed = false
    /// An fd kept open to be given up when accept fails for lack of descriptors: the waiting
    /// client can then be accepted, told why, and closed, instead of staying in the backlog
    /// and keeping the listener readable (a busy loop of failing `accept4`).
    private var reserveFD: Int32 = -1
    private var listenerPaused = false
    private static let sweepKey = "director.control.idle-sweep"
    private static let resumeKey = "director.control.resume-accept"

    /// Clients dropped because they were idle too long or made room for a new one.
    package private(set) var droppedIdle = 0
    /// Clients refused with a `busy` reply.
    package private(set) var refused = 0

    /// The socket's path.
    package let path: String

    /// `<stateDirectory>/control.sock`.
    package static func socketPath(stateDirectory: String) -> String { stateDirectory + "/control.sock" }

    /// Listens on `path`. A socket file left by a dead daemon is replaced; one that a live
    /// daemon answers on is an `address_in_use` error.
    package init(path: String, loop: EventLoop, limits: Limits = Limits(), handler: @escaping Handler) throws(RuntimeError) {
        try Self.removeStaleSocket(path)
        let fd = director_unix_listen(path, 64)
        guard fd >= 0 else { throw .system("listen on \(path)", errno: -fd) }
        self.loop = loop
        self.listenFD = fd
        self.limits = limits
        self.handler = handler
        self.path = path
        reserveFD = open("/dev/null", O_RDONLY | O_CLOEXEC)
        try loop.watch(fd, for: .readable) { [weak self] _ in self?.acceptClients() }
    }

    /// A server whose handler answers synchronously.
    package convenience init(path: String, loop: EventLoop, limits: Limits = Limits(), reply: @escaping (ControlRequest) -> ControlReply) throws(RuntimeError) {
        try self.init(path: path, loop: loop, limits: limits) { request, responder in responder.reply(reply(request)) }
    }

    deinit { close() }

    /// Connected clients.
    package var clientCount: Int { connections.count }

    /// Stops listening, drops every client and removes the socket file. Idempotent.
    package func close() {
        guard !closed else { return }
        closed = true
        for fd in Array(connections.keys) { drop(fd) }
        loop.unwatch(listenFD)
        loop.cancelTimer(Self.sweepKey)
        loop.cancelTimer(Self.resumeKey)
        Glibc.close(listenFD)
        if reserveFD >= 0 { Glibc.close(reserveFD) }
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
            guard fd >= 0 else {
                if DescriptorLimit.isExhaustion(-fd) { shedClientWithoutDescriptors() }
                return
            }
            if connections.count >= limits.maxClients && !makeRoom() {
                refuse(fd, "too many control clients (\(connections.count) busy); try again")
                continue
            }
            lastSerial += 1
            connections[fd] = Connection(fd: fd, serial: lastSerial, now: loop.now)
            do {
                try loop.watch(fd, for: .readable) { [weak self] ready in self?.service(fd, ready) }
            } catch {
                connections[fd] = nil
                Glibc.close(fd)
            }
            armSweep()
        }
    }

    /// Drops the longest-idle client to make room for a new one; false when none is idle.
    private func makeRoom() -> Bool {
        guard let oldest = connections.values.filter(\.isIdle).min(by: { $0.lastActive < $1.lastActive }) else {
            return false
        }
        droppedIdle += 1
        drop(oldest.fd)
        return true
    }

    /// Tells a client it cannot be served now, and closes it.
    private func refuse(_ fd: Int32, _ message: String) {
        refused += 1
        var line = Array(ControlReply.failure(ControlFailure(.busy, message)).serialized().utf8)
        line.append(0x0A)
        _ = line.withUnsafeBytes { director_send(fd, $0.baseAddress, UInt($0.count)) }
        // Read what the client already sent: closing with unread data would reset the
        // connection and could lose the reply.
        Glibc.shutdown(fd, Int32(SHUT_WR))
        _ = read(fd, loop.scratch.baseAddress, loop.scratch.count)
        Glibc.close(fd)
    }

    /// accept failed with EMFILE/ENFILE: give up the reserve fd for a moment to accept the
    /// waiting client and refuse it; if even that fails, stop listening for 100 ms.
    private func shedClientWithoutDescriptors() {
        if reserveFD >= 0 {
            Glibc.close(reserveFD)
            reserveFD = -1
            let fd = director_accept(listenFD)
            if fd >= 0 { refuse(fd, "the daemon is out of file descriptors; try again") }
            reserveFD = open("/dev/null", O_RDONLY | O_CLOEXEC)
            if fd >= 0 { return }
        }
        guard !listenerPaused else { return }
        listenerPaused = true
        loop.update(listenFD, interest: [])
        loop.setTimer(Self.resumeKey, at: loop.now + .milliseconds(100)) { [weak self] in
            guard let self, !self.closed else { return }
            self.listenerPaused = false
            if self.reserveFD < 0 { self.reserveFD = open("/dev/null", O_RDONLY | O_CLOEXEC) }
            self.loop.update(self.listenFD, interest: .readable)
        }
    }

    /// While clients are connected, drops those idle for longer than `idleTimeout`.
    private func armSweep() {
        guard !connections.isEmpty, !loop.isTimerArmed(Self.sweepKey) else { return }
        let period = max(limits.idleTimeout / 2, .milliseconds(10))
        loop.setTimer(Self.sweepKey, at: loop.now + period) { [weak self] in self?.sweep() }
    }

    private func sweep() {
        let now = loop.now
        for c in Array(connections.values) where c.isIdle && now - c.lastActive >= limits.idleTimeout {
            droppedIdle += 1
            drop(c.fd)
        }
        armSweep()
    }

    private func service(_ fd: Int32, _ ready: Readiness) {
        guard let c = connections[fd] else { return }
        if ready.contains(.writable) || ready.contains(.error) { flushOutput(c) }
        guard connections[fd] != nil else { return }
        if ready.contains(.readable) || ready.contains(.hangup), !c.peerClosed, !c.closeWhenFlushed {
            let scratch = loop.scratch
            let n = read(fd, scratch.baseAddress, scratch.count)
            if n > 0 {
                c.lastActive = loop.now
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
        c.lastActive = loop.now
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
package struct ControlResponder {
    fileprivate weak var server: ControlServer?
    fileprivate let fd: Int32
    fileprivate let serial: UInt64

    /// Sends the reply (on the loop's thread).
    package func reply(_ reply: ControlReply) {
        server?.deliver(reply, fd: fd, serial: serial)
    }
}
