#if canImport(Glibc)
import Glibc
#endif
import DirectorCore
import DirectorManifest
import Testing
@testable import DirectorRuntime

@Suite struct LineSplitterTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var chunks: [String]
        var expected: [String]  // cut lines end with "|cut"
        var testDescription: String { chunks.description }
    }

    @Test(arguments: [
        Case(chunks: ["a\nb\n"], expected: ["a", "b"]),
        Case(chunks: ["a", "b\nc"], expected: ["ab", "c"]),
        Case(chunks: ["\n\n"], expected: ["", ""]),
        Case(chunks: ["abcd\n"], expected: ["abcd"]),
        Case(chunks: ["abcd"], expected: ["abcd"]),
        Case(chunks: ["abcdefg\nhi\n"], expected: ["abcd|cut", "hi"]),
        Case(chunks: ["abc", "defg", "h\nxy"], expected: ["abcd|cut", "xy"]),
        Case(chunks: ["ab", "cde"], expected: ["abcd|cut"]),
        Case(chunks: ["abcdefghijklmnop", "qrstuvwxyz", "\n", "ok\n"], expected: ["abcd|cut", "ok"]),
    ])
    func splitsCutsAndFlushes(c: Case) {
        var splitter = LineSplitter(maxLineBytes: 4)
        var lines: [String] = []
        let emit: (ArraySlice<UInt8>, Bool) -> Void = { bytes, cut in
            lines.append(String(decoding: bytes, as: UTF8.self) + (cut ? "|cut" : ""))
        }
        for chunk in c.chunks { splitter.feed(Array(chunk.utf8), emit: emit) }
        splitter.finish(emit: emit)
        #expect(lines == c.expected)
    }

    @Test func defaultLimitIs64KiB() {
        var splitter = LineSplitter()
        var lines: [(Int, Bool)] = []
        splitter.feed([UInt8](repeating: 0x61, count: 200_000) + [0x0A, 0x62, 0x0A]) { lines.append(($0.count, $1)) }
        #expect(lines.map(\.0) == [65_536, 1])
        #expect(lines.map(\.1) == [true, false])
    }
}

/// A sink writing into a pipe that the test drains every turn.
private final class CapturedStdout {
    let sink: OutputSink
    let readFD: Int32
    let writeFD: Int32
    private var bytes: [UInt8] = []

    init(loop: EventLoop, capacity: Int = 1 << 20, drain: Bool = true) throws {
        let fds = try FileDescriptors.outputPipe()
        readFD = fds.read
        writeFD = fds.write
        sink = OutputSink(fd: writeFD, loop: loop, capacity: capacity)
        if drain { loop.addEndOfTurnHook { [unowned self] in self.drain() } }
    }

    func drain() {
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = read(readFD, &buffer, buffer.count)
            guard n > 0 else { return }
            bytes += buffer[0..<n]
        }
    }

    var lines: [Substring] {
        String(decoding: bytes, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).dropLast().map { $0 }
    }

    deinit {
        close(readFD)
        close(writeFD)
    }
}

@Suite struct OutputPipeTests {
    /// Spawns children, pipes both streams through `OutputPipe`s and runs the loop until every
    /// stream reached EOF and every child was reaped.
    private func capture(_ specs: [LaunchSpec], stdout: CapturedStdout, loop: EventLoop) throws -> [DirectorCore.ChildExitStatus] {
        let reaper = ProcessReaper(loop: loop)
        var open = 0
        var statuses: [DirectorCore.ChildExitStatus] = []
        var guards: [ChildGuard] = []
        defer { guards.removeAll() }
        func checkDone() { if open == 0 && statuses.count == specs.count { loop.stop() } }
        for spec in specs {
            let child = try ChildGuard(spec)
            guards.append(child)
            for (fd, stream, filter) in [(child.process.stdoutFD, ChildStream.stdout, spec.log.stdout), (child.process.stderrFD, .stderr, spec.log.stderr)] {
                open += 1
                _ = try OutputPipe(fd: dup(fd), id: spec.id.description, stream: stream, filter: filter, sink: stdout.sink, loop: loop) {
                    open -= 1
                    checkDone()
                }
            }
            try reaper.track(pid: child.pid, pidfd: dup(child.process.pidfd)) { statuses.append($0); checkDone() }
        }
        try loop.run(until: loop.now + .seconds(60))
        for _ in 0..<10_000 {
            stdout.sink.flush()
            stdout.drain()
            if stdout.sink.pendingBytes == 0 { break }
        }
        return statuses
    }

    @Test func linesArePrefixedFilteredAndTheLastLineIsFlushed() throws {
        let loop = try EventLoop()
        let stdout = try CapturedStdout(loop: loop)
        var spec = launch(["/bin/sh", "-c", "printf 'keep 1\\nskip\\nkeep secret\\nerr\\n' ; printf 'oops\\n' >&2; printf 'keep last'"], id: "web/api/3")
        spec.log.stdout = LineFilter(include: [try LinePattern("^keep")], exclude: [try LinePattern("secret")])
        spec.log.stderr = LineFilter()
        let statuses = try capture([spec], stdout: stdout, loop: loop)
        #expect(statuses == [.code(0)])
        #expect(stdout.lines.sorted() == ["web/api/3 stderr: oops", "web/api/3 stdout: keep 1", "web/api/3 stdout: keep last"])
    }

