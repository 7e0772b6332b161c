import DirectorManifest
import Testing

@testable import DirectorCore

// One child's exits, decided by restart types, rules, delays, backoff and reset_after.
// Each table row: the step, then the actions it causes.

@Suite struct RestartScenarioTests {
    @Test func permanentChildRestartsAtOnceAndCountsRestarts() {
        var h = Harness(Manifest(groups: [group("g", [job("a")])]))
        h.check([
            (.start, ["spawn g/a/0"]),
            (.exit("g/a/0", code: 1), ["spawn g/a/0", "arm reset g/a/0 +60000ms"]),
            (.killed("g/a/0", signal: .kill), ["cancel reset g/a/0", "spawn g/a/0", "arm reset g/a/0 +60000ms"]),
        ])
        #expect(h.restarts("g/a/0") == 2)
        #expect(h.state("g/a/0") == .running)
        #expect(h.events(.restart).count == 2)
    }

    @Test func transientNormalExitWaitsOtherExitsRestart() {
        var h = Harness(Manifest(groups: [group("g", [job("t", restart: .transient, delay: .seconds(1))])]))
        h.check([
            (.start, ["spawn g/t/0"]),
            (.exit("g/t/0", code: 2), ["arm restart g/t/0 +1000ms"]),
            (.advance(ms: 999), []),
            (.advance(ms: 1), ["spawn g/t/0", "arm reset g/t/0 +60000ms"]),
            (.exit("g/t/0", code: 0), ["cancel reset g/t/0"]),
            (.advance(ms: 60_000), []),
        ])
        #expect(h.state("g/t/0") == .waiting)
        #expect(h.events(.wait).map(\.subject) == ["g/t/0"])
    }

    @Test func temporaryChildIsDeletedOnExit() {
        var h = Harness(Manifest(groups: [group("g", [job("once", restart: .temporary), job("b")])]))
        h.check([
            (.start, ["spawn g/once/0", "spawn g/b/0"]),
            (.exit("g/once/0", code: 1), ["removed g/once/0"]),
        ])
        #expect(h.engine.snapshot(of: cid("g/once/0")) == nil)
        #expect(h.engine.children.map(\.id.description) == ["g/b/0"])
        // A late event for the deleted child changes nothing and spawns nothing.
        #expect(h.run(.exit("g/once/0", code: 1)) == [])
    }

    @Test func spawnFailureIsExitCode127ForTheRules() {
        let rules = [ExitRule(when: ExitCondition(codes: [127]), action: .wait)]
        var h = Harness(Manifest(groups: [group("g", [job("a", onExit: rules)])]))
        h.autoStart = false
        h.check([
            (.start, ["spawn g/a/0"]),
            (.spawnFailed("g/a/0"), []),
        ])
        #expect(h.state("g/a/0") == .waiting)
        #expect(h.engine.snapshot(of: cid("g/a/0"))?.lastExit?.status == .code(127))
        // 127 as a shell says "not found"; the cause tells it from the program's own `exit 127`.
        #expect(h.engine.snapshot(of: cid("g/a/0"))?.lastExit?.cause == .spawnFailed)
        #expect(h.events(.spawnFailed).count == 1)
    }

    /// The runtime's spawn returned before the exec, which then failed: the running child's
    /// process ends as a spawn failure (code 127, cause `spawn_failed`, no exit event), and a
    /// report about an older process changes nothing.
    @Test func anExecThatFailsAfterTheSpawnReturnedIsASpawnFailure() {
        let rules = [ExitRule(when: ExitCondition(codes: [127]), action: .wait)]
        var h = Harness(Manifest(groups: [group("g", [job("a", onExit: rules)])]))
        h.check([(.start, ["spawn g/a/0"])])
        let pid = h.pids[cid("g/a/0")]!
        #expect(h.state("g/a/0") == .running)
        #expect(h.engine.handle(.execFailed(cid("g/a/0"), pid: pid + 1, reason: "old"), at: h.now).isEmpty)
        #expect(h.state("g/a/0") == .running)
        h.all += h.engine.handle(.execFailed(cid("g/a/0"), pid: pid, reason: "cannot execute /x: Exec format error"), at: h.now)
        #expect(h.state("g/a/0") == .waiting)
        let snapshot = h.engine.snapshot(of: cid("g/a/0"))
        #expect(snapshot?.lastExit?.status == .code(127))
        #expect(snapshot?.lastExit?.cause == .spawnFailed)
        #expect(snapshot?.pid == nil)
        #expect(h.events(.spawnFailed).map(\.detail) == ["cannot execute /x: Exec format error"])
        #expect(h.events(.exit).isEmpty)
        #expect(Engine.describe(.execFailed(cid("g/a/0"), pid: 7, reason: "r")) == "exec_failed g/a/0 pid=7 r")
    }

