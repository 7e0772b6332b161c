import Foundation
import Testing

/// Children that misbehave: the daemon stops them anyway, reaps everything, keeps its memory
/// bounded, accounts for every exit and answers its control socket throughout.
@Suite(.serialized) struct FaultChildrenTests {
    /// The slowest control round trip the suite accepts on this shared 2-core machine.
    static let responsivenessBound = 1.0

    static func job(_ dir: String, _ name: String, _ command: String, extra: String = "") -> String {
        """
          - name: \(name)
            command: \(command)
            env: {FAULT_RUN: "\(dir)"}
        \(extra)

        """
    }

    @Test func childIgnoringSIGTERMIsKilledAfterTheShutdownTimeout() throws {
        let d = try DaemonHarness(files: [:])
        try d.write("bad.yaml", "group: bad\njobs:\n" + Self.job(d.dir.path, "deaf", #"["sh", "-c", "trap '' TERM; exec sleep 3600"]"#,
            extra: "    shutdown: {signal: TERM, timeout: 1s}"))
        defer { d.stop(); ProcScan.killAll(marker: d.marker) }
        try d.start()
        let pid = try #require(try d.waitRunning(1).first?.pid)
        // The trap is in place once the shell exec'd sleep.
        try d.eventually("sleep to ignore TERM") {
            (try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8))?.hasPrefix("sleep") == true
        }
        #expect(try d.cli("stop", ["bad/deaf/0"]).status == 0)
        let rows = try d.waitFor("killed after the timeout", timeout: 15) { $0.first?.state == "stopped" }
        #expect(rows.first?.lastExit?["signal"] as? String == "KILL")
        #expect(try d.eventRows().contains { $0.kind == "stop" && $0.detail.contains("shutdown timeout") })
        #expect(ProcEntry.read(pid) == nil || ProcEntry.read(pid)?.state == "Z")
    }

    @Test func doubleForkedGrandchildrenDieWithTheGroupAndLeaveNoZombie() throws {
        let d = try DaemonHarness(files: [:])
        try d.write("fork.yaml", "group: fork\njobs:\n" + Self.job(d.dir.path, "daemonizer",
            #"["sh", "-c", "(sleep 3600 &); (sleep 3600 &); exec sleep 3600"]"#))
        defer { d.stop(); ProcScan.killAll(marker: d.marker) }
        try d.start()
        let leader = try #require(try d.waitRunning(1).first?.pid)
        let daemon = try #require(d.runningDaemonPID)
        var family: [ProcEntry] = []
        try d.eventually("two grandchildren re-parented to the daemon") {
            family = ProcScan.liveByID(marker: d.marker)["fork/daemonizer/0"] ?? []
            return family.count == 3 && family.filter { $0.parent == daemon }.count == 3
        }
        #expect(family.allSatisfy { $0.pgid == leader }, "the grandchildren stay in the child's process group")

        #expect(try d.cli("stop", ["fork/daemonizer/0"]).status == 0)
        try d.waitFor("stopped") { $0.first?.state == "stopped" }
        try d.eventually("no process of the child left") { ProcScan.liveByID(marker: d.marker).isEmpty }
        try d.eventually("the daemon reaped the grandchildren") { ProcScan.zombies(of: daemon).isEmpty }
    }

    @Test func childClosingStdoutEarlyIsStillSupervisedToItsExit() throws {
        let d = try DaemonHarness(files: [:])
        try d.write("quiet.yaml", "group: quiet\njobs:\n" + Self.job(d.dir.path, "closer",
            #"["sh", "-c", "echo last words; exec >&- 2>&-; sleep 1; exit 7"]"#,
            extra: "    on_exit:\n      - when: {code: [7]}\n        do: wait"))
        defer { d.stop(); ProcScan.killAll(marker: d.marker) }
        try d.start()
        let rows = try d.waitFor("the exit after stdout closed", timeout: 15) { $0.first?.state == "waiting" }
        #expect(rows.first?.lastExit?["code"] as? Int == 7)
        #expect(d.daemonStdout.contains("quiet/closer/0 stdout: last words"))
        #expect(try d.eventRows().filter { $0.kind == "exit" && $0.id == "quiet/closer/0" }.count == 1)
    }

    @Test func hundredMegabytesWithoutNewlineIsCutAndMemoryStaysBounded() throws {
        let d = try DaemonHarness(files: [:])
        let done = d.dir.path + "/flood-done"
        try d.write("flood.yaml", "group: flood\njobs:\n" + Self.job(d.dir.path, "firehose",
            #"["sh", "-c", "head -c 104857600 /dev/zero | tr '\\0' x; touch \#(done); exec sleep 3600"]"#)
            + Self.job(d.dir.path, "neighbour", #"["sh", "-c", "while true; do echo tick; sleep 0.2; done"]"#))
        defer { d.stop(); ProcScan.killAll(marker: d.marker) }
        try d.start()
        try d.waitRunning(2)
        let daemon = try #require(d.runningDaemonPID)
        let probe = ResponsivenessProbe(state: d.state)
        var maxRSS = 0
        let deadline = Date().addingTimeInterval(120)
        while !FileManager.default.fileExists(atPath: done) && Date() < deadline {
            maxRSS = max(maxRSS, ProcScan.residentKiB(daemon) ?? 0)
            usleep(20_000)
        }
        let responsiveness = probe.finish()
        print("fault: 100 MB flood: daemon max VmRSS \(maxRSS) KiB, control max round trip \(responsiveness.maxSeconds) s over \(responsiveness.answered) probes")
        #expect(FileManager.default.fileExists(atPath: done), "the child wrote 100 MB within 120 s")
        #expect(maxRSS > 0 && maxRSS < 64 * 1024, "daemon VmRSS \(maxRSS) KiB")
        #expect(responsiveness.missed == 0 && responsiveness.answered > 0)
        #expect(responsiveness.maxSeconds < Self.responsivenessBound)
        let out = d.daemonStdout
        #expect(out.contains("flood/firehose/0 stdout: xxxx"))
        #expect(out.contains(" [cut]"))
        #expect(out.utf8.count < 1 << 20, "the rest of the endless line is dropped, not logged")
        #expect(out.contains("flood/neighbour/0 stdout: tick"), "other children's lines still come through")
        #expect(try d.children().allSatisfy { $0.state == "running" })
    }

    @Test func fiveHundredSiblingsExitingTogetherAreEachAccountedFor() throws {
        let d = try DaemonHarness(files: [:])
        try d.write("herd.yaml", "group: herd\njobs:\n" + Self.job(d.dir.path, "sheep", #"["sleep", "3600"]"#,
            extra: "    instances: 500\n    restart: temporary"))
        defer { d.stop(); ProcScan.killAll(marker: d.marker) }
        try d.start()
        let rows = try d.waitRunning(500, timeout: 90)
        let probe = ResponsivenessProbe(state: d.state)
        // SIGKILL to all 500 in one tight loop: they die within about a millisecond.
        for row in rows { if let pid = row.pid { kill(pid, SIGKILL) } }
        try d.waitFor("every sheep deleted", timeout: 60) { $0.isEmpty }
        let responsiveness = probe.finish()
        print("fault: 500 exits: control max round trip \(responsiveness.maxSeconds) s over \(responsiveness.answered) probes")
        let exits = try d.eventRows().filter { $0.kind == "exit" && $0.id.hasPrefix("herd/sheep/") }
        #expect(exits.count == 500)
        #expect(Set(exits.map(\.id)).count == 500, "one exit per child")
        #expect(exits.allSatisfy { $0.detail.contains("KILL") })
        #expect(responsiveness.missed == 0)
        #expect(responsiveness.maxSeconds < Self.responsivenessBound)
        #expect(ProcScan.liveByID(marker: d.marker).isEmpty)
        let daemon = try #require(d.runningDaemonPID)
        #expect(ProcScan.zombies(of: daemon).isEmpty)
    }

    @Test func programThatDoesNotExistIsASpawnFailureAndRulesApply() throws {
        let d = try DaemonHarness(files: [:])
        try d.write("ghost.yaml", """
            group: ghost
            intensity: 1000
            jobs:
            """ + "\n" + Self.job(d.dir.path, "parked", #"["/nonexistent/program", "--flag"]"#,
                extra: "    on_exit:\n      - when: {code: [127]}\n        do: wait")
            + Self.job(d.dir.path, "retried", #"["/nonexistent/program"]"#, extra: "    delay: 100ms"))
        defer { d.stop(); ProcScan.killAll(marker: d.marker) }
        try d.start()
        try d.waitFor("parked waits", prefix: "ghost/parked") { $0.first?.state == "waiting" }
        try d.waitFor("retried keeps retrying", prefix: "ghost/retried") { ($0.first?.restarts ?? 0) >= 3 }
        let failures = try d.eventRows().filter { $0.kind == "spawn_failed" }
        #expect(failures.contains { $0.id == "ghost/parked/0" && $0.detail.contains("cannot execute /nonexistent/program: No such file or directory") })
        #expect(failures.filter { $0.id == "ghost/retried/0" }.count >= 3)
        #expect(d.daemonStderr.contains("ghost/parked/0 spawn failed cannot execute /nonexistent/program"))
        #expect(d.runningDaemonPID != nil, "the daemon is alive")
        #expect(RawControlClient.probe(state: d.state) != nil)
    }
}
