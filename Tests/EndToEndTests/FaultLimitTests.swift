import Foundation
import Testing

/// DESIGN §2's limit on children in all (`--max-children`, default 100 000), enforced by
/// `validate`, `run`, every reload trigger and `scale`, with the real binary and a real
/// daemon. Each daemon here runs three `sleep` children.
@Suite(.serialized) struct FaultLimitTests {
    static func calm(_ d: DaemonHarness, instances: Int = 3) -> String {
        """
        group: calm
        jobs:
          - name: sleeper
            command: ["sleep", "3600"]
            instances: \(instances)
            env: {FAULT_RUN: "\(d.dir.path)"}
        """
    }

    /// `instances: N` on line 5, column 16 of calm.yaml.
    static func location(_ d: DaemonHarness) -> String { d.jobs + "/calm.yaml:5:16: jobs[0].instances: " }

    @Test func validateRefusesInstancesOverTheLimitWithALocatedError() throws {
        let dir = try TemporaryDirectory()
        try dir.write("big.yaml", "jobs:\n  - name: many\n    command: [\"sleep\", \"1\"]\n    instances: 100000000\n")
        let r = try DirectorBinary.run(["validate", "--jobs", dir.path])
        #expect(r.status == 1, "validate accepted 10^8 children: \(r.stdout)")
        #expect(r.stderr.hasPrefix(dir.path + "/big.yaml:4:16: jobs[0].instances: "), "\(r.stderr)")
        #expect(r.stderr.contains("over the limit of 100000"), "\(r.stderr)")

        try dir.write("big.yaml", "jobs:\n  - name: many\n    command: [\"sleep\", \"1\"]\n    instances: 150000\n")
        let raised = try DirectorBinary.run(["validate", "--jobs", dir.path, "--max-children", "200000"])
        #expect(raised.status == 0, "\(raised.stderr)")
        #expect(raised.stdout.contains("150000 children"), "\(raised.stdout)")
        let lowered = try DirectorBinary.run(["validate", "--jobs", dir.path, "--max-children", "10"])
        #expect(lowered.status == 1)
        #expect(lowered.stderr.contains("over the limit of 10 "), "\(lowered.stderr)")
        let usage = try DirectorBinary.run(["validate", "--jobs", dir.path, "--max-children", "-1"])
        #expect(usage.status == 2, "\(usage.stderr)")
    }

    @Test func runRefusesToStartOverTheLimitAndStartsNothing() throws {
        let d = try DaemonHarness(files: [:])
        defer { d.stop(); ProcScan.killAll(marker: d.marker) }
        try d.write("calm.yaml", Self.calm(d, instances: 4))
        try d.start(["--max-children", "3"])
        let status = d.waitExit(timeout: 20)
        #expect(status == 1, "stderr: \(d.daemonStderr)")
        #expect(d.daemonStderr.hasPrefix(Self.location(d)), "\(d.daemonStderr)")
        #expect(d.daemonStderr.contains("4 children in all, over the limit of 3"), "\(d.daemonStderr)")
        #expect(ProcScan.liveByID(marker: d.marker).isEmpty, "nothing was started")
    }

