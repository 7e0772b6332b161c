import Foundation
import Testing

/// `log.file`: `<state>/logs/<id>.log`, rotated by size, filtered like stdout, off with
/// `file: false`, reopened on SIGUSR1, never blocking on a full disk; and `director logs`.
@Suite(.serialized) struct LogFileTests {
    static func lines(_ path: String) -> [Substring] {
        ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").split(separator: "\n")
    }

    static func size(_ path: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.intValue ?? -1
    }

    @Test func filesAreWrittenRotatedFilteredAndReadBack() throws {
        let d = try DaemonHarness(files: ["g.yaml": """
            group: g
            jobs:
              - name: api
                command: "echo up; echo oops >&2; exec sleep 3600"
                instances: 2
              - name: noisy
                command: "i=0; while [ $i -lt 2000 ]; do echo line $i; i=$((i+1)); done; echo finished; exec sleep 3600"
                log: {max_size: 8K, keep: 2, stdout: {exclude: ["5$"]}}
              - name: quiet
                command: "echo hidden; exec sleep 3600"
                log: {file: false}
            """])
        defer { d.stop() }
        try d.start()
        try d.waitForStdout("g/noisy/0 stdout: finished")
        let logs = d.state + "/logs/g"
        try #require(eventually("the last noisy line in its file") { Self.lines(logs + "/noisy/0.log").last?.hasSuffix(" stdout finished") == true })
        let api = Self.lines(logs + "/api/0.log")
        #expect(api.count == 2 && api.contains { $0.hasSuffix(" stdout up") } && api.contains { $0.hasSuffix(" stderr oops") }, "\(api)")
        #expect(tableMillis(String(api.first?.prefix(24) ?? "")) != nil, "each line starts with its time")
        // Rotated at 8 KiB, two old files kept, the filter applied to the file too.
        let files = try FileManager.default.contentsOfDirectory(atPath: logs + "/noisy").sorted()
        #expect(files == ["0.log", "0.log.1", "0.log.2"], "\(files)")
        for f in files { #expect(Self.size(logs + "/noisy/" + f) <= 8192) }
        let kept = files.flatMap { Self.lines(logs + "/noisy/" + $0) }
        #expect(!kept.contains { $0.hasSuffix("5") }, "excluded lines are not in the file")
        #expect(!FileManager.default.fileExists(atPath: logs + "/quiet"), "file: false writes no file")
        let mode = (try FileManager.default.attributesOfItem(atPath: logs + "/api/0.log")[.posixPermissions] as? NSNumber)?.intValue
        #expect(mode == 0o600)

        let merged = try d.cli("logs", ["g/api"])
        #expect(merged.status == 0, "\(merged.stderr)")
        let out = merged.stdout.split(separator: "\n")
        #expect(out.count == 4, "\(merged.stdout)")
        #expect(out.map { $0.prefix(24) } == out.map { $0.prefix(24) }.sorted(), "merged by time")
        #expect(out.contains { $0.hasSuffix(" g/api/1 stderr: oops") })
        let last = try d.cli("logs", ["-n", "1", "g/noisy/0"])
        #expect(last.stdout.hasSuffix(" g/noisy/0 stdout: finished\n"), "\(last.stdout)")
        let errors = try d.cli("logs", ["--stream", "stderr"])
        #expect(errors.stdout.split(separator: "\n").count == 2, "\(errors.stdout)")
        let json = try d.cli("logs", ["--json", "-n", "1", "g/api/0"])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any], "\(json.stdout)")
        #expect(object["id"] as? String == "g/api/0" && object["stream"] != nil && object["msg"] != nil && object["at"] != nil)
        let since = try d.cli("logs", ["--since", "1h", "g/api/0"])
        #expect(since.stdout.split(separator: "\n").count == 2)
        let future = try d.cli("logs", ["--since", "2999-01-01T00:00:00.000Z"])
        #expect(future.status == 0 && future.stdout.isEmpty)
        let none = try d.cli("logs", ["g/quiet"])
        #expect(none.status == 1 && none.stderr.contains("no child matches g/quiet"), "\(none.stderr)")
    }

    /// `logs -f` goes on across rotations and a daemon restart: the counter a child prints
    /// arrives without a gap, and starts again from 0 with the new daemon's child.
    @Test func followGoesOnAcrossRotationsAndADaemonRestart() throws {
        let d = try DaemonHarness(files: ["g.yaml": """
            group: g
            jobs:
              - name: tick
                command: ["/bin/sh", "-c", "i=0; while true; do echo tick $i xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx; i=$((i+1)); sleep 0.005; done"]
                log: {max_size: 4K, keep: 1}
            """])
        defer { d.stop() }
        try d.start()
        try d.waitForStdout("tick 3 ")
        let output = d.dir.path + "/follow.out"
        _ = FileManager.default.createFile(atPath: output, contents: nil)
        let follower = Process()
        follower.executableURL = URL(fileURLWithPath: DirectorBinary.path)
        follower.arguments = ["logs", "-f", "--state", d.state]
        follower.standardOutput = FileHandle(forWritingAtPath: output)
        try follower.run()
        defer { if follower.isRunning { kill(follower.processIdentifier, SIGKILL); follower.waitUntilExit() } }
        usleep(1_500_000)
        d.signal(SIGTERM)
        #expect(d.waitExit() == 0)
        try d.start()
        try #require(eventually("20 lines of the new daemon's child") {
            let lines = Self.lines(output)
            guard let restart = lines.lastIndex(where: { $0.contains(" tick 0 ") }), restart > 0 else { return false }
            return lines.count - restart > 20
        })
        usleep(500_000)
        kill(follower.processIdentifier, SIGTERM)
        follower.waitUntilExit()
        #expect(follower.terminationReason == .uncaughtSignal && follower.terminationStatus == SIGTERM, "-f ends on SIGTERM")
        let numbers = Self.lines(output).compactMap { line -> Int? in
            let words = line.split(separator: " ")
            return words.count > 4 ? Int(words[4]) : nil
        }
        let restarts = zip(numbers, numbers.dropFirst()).filter { $1 != $0 + 1 }
        #expect(restarts.count == 1 && restarts.first?.1 == 0, "one restart from 0, no gap: \(restarts) in \(numbers.count) lines")
        #expect(numbers.count > 60, "\(numbers.count) lines")
        let rotations = try FileManager.default.contentsOfDirectory(atPath: d.state + "/logs/g/tick")
        #expect(rotations.contains("0.log.1"), "the file was rotated while followed")
    }

    /// After an external logrotate moved the file, SIGUSR1 makes the daemon write a new one.
    @Test func sigusr1ReopensTheFiles() throws {
        let d = try DaemonHarness(files: ["g.yaml": """
            group: g
            jobs:
              - name: tick
                command: ["/bin/sh", "-c", "while true; do echo tick; sleep 0.02; done"]
            """])
        defer { d.stop() }
        try d.start()
        let path = d.state + "/logs/g/tick/0.log"
        try #require(eventually("the file") { Self.lines(path).count >= 2 })
        try FileManager.default.moveItem(atPath: path, toPath: path + ".moved")
        usleep(200_000)
        #expect(!FileManager.default.fileExists(atPath: path), "without the signal the daemon writes on to the moved file")
        d.signal(SIGUSR1)
        try #require(eventually("a new file") { Self.lines(path).count >= 2 })
        let moved = Self.size(path + ".moved")
        usleep(200_000)
        #expect(Self.size(path + ".moved") == moved, "the moved file no longer grows")
        try d.waitForStderr("received USR1: reopening the log files")
    }

    /// A child writing 50 MB: its files stay within max_size × (keep + 1), the daemon's
    /// memory stays bounded and it keeps answering.
    @Test func fiftyMegabytesRotateWithinTheirBound() throws {
        let d = try DaemonHarness(files: ["g.yaml": """
            group: g
            jobs:
              - name: flood
                command: "head -c 52428800 /dev/zero | tr '\\\\0' x | fold -w 999; touch ../flood-done; exec sleep 3600"
                log: {max_size: 1M, keep: 3}
            """])
        defer { d.stop() }
        try d.start()
        let pid = try #require(d.runningDaemonPID)
        var maxRSS = 0
        let dir = d.state + "/logs/g/flood"
        // A marker, not the last line: under load the writer may drop lines (counted), by design.
        let done = eventually("50 MB written", timeout: 120) {
            maxRSS = max(maxRSS, ProcScan.residentKiB(pid) ?? 0)
            return FileManager.default.fileExists(atPath: d.dir.path + "/flood-done")
        }
        try #require(done)
        usleep(1_000_000)
        #expect(try d.cli("ps").status == 0)
        let files = try FileManager.default.contentsOfDirectory(atPath: dir).sorted()
        #expect(files == ["0.log", "0.log.1", "0.log.2", "0.log.3"], "\(files)")
        for f in files { #expect(Self.size(dir + "/" + f) <= 1 << 20, "\(f)") }
        #expect(maxRSS > 0 && maxRSS < 96 * 1024, "daemon VmRSS \(maxRSS) KiB")
        print("log files: 50 MB flood, daemon max VmRSS \(maxRSS) KiB")
    }
}
