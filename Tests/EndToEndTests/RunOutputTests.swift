import Foundation
import Testing

/// Children's output in the daemon's stdout: prefixed lines, per-stream filters, long lines
/// cut and marked, and a fast writer that does not hold up anybody else.
@Suite(.serialized) struct RunOutputTests {
    @Test func linesArePrefixedWithTheChildIdAndFilteredPerStream() throws {
        let d = try DaemonHarness(files: ["g.yaml": """
            group: g
            jobs:
              - name: talk
                command: "echo keep-1; echo skip-me; echo other; echo DEBUG noisy >&2; echo warn-1 >&2; echo done >&2; exec sleep 3600"
                log:
                  stdout: {include: ["^keep", "^other"], exclude: ["other"]}
                  stderr: {exclude: ["^DEBUG"]}
              - name: plain
                command: "echo hello; echo oops >&2; exec sleep 3600"
            """])
        defer { d.stop() }
        try d.start()
        try d.waitForStdout("g/talk/0 stderr: done")
        let out = try d.waitForStdout("g/plain/0 stderr: oops")
        // The two streams are separate pipes: each keeps its order, their interleaving is free.
        let lines = out.split(separator: "\n")
        #expect(lines.filter { $0.hasPrefix("g/talk/0 stdout: ") } == ["g/talk/0 stdout: keep-1"],
            "include keeps keep-* and other*, then exclude drops other")
        #expect(lines.filter { $0.hasPrefix("g/talk/0 stderr: ") } == ["g/talk/0 stderr: warn-1", "g/talk/0 stderr: done"],
            "stderr drops ^DEBUG")
        #expect(out.contains("g/plain/0 stdout: hello\n"))
        #expect(!d.daemonStderr.contains("hello"), "children's lines go to stdout, not the daemon log")
    }

    @Test func aHundredKibLineIsCutAndMarked() throws {
        let d = try DaemonHarness(files: ["g.yaml": """
            group: g
            jobs:
              - name: long
                command: "head -c 102400 /dev/zero | tr '\\\\0' a; echo; echo after-the-long-line; exec sleep 3600"
            """])
        defer { d.stop() }
        try d.start()
        let out = try d.waitForStdout("g/long/0 stdout: after-the-long-line")
        let lines = out.split(separator: "\n", omittingEmptySubsequences: false).filter { $0.hasPrefix("g/long/0 ") }
        #expect(lines.count == 2, "the long line is one cut line, its rest dropped: \(lines.map { $0.prefix(40) })")
        let long = try #require(lines.first)
        let prefix = "g/long/0 stdout: "
        #expect(long.hasPrefix(prefix))
        #expect(long.hasSuffix(" [cut]"))
        let body = long.dropFirst(prefix.count).dropLast(" [cut]".count)
        #expect(body.count == 64 * 1024, "cut at 64 KiB")
        #expect(body.allSatisfy { $0 == "a" })
    }

    @Test func aFastWriterDoesNotStopAnotherChildsLines() throws {
        // `yes` writes as fast as the daemon reads; its lines are filtered out so the test does
        // not fill the disk, but every byte still goes through the daemon's loop.
        let d = try DaemonHarness(files: ["g.yaml": """
            group: g
            jobs:
              - name: flood
                command: ["yes", "spam"]
                log:
                  stdout: {exclude: ["^spam$"]}
              - name: ticker
                command: "sleep 0.5; for i in 1 2 3 4 5; do echo tick-$i; sleep 0.2; done; exec sleep 3600"
            """])
        defer { d.stop() }
        try d.start()
        try d.waitRunning(2, prefix: "g")
        let out = try d.waitForStdout("g/ticker/0 stdout: tick-5", timeout: 20)
        let ticks = out.split(separator: "\n").filter { $0.hasPrefix("g/ticker/0 ") }
        #expect(ticks.map(String.init) == (1...5).map { "g/ticker/0 stdout: tick-\($0)" })
        #expect(!out.contains("spam"))
        // The flood really flowed: the daemon read far more than a pipe buffer from it.
        let daemon = try #require(d.daemonPID)
        let io = try String(contentsOfFile: "/proc/\(daemon)/io", encoding: .utf8)
        let rchar = io.split(separator: "\n").first { $0.hasPrefix("rchar:") }.flatMap { Int($0.split(separator: " ").last ?? "") } ?? 0
        #expect(rchar > 1 << 20, "daemon read \(rchar) bytes")
        // And the operator is still served while the flood goes on.
        let r = try d.cli("stop", ["g/flood/0"])
        #expect(r.status == 0, "\(r.stderr)")
        try d.waitForRow("g/flood/0", "stopped") { $0["state"] as? String == "stopped" }
    }
}
