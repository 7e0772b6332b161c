import DirectorManifest
import Testing

@testable import DirectorCore

// Operator commands (stop, restart, delete, scale, shutdown) and the shutdown protocol.

@Suite struct OperatorScenarioTests {
    @Test func stopRestartDeleteFollowOTPRules() {
        var h = Harness(Manifest(groups: [group("g", [job("a"), job("b")])]))
        h.check([
            (.start, ["spawn g/a/0", "spawn g/b/0"]),
            (.command(.delete([cid("g/a/0")])), []),
        ])
        #expect(h.lastReply == .error(code: "not_stopped", message: "stop these first: g/a/0"))
        h.check([
            (.command(.stop([cid("g/a/0")])), ["signal g/a/0 TERM", "arm kill g/a/0 +5000ms"]),
            (.killed("g/a/0", signal: .term), ["cancel kill g/a/0"]),
        ])
        #expect(h.state("g/a/0") == .stopped)
        #expect(h.lastReply == .ok([cid("g/a/0")]))
        h.check([
            (.command(.restart([cid("g/a/0")])), ["spawn g/a/0"]),
            (.command(.stop([cid("g/a/0")])), ["signal g/a/0 TERM", "arm kill g/a/0 +5000ms"]),
            (.killed("g/a/0", signal: .term), ["cancel kill g/a/0"]),
            (.command(.delete([cid("g/a/0")])), ["removed g/a/0"]),
        ])
        #expect(h.engine.snapshot(of: cid("g/a/0")) == nil)
    }

    @Test func unknownIdsChangeNothing() {
        var h = Harness(Manifest(groups: [group("g", [job("a")])]))
        _ = h.run(.start)
        for command in [
            OperatorCommand.stop([cid("g/a/0"), cid("g/x/0")]), .restart([cid("g/x/0")]), .delete([cid("g/a/9")]),
            .scale(job: "g/nope", instances: 2),
        ] {
            #expect(h.run(.command(command)) == [])
            guard case .error(let code, _) = h.lastReply else {
                Issue.record("expected an error for \(command)")
                continue
            }
            #expect(code == "not_found")
        }
        #expect(h.state("g/a/0") == .running)
        _ = h.run(.command(.scale(job: "g/a", instances: -1)))
        #expect(h.lastReply.map { if case .error("bad_request", _) = $0 { true } else { false } } == true)
    }

    @Test func restartOfARunningChildStopsItStartsItAndResetsTheCount() {
        var h = Harness(Manifest(groups: [group("g", [job("a")])]))
        _ = h.run(.start)
        _ = h.run(.exit("g/a/0", code: 1))
        #expect(h.restarts("g/a/0") == 1)
        h.check([
            (.command(.restart([cid("g/a/0")])), ["cancel reset g/a/0", "signal g/a/0 TERM", "arm kill g/a/0 +5000ms"]),
            (.killed("g/a/0", signal: .term), ["cancel kill g/a/0", "spawn g/a/0"]),
        ])
        #expect(h.restarts("g/a/0") == 0)
        #expect(h.state("g/a/0") == .running)
    }

    @Test func restartOfAWaitingOrBackoffChildStartsItNow() {
        var h = Harness(Manifest(groups: [group("g", [job("t", restart: .transient), job("d", delay: .seconds(30))])]))
        _ = h.run(.start)
        _ = h.run(.exit("g/t/0", code: 0))
        _ = h.run(.exit("g/d/0", code: 1))
        h.check([
            (.command(.restart([cid("g/t/0"), cid("g/d/0")])), ["spawn g/t/0", "cancel restart g/d/0", "spawn g/d/0"]),
            (.advance(ms: 30_000), []),
        ])
        #expect(h.restarts("g/d/0") == 0)
    }

    @Test func stopWhileStartingIsAppliedOnceStarted() {
        var h = Harness(Manifest(groups: [group("g", [job("a")])]))
        h.autoStart = false
        h.check([
            (.start, ["spawn g/a/0"]),
            (.command(.stop([cid("g/a/0")])), []),
            (.started("g/a/0"), ["signal g/a/0 TERM", "arm kill g/a/0 +5000ms"]),
            (.killed("g/a/0", signal: .term), ["cancel kill g/a/0"]),
        ])
        #expect(h.state("g/a/0") == .stopped)
    }

