#if canImport(Glibc)
import Glibc
#endif
import CDirectorSys
import DirectorCore
import DirectorTable
import Synchronization
import Testing
@testable import DirectorRuntime

/// A raw, non-blocking test client that lets the test drive the server's loop in between.
private final class RawClient {
    let fd: Int32
    private var received: [UInt8] = []
    private(set) var closedByServer = false

    init(path: String) throws {
        fd = director_unix_connect(path)
        guard fd >= 0 else { throw RuntimeError.system("connect", errno: -fd) }
        FileDescriptors.setNonBlocking(fd)
    }

    deinit { close(fd) }

    func send(_ text: String) {
        var bytes = Array(text.utf8)
        var sent = 0
        while sent < bytes.count {
            let n = bytes.withUnsafeMutableBytes { director_send(fd, $0.baseAddress! + sent, UInt($0.count - sent)) }
            guard n > 0 else { return }
            sent += n
        }
    }

    /// Runs the loop until `count` reply lines arrived (or EOF, or 5 s).
    func replies(_ count: Int, loop: EventLoop) throws -> [String] {
        var buffer = [UInt8](repeating: 0, count: 65536)
        for _ in 0..<500 {
            if lines.count >= count || closedByServer { break }
            try loop.turn(notAfter: loop.now + .milliseconds(10))
            let n = read(fd, &buffer, buffer.count)
            if n > 0 { received += buffer[0..<n] } else if n == 0 { closedByServer = true }
        }
        return lines
    }

    var lines: [String] {
        String(decoding: received, as: UTF8.self).split(separator: "\n").map(String.init)
    }
}

private func code(_ line: String) -> String? {
    (try? JSONValue.parse(line))?["error"]?["code"]?.stringValue
}

