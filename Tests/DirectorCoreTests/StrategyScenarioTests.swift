import DirectorManifest
import Testing

@testable import DirectorCore

// one_for_all, rest_for_one, pools as siblings, nested groups as units.

@Suite struct StrategyScenarioTests {
    @Test func oneForAllStopsSiblingsInReverseThenStartsAllInOrder() {
        var h = Harness(Manifest(groups: [group("g", [job("a"), job("b"), job("c")], strategy: .oneForAll)]))
        h.check([
            (.start, ["spawn g/a/0", "spawn g/b/0", "spawn g/c/0"]),
            (.exit("g/b/0", code: 1), ["signal g/c/0 TERM", "arm kill g/c/0 +5000ms", "signal g/a/0 TERM", "arm kill g/a/0 +5000ms"]),
            (.killed("g/c/0", signal: .term), ["cancel kill g/c/0"]),
            (.killed("g/a/0", signal: .term), [
                "cancel kill g/a/0", "spawn g/a/0", "spawn g/b/0", "arm reset g/b/0 +60000ms", "spawn g/c/0",
            ]),
        ])
        #expect(h.restarts("g/b/0") == 1)
        #expect(h.restarts("g/a/0") == 0)
        #expect(h.events(.restart).count == 1)
    }

    @Test func siblingsStillExitingShowAsHeldBackoff() {
        var h = Harness(Manifest(groups: [group("g", [job("a"), job("b")], strategy: .oneForAll)]))
        _ = h.run(.start)
        _ = h.run(.exit("g/a/0", code: 1))
        #expect(h.state("g/a/0") == .backoff)
        #expect(h.state("g/b/0") == .stopping)
        // A sibling that ignores TERM is killed when its shutdown timeout runs out.
        h.check([
            (.advance(ms: 5000), ["signal g/b/0 KILL"]),
            (.killed("g/b/0", signal: .kill), ["spawn g/a/0", "arm reset g/a/0 +60000ms", "spawn g/b/0"]),
        ])
    }

    @Test func restForOneRestartsTheTailOnly() {
        var h = Harness(Manifest(groups: [group("g", [job("a"), job("b"), job("c")], strategy: .restForOne)]))
        h.check([
            (.start, ["spawn g/a/0", "spawn g/b/0", "spawn g/c/0"]),
            (.exit("g/b/0", code: 1), ["signal g/c/0 TERM", "arm kill g/c/0 +5000ms"]),
            (.killed("g/c/0", signal: .term), ["cancel kill g/c/0", "spawn g/b/0", "arm reset g/b/0 +60000ms", "spawn g/c/0"]),
            // The last child has no tail: it restarts alone.
            (.exit("g/c/0", code: 1), ["spawn g/c/0", "arm reset g/c/0 +60000ms"]),
        ])
        #expect(h.state("g/a/0") == .running)
    }

    @Test func poolInstancesAreSiblingsInDeclarationOrder() {
        var h = Harness(Manifest(groups: [group("g", [job("p", instances: 3), job("z")], strategy: .restForOne)]))
        h.check([
            (.start, ["spawn g/p/0", "spawn g/p/1", "spawn g/p/2", "spawn g/z/0"]),
            (.exit("g/p/1", code: 1), ["signal g/z/0 TERM", "arm kill g/z/0 +5000ms", "signal g/p/2 TERM", "arm kill g/p/2 +5000ms"]),
            (.killed("g/p/2", signal: .term), ["cancel kill g/p/2"]),
            (.killed("g/z/0", signal: .term), [
                "cancel kill g/z/0", "spawn g/p/1", "arm reset g/p/1 +60000ms", "spawn g/p/2", "spawn g/z/0",
            ]),
        ])
    }

    @Test func triggerDelayHoldsBackTheWholePlan() {
        var h = Harness(Manifest(groups: [group("g", [job("a", delay: .seconds(2)), job("b")], strategy: .oneForAll)]))
        h.check([
            (.start, ["spawn g/a/0", "spawn g/b/0"]),
            (.exit("g/a/0", code: 1), ["signal g/b/0 TERM", "arm kill g/b/0 +5000ms", "arm restart g/a/0 +2000ms"]),
            (.killed("g/b/0", signal: .term), ["cancel kill g/b/0"]),
            (.advance(ms: 2000), ["spawn g/a/0", "arm reset g/a/0 +60000ms", "spawn g/b/0"]),
        ])
    }

    @Test func failedNestedGroupIsRestartedWholeUnderTheParentsStrategy() {
        let inner = group("inner", [job("x"), job("y")], intensity: 0)
        var h = Harness(Manifest(groups: [group("g", [job("a"), nested(inner), job("b")], strategy: .restForOne)]))
        h.check([
            (.start, ["spawn g/a/0", "spawn g/inner/x/0", "spawn g/inner/y/0", "spawn g/b/0"]),
            // inner allows no restart: it fails; g (rest_for_one) restarts inner and b. As in
            // OTP, inner stops its own children first, then g stops b.
            (.exit("g/inner/x/0", code: 1), [
                "failed g/inner", "signal g/inner/y/0 TERM", "arm kill g/inner/y/0 +5000ms", "signal g/b/0 TERM",
                "arm kill g/b/0 +5000ms",
            ]),
            (.killed("g/b/0", signal: .term), ["cancel kill g/b/0"]),
        ])
        #expect(h.engine.groups.first { $0.path == "g/inner" }?.state == .restarting)
        h.check([
            (.killed("g/inner/y/0", signal: .term), [
                "cancel kill g/inner/y/0", "spawn g/inner/x/0", "arm reset g/inner/x/0 +60000ms", "spawn g/inner/y/0",
                "spawn g/b/0",
            ])
        ])
        #expect(h.engine.groups.first { $0.path == "g/inner" }?.state == .running)
        #expect(h.state("g/a/0") == .running)
        #expect(h.engine.groups.first { $0.path == "g" }?.restartsInPeriod == 1)
    }

    @Test func stopRuleFailsTheGroupAtOnce() {
        let rules = [ExitRule(when: ExitCondition(codes: [9]), action: .stop)]
        var h = Harness(Manifest(groups: [group("g", [job("a", onExit: rules), job("b")])]))
        h.check([
            (.start, ["spawn g/a/0", "spawn g/b/0"]),
            (.exit("g/a/0", code: 9), ["failed g", "signal g/b/0 TERM", "arm kill g/b/0 +5000ms"]),
            (.killed("g/b/0", signal: .term), ["cancel kill g/b/0", "spawn g/a/0", "spawn g/b/0"]),
        ])
        #expect(h.engine.groups.first { $0.path == "g" }?.restartsInPeriod == 0)
    }

    @Test func waitingAndStoppedSiblingsAreLeftAlone() {
        var h = Harness(
            Manifest(groups: [group("g", [job("t", restart: .transient), job("a"), job("b")], strategy: .oneForAll)]))
        _ = h.run(.start)
        _ = h.run(.exit("g/t/0", code: 0))  // waits
        _ = h.run(.command(.stop([cid("g/a/0")])))
        _ = h.run(.killed("g/a/0", signal: .term))
        h.check([(.exit("g/b/0", code: 1), ["spawn g/b/0", "arm reset g/b/0 +60000ms"])])
        #expect(h.state("g/t/0") == .waiting)
        #expect(h.state("g/a/0") == .stopped)
    }
}