    @Test func scaleUpStartsInOrderScaleDownStopsHighestFirst() {
        var h = Harness(Manifest(groups: [group("g", [job("p", instances: 2)])]))
        h.check([
            (.start, ["spawn g/p/0", "spawn g/p/1"]),
            (.command(.scale(job: "g/p", instances: 4)), ["spawn g/p/2", "spawn g/p/3"]),
            (.command(.scale(job: "g/p", instances: 1)), [
                "signal g/p/3 TERM", "arm kill g/p/3 +5000ms", "signal g/p/2 TERM", "arm kill g/p/2 +5000ms",
                "signal g/p/1 TERM", "arm kill g/p/1 +5000ms",
            ]),
            (.killed("g/p/2", signal: .term), ["cancel kill g/p/2", "removed g/p/2"]),
        ])
        #expect(h.engine.children.map(\.id.description) == ["g/p/0", "g/p/1", "g/p/3"])
        _ = h.run(.killed("g/p/3", signal: .term))
        _ = h.run(.killed("g/p/1", signal: .term))
        #expect(h.engine.children.map(\.id.description) == ["g/p/0"])
        #expect(h.events(.scale).map(\.detail) == ["instances=2->4", "instances=4->1"])
    }

    @Test func shutdownStopsInReverseOrderKillsAfterTimeoutAndExitsZero() {
        var h = Harness(Manifest(groups: [group("g", [job("a"), job("b", delay: .seconds(9)), job("c")])]))
        _ = h.run(.start)
        _ = h.run(.exit("g/b/0", code: 1))  // in backoff: its timer is cancelled, it just stops
        h.check([
            (.command(.shutdown), [
                "signal g/c/0 TERM", "arm kill g/c/0 +5000ms", "cancel restart g/b/0", "signal g/a/0 TERM",
                "arm kill g/a/0 +5000ms",
            ]),
            (.killed("g/c/0", signal: .term), ["cancel kill g/c/0"]),
            (.advance(ms: 5000), ["signal g/a/0 KILL"]),
            (.killed("g/a/0", signal: .kill), ["exit 0"]),
        ])
        #expect(h.engine.isStopped)
        #expect(h.engine.groups.allSatisfy { $0.state == .stopped })
        _ = h.run(.command(.restart([cid("g/a/0")])))
        #expect(h.lastReply == .error(code: "shutting_down", message: "the tree is shutting down"))
    }

    @Test(arguments: [
        (ShutdownTimeout.infinity, ["signal g/a/0 TERM"]),
        (.after(.zero), ["signal g/a/0 KILL"]),
        (.after(.milliseconds(250)), ["signal g/a/0 TERM", "arm kill g/a/0 +250ms"]),
    ])
    func shutdownTimeoutPolicy(timeout: ShutdownTimeout, expected: [String]) {
        var h = Harness(Manifest(groups: [group("g", [job("a", shutdown: Shutdown(signal: .term, timeout: timeout))])]))
        _ = h.run(.start)
        #expect(h.run(.command(.shutdown)) == expected)
        #expect(h.run(.advance(ms: 3_600_000)).filter { $0.contains("KILL") }.count == (expected.count == 2 ? 1 : 0))
        #expect(h.run(.killed("g/a/0", signal: .term)).last == "exit 0")
    }

    @Test func shutdownWaitsForChildrenStillStarting() {
        var h = Harness(Manifest(groups: [group("g", [job("a")])]))
        h.autoStart = false
        h.check([
            (.start, ["spawn g/a/0"]),
            (.command(.shutdown), []),
            (.started("g/a/0"), ["signal g/a/0 TERM", "arm kill g/a/0 +5000ms"]),
            (.exit("g/a/0", code: 0), ["cancel kill g/a/0", "exit 0"]),
        ])
    }
}
