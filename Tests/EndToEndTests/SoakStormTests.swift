import Foundation
import Testing

/// `make soak`: a crash storm and a noisy child for several minutes
/// (`DIRECTOR_SOAK_MINUTES`, default 5): the daemon's memory and descriptors stay flat, the
/// table keeps committing and the control socket keeps answering.
@Suite(.serialized, .enabled(if: soakEnabled)) struct SoakStormTests {
    @Test func minutesOfCrashStormLeakNothing() throws {
        let minutes = Double(ProcessInfo.processInfo.environment["DIRECTOR_SOAK_MINUTES"] ?? "") ?? 5
        let d = try DaemonHarness(files: [:])
        try d.write("storm.yaml", CrashStorm.manifest(d.dir.path) + """

              - name: chatter
                command: ["sh", "-c", "while true; do echo chatter line; head -c 100000 /dev/zero | tr '\\\\0' y; echo; sleep 0.1; done"]
                env: {FAULT_RUN: "\(d.dir.path)"}
                log: {stdout: {exclude: ["^y"]}}
            """)
        defer { d.stop(); ProcScan.killAll(marker: d.marker) }
        try d.start()
        try d.waitRunning(CrashStorm.steady, prefix: "storm/steady", timeout: 30)
        let daemon = try #require(d.runningDaemonPID)
        let probe = ResponsivenessProbe(state: d.state, interval: 0.2)
        var samples: [(rss: Int, fds: Int, seq: Int)] = []
        let end = Date().addingTimeInterval(minutes * 60)
        while Date() < end {
            usleep(10_000_000)
            let fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(daemon)/fd").count) ?? -1
            samples.append((ProcScan.residentKiB(daemon) ?? -1, fds, try d.eventRows().last?.seq ?? 0))
        }
        let result = probe.finish()
        print("soak storm: \(samples.count) samples, VmRSS KiB \(samples.map(\.rss)), fds \(samples.map(\.fds)), control max \(result.maxSeconds) s over \(result.answered) probes")
        #expect(result.missed == 0)
        #expect(samples.allSatisfy { $0.rss > 0 && $0.rss < 64 * 1024 }, "memory stays bounded")
        #expect(samples.allSatisfy { $0.fds > 0 && $0.fds < 300 }, "descriptors stay bounded")
        let seqs = samples.map(\.seq)
        #expect(zip(seqs, seqs.dropFirst()).allSatisfy { $0 < $1 }, "the table commits between every two samples")
        #expect(d.runningDaemonPID == daemon)
    }
}