    /// The Erlang Director example: restart 5 times, then restart after 1 s, then stop.
    @Test func directorExampleRestartFiveTimesThenDelayThenStop() {
        let rules = [
            ExitRule(when: ExitCondition(minRestarts: 6), action: .stop),
            ExitRule(when: ExitCondition(minRestarts: 5), action: .restart, after: .seconds(1), log: false),
        ]
        var h = Harness(Manifest(groups: [group("g", [job("a", onExit: rules)], intensity: 10)]))
        _ = h.run(.start)
        for _ in 0..<5 {
            let effects = h.run(.exit("g/a/0", code: 1))
            #expect(effects.contains("spawn g/a/0"))
        }
        h.check([
            (.exit("g/a/0", code: 1), ["cancel reset g/a/0", "arm restart g/a/0 +1000ms"]),
            (.advance(ms: 1000), ["spawn g/a/0", "arm reset g/a/0 +60000ms"]),
            // The stop rule fails the group; the root restarts it whole.
            (.exit("g/a/0", code: 1), ["cancel reset g/a/0", "failed g", "spawn g/a/0", "arm reset g/a/0 +60000ms"]),
        ])
        // `log: false` hid the sixth exit and its restart from the log (still recorded).
        let exits = h.events(.exit)
        #expect(exits.count == 7)
        #expect(exits.map(\.log) == [true, true, true, true, true, false, true])
        #expect(h.events(.restart).last?.log == false)
    }

    @Test func backoffGrowsAndIsCapped() {
        let backoff = Backoff(initial: .milliseconds(100), max: .milliseconds(500), factor: 2, jitter: 0)
        var h = Harness(Manifest(groups: [group("g", [job("a", backoff: backoff)])]))
        _ = h.run(.start)
        var delays: [String] = []
        for _ in 0..<5 {
            let effects = h.run(.exit("g/a/0", code: 1))
            delays += effects.filter { $0.hasPrefix("arm restart") }
            _ = h.run(.advance(ms: 1000))
        }
        #expect(delays == [100, 200, 400, 500, 500].map { "arm restart g/a/0 +\($0)ms" })
        #expect(h.engine.snapshot(of: cid("g/a/0"))?.nextRestartAt == nil)
    }

    @Test func backoffStateShowsNextRestart() {
        var h = Harness(Manifest(groups: [group("g", [job("a", delay: .seconds(2))])]))
        _ = h.run(.start)
        _ = h.run(.exit("g/a/0", code: 1))
        let snap = h.engine.snapshot(of: cid("g/a/0"))
        #expect(snap?.state == .backoff)
        #expect(snap?.nextRestartAt == Instant.zero + .seconds(2))
        #expect(snap?.pid == nil)
    }

    @Test func resetAfterReturnsTheCountToZero() {
        var h = Harness(Manifest(groups: [group("g", [job("a", resetAfter: .seconds(10))])]))
        h.check([
            (.start, ["spawn g/a/0"]),
            (.exit("g/a/0", code: 1), ["spawn g/a/0", "arm reset g/a/0 +10000ms"]),
            (.advance(ms: 9_000), []),
        ])
        #expect(h.restarts("g/a/0") == 1)
        _ = h.run(.advance(ms: 1_000))
        #expect(h.restarts("g/a/0") == 0)
        // Running with a zero count needs no reset timer.
        h.check([(.exit("g/a/0", code: 1), ["spawn g/a/0", "arm reset g/a/0 +10000ms"])])
    }

    @Test func restartStormHitsIntensityAndTheGroupRestartsWhole() {
        var h = Harness(Manifest(groups: [group("g", [job("a"), job("b")], intensity: 2, period: .seconds(10))]))
        h.check([
            (.start, ["spawn g/a/0", "spawn g/b/0"]),
            (.exit("g/a/0", code: 1), ["spawn g/a/0", "arm reset g/a/0 +60000ms"]),
            (.advance(ms: 1000), []),
            (.exit("g/a/0", code: 1), ["cancel reset g/a/0", "spawn g/a/0", "arm reset g/a/0 +60000ms"]),
            // Third restart within 10 s: g fails, b is stopped, then both start in order.
            (.exit("g/a/0", code: 1), ["cancel reset g/a/0", "failed g", "signal g/b/0 TERM", "arm kill g/b/0 +5000ms"]),
            (.killed("g/b/0", signal: .term), ["cancel kill g/b/0", "spawn g/a/0", "arm reset g/a/0 +60000ms", "spawn g/b/0"]),
        ])
        #expect(h.engine.groups.first { $0.path == "g" }?.restartsInPeriod == 0)  // fresh supervisor
        #expect(h.engine.groups.first { $0.path == "" }?.restartsInPeriod == 1)  // the root counted it
    }

    /// `--root-failure exit`: OTP's root failure.
    @Test func rootFailureStopsEverythingAndExitsWithStatusOne() {
        var h = Harness(
            Manifest(groups: [group("g", [job("a")], intensity: 0), group("h", [job("b")])]),
            root: RootPolicy(intensity: 1, period: .seconds(60), onFailure: .exit))
        h.check([
            (.start, ["spawn g/a/0", "spawn h/b/0"]),
            (.exit("g/a/0", code: 1), ["failed g", "spawn g/a/0", "arm reset g/a/0 +60000ms"]),
            (.exit("g/a/0", code: 1), [
                "cancel reset g/a/0", "failed g", "failed ", "signal h/b/0 TERM", "arm kill h/b/0 +5000ms",
            ]),
            (.killed("h/b/0", signal: .term), ["cancel kill h/b/0", "exit 1"]),
        ])
        #expect(h.engine.isStopped)
        #expect(h.engine.children.allSatisfy { $0.state == .stopped })
        #expect(h.run(.exit("h/b/0", code: 1)) == [])
    }
}