@Suite struct ControlProtocolTests {
    @Test(arguments: [
        (#"{"op":"restart","ids":["web/api/1"]}"#, ControlRequest.restart(ids: ["web/api/1"])),
        (#"{"op":"restart","ids":["web/api"],"rolling":true}"#, .rollingRestart(ids: ["web/api"])),
        (#"{"op":"restart","ids":["web/api"],"rolling":false}"#, .restart(ids: ["web/api"])),
        (#"{"op":"stop","ids":["web/api","db/pg/0"]}"#, .stop(ids: ["web/api", "db/pg/0"])),
        (#"{"op":"delete","ids":["a/b/0"]}"#, .delete(ids: ["a/b/0"])),
        (#"{"op":"scale","job":"web/api","instances":8}"#, .scale(job: "web/api", instances: 8)),
        (#"{"op":"reload"}"#, .reload),
        (#"{"ids":[],"op":"shutdown"}"#, .shutdown),
    ])
    func validRequestsParseAndRoundTrip(line: String, expected: ControlRequest) throws {
        #expect(try ControlRequest.parse(line: Array(line.utf8)).get() == expected)
        #expect(try ControlRequest.parse(expected.json).get() == expected)
    }

    @Test(arguments: [
        ("hello", "bad_json"),
        (#"{"op":"#, "bad_json"),
        ("[1,2]", "bad_request"),
        (#"{"op":"explode"}"#, "bad_request"),
        (#"{"op":"restart"}"#, "bad_request"),
        (#"{"op":"restart","ids":[]}"#, "bad_request"),
        (#"{"op":"stop","ids":[1]}"#, "bad_request"),
        (#"{"op":"scale","job":"web/api","instances":-1}"#, "bad_request"),
        (#"{"op":"scale","instances":2}"#, "bad_request"),
        (#"{"op":7}"#, "bad_request"),
        (#"{"op":"restart","ids":["web/api"],"rolling":"yes"}"#, "bad_request"),
        // Duplicate keys: which one counts is undefined in JSON; the shutdown below would win.
        (#"{"op":"shutdown","op":"restart","ids":["web/api/0"]}"#, "bad_json"),
        (#"{"op":"restart","ids":["web/api/0"],"ids":["db/pg/0"]}"#, "bad_json"),
        (#"{"op":"scale","job":"web/api","instances":1e999}"#, "bad_json"),
    ])
    func invalidRequestsAreRefusedWithACode(line: String, expectedCode: String) {
        guard case .failure(let f) = ControlRequest.parse(line: Array(line.utf8)) else {
            Issue.record("\(line) parsed")
            return
        }
        #expect(f.code.rawValue == expectedCode)
        #expect(!f.message.isEmpty)
    }

    @Test func repliesSerializeAndParseBack() {
        let ok = ControlReply.ok(.array([.string("web/api/0")]))
        #expect(ok.serialized() == #"{"ok":true,"result":["web/api/0"]}"#)
        let failure = ControlReply.failure(ControlFailure(.notFound, "no child \"x\""))
        #expect(failure.serialized() == #"{"ok":false,"error":{"code":"not_found","message":"no child \"x\""}}"#)
        #expect(ControlReply.parse(line: ok.serialized()) == ok)
        #expect(ControlReply.parse(line: failure.serialized()) == failure)
        #expect(ControlReply.parse(line: "nonsense") == nil)
        // The client is as strict as the server: an ambiguous reply is no reply.
        #expect(ControlReply.parse(line: #"{"ok":false,"ok":true,"result":null}"#) == nil)
    }

    @Test func aDuplicateKeyNamesTheKeyInTheError() {
        guard case .failure(let f) = ControlRequest.parse(line: Array(#"{"op":"shutdown","op":"restart"}"#.utf8)) else {
            Issue.record("a request with two ops parsed")
            return
        }
        #expect(f.code == .badJSON)
        #expect(f.message.contains(#"duplicate key "op""#), "\(f.message)")
    }
}

/// Serialized: two tests here read or set the process's umask.
@Suite(.serialized) struct ControlServerTests {
    private func echoServer(_ dir: TempDir, loop: EventLoop, limits: ControlServer.Limits = .init()) throws(RuntimeError) -> ControlServer {
        try ControlServer(path: ControlServer.socketPath(stateDirectory: dir.path), loop: loop, limits: limits) { request in
            switch request {
            case .restart(let ids): .ok(.array(ids.map(JSONValue.string)))
            case .stop: .failure(ControlFailure(.notFound, "no such child"))
            default: .ok(.null)
            }
        }
    }

    @Test func requestsGetRepliesAndMalformedLinesDoNotBreakTheConnection() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let loop = try EventLoop()
        let server = try echoServer(dir, loop: loop)
        defer { server.close() }
        let client = try RawClient(path: server.path)
        client.send("hello\n{\"op\":\n{\"op\":\"explode\"}\n\n{\"op\":\"restart\",\"ids\":[\"web/api/1\"]}\n{\"op\":\"stop\",\"ids\":[\"x\"]}\n")
        let replies = try client.replies(5, loop: loop)
        #expect(replies.count == 5)
        #expect(replies.prefix(3).map(code) == ["bad_json", "bad_json", "bad_request"])
        #expect(replies.count > 3 && replies[3] == #"{"ok":true,"result":["web/api/1"]}"#)
        #expect(replies.count > 4 && code(replies[4]) == "not_found")
        #expect(!client.closedByServer)
    }

    @Test func aHugeLineIsRefusedAndTheConnectionClosedWhileOthersAreServed() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let loop = try EventLoop()
        var limits = ControlServer.Limits()
        limits.maxLineBytes = 4096
        let server = try echoServer(dir, loop: loop, limits: limits)
        defer { server.close() }
        let abuser = try RawClient(path: server.path)
        let good = try RawClient(path: server.path)
        abuser.send(String(repeating: "x", count: 10_000))
        let abuserReplies = try abuser.replies(1, loop: loop)
        #expect(abuserReplies.map(code) == ["line_too_long"])
        _ = try abuser.replies(2, loop: loop)  // until EOF
        #expect(abuser.closedByServer)
        good.send(#"{"op":"reload"}"# + "\n")
        #expect(try good.replies(1, loop: loop) == [#"{"ok":true,"result":null}"#])
    }

    @Test func aLastLineWithoutNewlineIsAnsweredBeforeClosing() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let loop = try EventLoop()
        let server = try echoServer(dir, loop: loop)
        defer { server.close() }
        let client = try RawClient(path: server.path)
        client.send(#"{"op":"restart","ids":["a/b/0"]}"# + "\n" + #"{"op":"restart","ids":["a/b/1"]}"#)
        shutdown(client.fd, Int32(SHUT_WR))
        let replies = try client.replies(3, loop: loop)
        #expect(replies == [#"{"ok":true,"result":["a/b/0"]}"#, #"{"ok":true,"result":["a/b/1"]}"#])
        #expect(client.closedByServer)
        #expect(server.clientCount == 0)
    }

    @Test func deferredRepliesKeepRequestOrder() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let loop = try EventLoop()
        var pending: [ControlResponder] = []
        let server = try ControlServer(path: ControlServer.socketPath(stateDirectory: dir.path), loop: loop) { request, responder in
            if request == .reload { pending.append(responder) } else { responder.reply(.ok(.string("now"))) }
        }
        defer { server.close() }
        let client = try RawClient(path: server.path)
        client.send(#"{"op":"reload"}"# + "\n" + #"{"op":"shutdown"}"# + "\n")
        #expect(try client.replies(1, loop: loop).isEmpty)
        #expect(pending.count == 1)
        pending[0].reply(.ok(.string("reloaded")))
        pending[0].reply(.ok(.string("twice")))  // ignored
        #expect(try client.replies(2, loop: loop) == [#"{"ok":true,"result":"reloaded"}"#, #"{"ok":true,"result":"now"}"#])
    }

    @Test func idleClientsTimeOutAndTheOldestIdleMakesRoomForANewOne() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let loop = try EventLoop()
        var limits = ControlServer.Limits()
        limits.maxClients = 3
        limits.idleTimeout = .milliseconds(300)
        let server = try echoServer(dir, loop: loop, limits: limits)
        defer { server.close() }
        let idle = try (0..<3).map { _ in try RawClient(path: server.path) }
        for _ in 0..<5 { try loop.turn(notAfter: loop.now + .milliseconds(5)) }
        #expect(server.clientCount == 3)
        // A fourth client while all three slots are idle: the oldest idle one goes.
        let operatorClient = try RawClient(path: server.path)
        operatorClient.send(#"{"op":"restart","ids":["a/b/0"]}"# + "\n")
        #expect(try operatorClient.replies(1, loop: loop) == [#"{"ok":true,"result":["a/b/0"]}"#])
        #expect(server.droppedIdle == 1)
        _ = try idle[0].replies(1, loop: loop)
        #expect(idle[0].closedByServer, "the longest-idle client was dropped")
        // Left alone, idle clients time out.
        let deadline = loop.now + .seconds(3)
        while server.clientCount > 0 && loop.now < deadline { try loop.turn(notAfter: loop.now + .milliseconds(50)) }
        #expect(server.clientCount == 0)
    }

    @Test func whenEverySlotAwaitsAReplyANewClientIsToldItIsBusy() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let loop = try EventLoop()
        var limits = ControlServer.Limits()
        limits.maxClients = 2
        var held: [ControlResponder] = []
        let server = try ControlServer(path: ControlServer.socketPath(stateDirectory: dir.path), loop: loop, limits: limits) {
            _, responder in held.append(responder)
        }
        defer { server.close() }
        let busy = try (0..<2).map { _ in try RawClient(path: server.path) }
        for c in busy { c.send(#"{"op":"reload"}"# + "\n") }
        for _ in 0..<10 { try loop.turn(notAfter: loop.now + .milliseconds(5)) }
        #expect(held.count == 2)
        let late = try RawClient(path: server.path)
        late.send(#"{"op":"reload"}"# + "\n")
        let replies = try late.replies(2, loop: loop)
        #expect(replies.map(code) == ["busy"])
        #expect(replies.first?.contains("too many control clients") == true)
        #expect(late.closedByServer)
        #expect(server.refused == 1)
    }

    @Test func aClientThatNeverReadsIsDropped() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let loop = try EventLoop()
        var limits = ControlServer.Limits()
        limits.maxPendingReplyBytes = 64 * 1024
        let big = JSONValue.string(String(repeating: "r", count: 16 * 1024))
        let server = try ControlServer(path: ControlServer.socketPath(stateDirectory: dir.path), loop: loop, limits: limits) { _ in .ok(big) }
        defer { server.close() }
        let client = try RawClient(path: server.path)
        for _ in 0..<2000 where server.clientCount > 0 || loop.wakeups == 0 {
            client.send(String(repeating: #"{"op":"reload"}"# + "\n", count: 20))
            try loop.turn(notAfter: loop.now + .milliseconds(5))
        }
        #expect(server.clientCount == 0)
        // The daemon still serves others.
        let other = try RawClient(path: server.path)
        other.send(#"{"op":"reload"}"# + "\n")
        #expect(try other.replies(1, loop: loop).count == 1)
    }

    @Test func theSocketIsMode0600WhateverTheUmask() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let loop = try EventLoop()
        let old = umask(0)
        defer { umask(old) }
        let server = try echoServer(dir, loop: loop)
        defer { server.close() }
        var st = stat()
        #expect(stat(server.path, &st) == 0)
        #expect(st.st_mode & 0o777 == 0o600)
        #expect(st.st_mode & S_IFMT == S_IFSOCK)
    }

    @Test func listeningNeverNarrowsTheUmaskOfOtherThreads() throws {
        // The umask is the whole process's: narrowing it around bind, even briefly, made a
        // file another thread created meanwhile (a test's executable script) mode 0600.
        let dir = TempDir()
        defer { dir.cleanup() }
        let before = umask(0o022)
        defer { umask(before) }
        final class Flag: Sendable {
            let stop = Atomic<Bool>(false)
            let narrowed = Atomic<Int>(0)
        }
        let flag = Flag()
        let path = dir.path
        let creator = onThread {
            var n = 0
            while !flag.stop.load(ordering: .relaxed) && n < 200_000 {
                let name = path + "/f\(n % 8)"
                unlink(name)
                let fd = open(name, O_WRONLY | O_CREAT | O_CLOEXEC, 0o755)
                var st = stat()
                if fd >= 0 && fstat(fd, &st) == 0 && st.st_mode & 0o777 != 0o755 {
                    flag.narrowed.add(1, ordering: .relaxed)
                }
                close(fd)
                n += 1
            }
        }
        for i in 0..<2_000 {
            let socket = path + "/s\(i % 4).sock"
            unlink(socket)
            let fd = director_unix_listen(socket, 1)
            #expect(fd >= 0)
            close(fd)
        }
        flag.stop.store(true, ordering: .relaxed)
        pthread_join(creator, nil)
        let narrowed = flag.narrowed.load(ordering: .relaxed)
        #expect(narrowed == 0, "\(narrowed) files created with a narrowed umask")
    }

    @Test func aStaleSocketIsReplacedButALiveOneIsNot() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let path = ControlServer.socketPath(stateDirectory: dir.path)
        // A dead daemon's socket: bound, then closed without unlinking.
        let stale = director_unix_listen(path, 1)
        #expect(stale >= 0)
        close(stale)
        let loop = try EventLoop()
        let server = try echoServer(dir, loop: loop)
        defer { server.close() }
        do {
            _ = try echoServer(dir, loop: loop)
            Issue.record("a second server took over a live socket")
        } catch {
            #expect(error.code == .addressInUse)
        }
        server.close()
        #expect(access(path, F_OK) != 0)
    }
}

/// Runs `body` on a new thread (the blocking client must not run on the loop's thread).
private func onThread(_ body: @escaping @Sendable () -> Void) -> pthread_t {
    final class Box: @unchecked Sendable { let body: @Sendable () -> Void; init(_ b: @escaping @Sendable () -> Void) { body = b } }
    var thread = pthread_t()
    let box = Unmanaged.passRetained(Box(body)).toOpaque()
    pthread_create(&thread, nil, { raw in
        let box = Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue()
        box.body()
        return nil
    }, box)
    return thread
}

@Suite struct ControlClientTests {
    @Test func noDaemonIsAClearError() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        for stale in [false, true] {
            if stale { close(director_unix_listen(ControlServer.socketPath(stateDirectory: dir.path), 1)) }
            do {
                _ = try ControlClient(stateDirectory: dir.path).send(.reload)
                Issue.record("sent without a daemon")
            } catch {
                #expect(error.code == .noDaemon)
                #expect(error.message == "no daemon is running for state directory \(dir.path)")
            }
        }
    }

    @Test func aRequestRoundTripsThroughTheDaemon() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let loop = try EventLoop()
        var seen: [ControlRequest] = []
        let server = try ControlServer(path: ControlServer.socketPath(stateDirectory: dir.path), loop: loop) { request in
            seen.append(request)
            return .failure(ControlFailure(.notFound, "no child web/api/9"))
        }
        defer { server.close() }
        let result = Mutex<Result<ControlReply, RuntimeError>?>(nil)
        let path = dir.path
        let thread = onThread {
            let r = Result { () throws(RuntimeError) in try ControlClient(stateDirectory: path, timeout: .seconds(5)).send(.scale(job: "web/api", instances: 3)) }
            result.withLock { $0 = r }
        }
        for _ in 0..<500 where result.withLock({ $0 == nil }) {
            try loop.turn(notAfter: loop.now + .milliseconds(10))
        }
        pthread_join(thread, nil)
        #expect(seen == [.scale(job: "web/api", instances: 3)])
        #expect(try result.withLock { $0 }?.get() == .failure(ControlFailure(.notFound, "no child web/api/9")))
    }

    @Test func aSilentDaemonTimesOut() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        // Listening but never accepting: the connect succeeds (backlog), no reply ever comes.
        let fd = director_unix_listen(ControlServer.socketPath(stateDirectory: dir.path), 4)
        defer { close(fd) }
        do {
            _ = try ControlClient(stateDirectory: dir.path, timeout: .milliseconds(200)).send(.reload)
            Issue.record("got a reply")
        } catch {
            #expect(error.code == .timeout)
        }
    }
}
