import DirectorManifest
import Testing

@testable import DirectorCore

// `ready:`: a child that must say it is ready holds back the children after it in its
// top-level group, at the first start and in restart plans; not ready in time is an exit
// with cause `ready_timeout`, decided by `on_exit`.

private func readyJob(_ name: String, timeout: Duration = .seconds(10), onExit: [ExitRule] = []) -> GroupChild {
    .job(JobSpec(name: name, command: .argv(["/bin/db"]), cwd: "/srv", onExit: onExit, ready: ReadySpec(.notify, timeout: timeout)))
}

@Suite struct ReadinessScenarioTests {
    @Test func aReadyChildHoldsBackTheChildrenAfterItUntilReady() {
        var h = Harness(Manifest(groups: [
            group("g", [job("a"), readyJob("db"), job("api", instances: 2), .group(group("inner", [job("x")]))]),
            group("other", [job("o")]),
        ]))
        h.check([
            // `a` before it starts at once, and so does another top-level group.
            (.start, ["spawn g/a/0", "spawn g/db/0", "arm ready_timeout g/db/0 +10000ms", "spawn other/o/0"]),
            (.ready("g/db/0"), ["cancel ready_timeout g/db/0", "spawn g/api/0", "spawn g/api/1", "spawn g/inner/x/0"]),
            // A second READY=1 changes nothing.
            (.ready("g/db/0"), []),
        ])
        #expect(h.events(.ready).map(\.subject) == ["g/db/0"])
        #expect(h.engine.snapshot(of: cid("g/db/0"))?.ready == true)
        #expect(h.engine.snapshot(of: cid("g/api/0"))?.ready == true)
    }

    @Test func heldChildrenWaitInBackoffAndTheOperatorCanStillStartOrStopThem() {
        var h = Harness(Manifest(groups: [group("g", [readyJob("db"), job("api"), job("web")])]))
        h.check([
            (.start, ["spawn g/db/0", "arm ready_timeout g/db/0 +10000ms"]),
            (.command(.stop([cid("g/web/0")])), []),
            (.command(.start([cid("g/api/0")])), ["spawn g/api/0"]),
            // Ready: nothing is left to start (api runs, web was stopped by the operator).
            (.ready("g/db/0"), ["cancel ready_timeout g/db/0"]),
        ])
        #expect(h.state("g/web/0") == .stopped)
        #expect(h.state("g/api/0") == .running)
    }

    @Test func notReadyInTimeIsStoppedAndDecidedWithCauseReadyTimeout() {
        let rules = [ExitRule(when: ExitCondition(causes: ["ready_timeout"]), action: .wait)]
        var h = Harness(Manifest(groups: [group("g", [readyJob("db", timeout: .seconds(2), onExit: rules), job("api")])]))
        h.check([
            (.start, ["spawn g/db/0", "arm ready_timeout g/db/0 +2000ms"]),
            (.advance(ms: 2000), ["signal g/db/0 TERM", "arm kill g/db/0 +5000ms"]),
            // The exit is decided by the rule for `ready_timeout`; the held api starts then.
            (.killed("g/db/0", signal: .term), ["cancel kill g/db/0", "spawn g/api/0"]),
        ])
        #expect(h.state("g/db/0") == .waiting)
        #expect(h.events(.notReady).map(\.subject) == ["g/db/0"])
        #expect(h.events(.exit).last?.fields.cause == .readyTimeout)
        // The row says the cause the rule decided by (the table's last_exit.cause).
        #expect(h.engine.snapshot(of: cid("g/db/0"))?.lastExit?.cause == .readyTimeout)
        #expect(h.engine.snapshot(of: cid("g/db/0"))?.lastExit?.status == .signal(.term))
    }

    @Test func aRestartedReadyChildKeepsItsQueueUntilReady() {
        var h = Harness(Manifest(groups: [group("g", [readyJob("db"), job("api")])]))
        h.check([
            (.start, ["spawn g/db/0", "arm ready_timeout g/db/0 +10000ms"]),
            // It crashes before it is ready: restarted (permanent), api still waits.
            (.exit("g/db/0", code: 1), ["cancel ready_timeout g/db/0", "spawn g/db/0", "arm ready_timeout g/db/0 +10000ms", "arm reset g/db/0 +60000ms"]),
            (.ready("g/db/0"), ["cancel ready_timeout g/db/0", "spawn g/api/0"]),
        ])
        #expect(h.state("g/api/0") == .running)
    }

    @Test func aReadyExitForAnOldProcessIsIgnored() {
        var h = Harness(Manifest(groups: [group("g", [readyJob("db"), job("api")])]))
        h.check([(.start, ["spawn g/db/0", "arm ready_timeout g/db/0 +10000ms"])])
        #expect(h.run(.spawnFailed("nope/x/0")) == [])
        #expect(h.engine.handle(.ready(cid("g/db/0"), pid: 1), at: h.now).filter { if case .spawn = $0 { true } else { false } }.isEmpty)
        #expect(h.state("g/api/0") == .backoff)
    }

    @Test func restartPlansStartInOrderBehindTheReadyChild() {
        var g = group("g", [job("first"), readyJob("db"), job("api")])
        g.strategy = .oneForAll
        var h = Harness(Manifest(groups: [g]))
        h.check([
            (.start, ["spawn g/first/0", "spawn g/db/0", "arm ready_timeout g/db/0 +10000ms"]),
            (.ready("g/db/0"), ["cancel ready_timeout g/db/0", "spawn g/api/0"]),
            // api crashes: one_for_all stops the others in reverse order ...
            (.exit("g/api/0", code: 1), ["signal g/db/0 TERM", "arm kill g/db/0 +5000ms", "signal g/first/0 TERM", "arm kill g/first/0 +5000ms"]),
            (.killed("g/db/0", signal: .term), ["cancel kill g/db/0"]),
            // ... and starts them again in order, api behind db's readiness.
            (.killed("g/first/0", signal: .term), ["cancel kill g/first/0", "spawn g/first/0", "spawn g/db/0", "arm ready_timeout g/db/0 +10000ms"]),
            (.ready("g/db/0"), ["cancel ready_timeout g/db/0", "spawn g/api/0", "arm reset g/api/0 +60000ms"]),
        ])
    }

    @Test func shutdownWithHeldChildrenStopsThem() {
        var h = Harness(Manifest(groups: [group("g", [readyJob("db"), job("api")])]))
        h.check([
            (.start, ["spawn g/db/0", "arm ready_timeout g/db/0 +10000ms"]),
            (.command(.shutdown), ["signal g/db/0 TERM", "arm kill g/db/0 +5000ms"]),
            (.killed("g/db/0", signal: .term), ["cancel kill g/db/0", "cancel ready_timeout g/db/0", "exit 0"]),
        ])
        #expect(h.state("g/api/0") == .stopped)
    }

    @Test func treesWithoutReadyStartAllAtOnceAndAreReadyWhenRunning() {
        var h = Harness(Manifest(groups: [group("g", [job("a", instances: 3), job("b")])]))
        h.check([(.start, ["spawn g/a/0", "spawn g/a/1", "spawn g/a/2", "spawn g/b/0"])])
        #expect(h.engine.snapshot(of: cid("g/a/2"))?.ready == true)
        #expect(h.engine.readyQueues.isEmpty && h.engine.waitsForReady.isEmpty)
    }
}