    /// The scenario: `instances: 100000000` arrives by inotify, then SIGHUP, then
    /// `director reload`. Each is refused with the located error, logged and stored in
    /// `meta.reload`; the daemon and its three children stay as they were.
    @Test func aReloadOverTheLimitIsRefusedByEveryTriggerAndTheTreeStaysAsItWas() throws {
        let d = try DaemonHarness(files: [:])
        defer { d.stop(); ProcScan.killAll(marker: d.marker) }
        try d.write("calm.yaml", Self.calm(d))
        try d.start()
        let before = d.pids(try d.waitRunning(3))
        let location = Self.location(d)

        try d.write("calm.yaml", Self.calm(d, instances: 100_000_000))
        // inotify (debounced) is the first to see it.
        try d.eventually("the watcher's reload is refused", timeout: 20) {
            guard let meta = try d.reloadMeta(), meta["ok"] as? Bool == false else { return false }
            return (meta["errors"] as? [String])?.first?.hasPrefix(location) == true
        }
        #expect(d.runningDaemonPID != nil, "the daemon survives the watcher's reload")
        // SIGHUP.
        let refusedSoFar = try d.reloadEvents().count
        d.signal(SIGHUP)
        try d.eventually("the SIGHUP reload is refused", timeout: 20) { try d.reloadEvents().count > refusedSoFar }
        #expect(d.runningDaemonPID != nil, "the daemon survives SIGHUP")
        // `director reload`.
        let r = try d.cli("reload")
        #expect(r.status == 1)
        #expect(r.stderr.hasPrefix(location), "\(r.stderr)")
        #expect(r.stderr.contains("100000000 children in all, over the limit of 100000"), "\(r.stderr)")
        #expect(d.daemonStderr.contains("reload (control): " + location), "the daemon logs it")

        let meta = try #require(try d.reloadMeta())
        #expect(meta["ok"] as? Bool == false)
        #expect(meta["generation"] as? Int == 0)
        #expect((try d.reloadEvents()).allSatisfy { $0.detail == "failed errors=1: nothing changed" })
        #expect(d.runningDaemonPID != nil)
        #expect(d.pids(try d.children()) == before, "the children are the same processes")
        for pid in before.values { #expect(ProcEntry.read(pid) != nil, "pid \(pid) still runs") }
    }

    @Test func reloadAndScaleRespectAGivenLimitAndWithinItBothApply() throws {
        let d = try DaemonHarness(files: [:])
        defer { d.stop(); ProcScan.killAll(marker: d.marker) }
        try d.write("calm.yaml", Self.calm(d))
        try d.start(["--no-watch", "--max-children", "5"])
        let before = d.pids(try d.waitRunning(3))

        try d.write("calm.yaml", Self.calm(d, instances: 6))
        let refused = try d.cli("reload")
        #expect(refused.status == 1)
        #expect(refused.stderr.hasPrefix(Self.location(d)), "\(refused.stderr)")
        #expect(refused.stderr.contains("6 children in all, over the limit of 5"), "\(refused.stderr)")
        #expect(d.pids(try d.children()) == before)
        try d.write("calm.yaml", Self.calm(d))

        // `director scale` over the limit: refused with the reason, nothing started.
        let scale = try d.cli("scale", ["calm/sleeper", "6"])
        #expect(scale.status == 1)
        #expect(scale.stderr.contains("calm/sleeper to 6 would make 6 children in all, over the limit of 5"), "\(scale.stderr)")
        let huge = try d.cli("scale", ["calm/sleeper", "100000000"])
        #expect(huge.status == 1, "\(huge.stderr)")
        #expect(try d.children().count == 3)
        #expect(d.runningDaemonPID != nil)
        // Within the limit both work.
        let ok = try d.cli("scale", ["calm/sleeper", "5"])
        #expect(ok.status == 0, "\(ok.stderr)")
        try d.waitRunning(5)
        // The scaled pool keeps its 5 through a reload that leaves its `instances` alone, so
        // one more job is over the limit although the manifests only declare 3 + 1.
        try d.write("more.yaml", "jobs:\n  - name: one\n    command: [\"sleep\", \"3600\"]\n    env: {FAULT_RUN: \"\(d.dir.path)\"}\n")
        let kept = try d.cli("reload")
        #expect(kept.status == 1)
        #expect(kept.stderr.hasPrefix(d.jobs + "/calm.yaml:3:11: job calm/sleeper keeps the 5 instances"), "\(kept.stderr)")
        #expect(kept.stderr.contains("6 children in all, over the limit of 5"), "\(kept.stderr)")
        #expect(try d.children().count == 5)
        d.remove("more.yaml")
        try d.write("calm.yaml", Self.calm(d, instances: 4))
        let fits = try d.cli("reload")
        #expect(fits.status == 0, "\(fits.stderr)")
        try d.waitRunning(4)
    }

    /// An operator's `scale` survives a daemon restart, but not past a lower limit: the next
    /// daemon drops it (with a warning) and runs the manifest's size.
    @Test func aScaleOfAPreviousRunOverTheLimitIsDroppedAtStart() throws {
        let d = try DaemonHarness(files: [:])
        defer { d.stop(); ProcScan.killAll(marker: d.marker) }
        try d.write("calm.yaml", Self.calm(d))
        try d.start(["--no-watch", "--max-children", "8"])
        try d.waitRunning(3)
        #expect(try d.cli("scale", ["calm/sleeper", "8"]).status == 0)
        try d.waitRunning(8)
        #expect(try d.cli("shutdown").status == 0)
        #expect(d.waitExit() == 0)

        try d.start(["--no-watch", "--max-children", "5"])
        try d.waitRunning(3)
        #expect(d.daemonStderr.contains("operator pool sizes of the previous run dropped: with them the tree would have 8 children, over the limit of 5"),
            "\(d.daemonStderr)")
        d.settle(seconds: 0.5)
        #expect(try d.children().count == 3)
    }
}