    @Test func aHugeLineIsCutAndMarked() throws {
        let loop = try EventLoop()
        let stdout = try CapturedStdout(loop: loop)
        let spec = launch(["/bin/sh", "-c", "head -c 200000 /dev/zero | tr '\\0' y; echo; echo after"])
        _ = try capture([spec], stdout: stdout, loop: loop)
        let lines = stdout.lines
        #expect(lines.count == 2)
        let expected = "t/job/0 stdout: " + String(repeating: "y", count: 65_536) + " [cut]"
        #expect(lines.first.map { $0 == expected } == true, "first line: \(lines.first?.count ?? 0) bytes, ends \(lines.first?.suffix(10) ?? "")")
        #expect(lines.last == "t/job/0 stdout: after")
    }

    @Test func aFastChildDoesNotStarveAnother() throws {
        let loop = try EventLoop()
        let stdout = try CapturedStdout(loop: loop, capacity: 4 << 20)
        // 10 MB in 99-character lines: 101 010 full lines and a last one of 10 characters
        // without a newline.
        let noisy = launch(["/bin/sh", "-c", "head -c 10000000 /dev/zero | tr '\\0' x | fold -w 99"], id: "t/noisy/0")
        let quiet = launch(["/bin/sh", "-c", "for i in 1 2 3; do echo q$i; sleep 0.05; done"], id: "t/quiet/0")
        let statuses = try capture([noisy, quiet], stdout: stdout, loop: loop)
        #expect(statuses.count == 2)
        let lines = stdout.lines
        let noisyLines = lines.filter { $0.hasPrefix("t/noisy/0 stdout: ") }.count
        let dropped = lines.filter { $0.hasPrefix("... ") }.compactMap { Int($0.split(separator: " ")[1]) }.reduce(0, +)
        #expect(noisyLines + dropped == 101_011)
        #expect(dropped == stdout.sink.droppedLines)
        let quietLines = lines.filter { $0.hasPrefix("t/quiet/0 stdout: ") }
        #expect(quietLines == ["t/quiet/0 stdout: q1", "t/quiet/0 stdout: q2", "t/quiet/0 stdout: q3"])
        // The quiet child's first line got out while the noisy one was still writing.
        let firstQuiet = lines.firstIndex(of: "t/quiet/0 stdout: q1")!
        let lastNoisy = lines.lastIndex { $0.hasPrefix("t/noisy/0") }!
        #expect(firstQuiet < lastNoisy)
    }
}

/// Regression: a pipe created without an `onClose` callback was never closed at EOF (the
/// callback doubled as the "still open" flag), so the daemon leaked two fds per spawn and
/// spun on the readable EOF.
@Suite struct OutputPipeCloseTests {
    @Test func aPipeWithoutCallbackClosesAtEndOfFile() throws {
        let loop = try EventLoop()
        let pair = try FileDescriptors.outputPipe()
        let fds = [pair.read, pair.write]
        let stdout = try CapturedStdout(loop: loop)
        _ = try OutputPipe(fd: fds[0], id: "g/j/0", stream: .stdout, filter: LineFilter(), sink: stdout.sink, loop: loop)
        let watched = loop.watchedCount
        _ = "last line without newline".withCString { write(fds[1], $0, strlen($0)) }
        close(fds[1])
        // The pipe's fd number may be reused by a test running in parallel once it is closed,
        // so the loop's own registration count is what tells that it was closed.
        for _ in 0..<20 where loop.watchedCount == watched {
            try loop.turn(notAfter: loop.now + .milliseconds(50))
        }
        #expect(loop.watchedCount == watched - 1, "the read end must be unwatched and closed at EOF")
    }
}

@Suite struct OutputSinkTests {
    @Test func aBlockedStdoutDropsAndCountsLinesThenSaysSo() throws {
        let loop = try EventLoop()
        let stdout = try CapturedStdout(loop: loop, capacity: 1000, drain: false)
        _ = fcntl(stdout.writeFD, 1031 /* F_SETPIPE_SZ */, 4096)
        let line = String(repeating: "z", count: 98)
        for _ in 0..<200 { stdout.sink.write(line: line) }
        stdout.sink.flush()
        #expect(stdout.sink.droppedLines > 0)
        let droppedWhileBlocked = stdout.sink.droppedLines
        // The reader catches up: drain and flush until everything is out.
        for _ in 0..<100 where stdout.sink.pendingBytes > 0 || stdout.lines.last?.hasPrefix("...") != true {
            stdout.drain()
            stdout.sink.flush()
        }
        stdout.drain()
        let lines = stdout.lines
        #expect(lines.last == "... \(droppedWhileBlocked) lines dropped")
        #expect(lines.filter { $0 == line }.count + droppedWhileBlocked == 200)
    }
}
