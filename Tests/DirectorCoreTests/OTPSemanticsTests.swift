import DirectorManifest
import Testing

@testable import DirectorCore

// Scenarios where Director was compared side by side with Erlang/OTP 25's `supervisor`
// (issue 13). Each test states the OTP behaviour it encodes.

@Suite struct TemporaryChildrenTests {
    /// OTP: one_for_all [a, b temporary, c], `kill -9 a` → the supervisor terminates c, then b
    /// (reverse order), starts a and c again, and b is gone from `which_children`
    /// (supervisor.erl: temporary children are never restarted, `restart_multiple_children`
    /// drops them).
    @Test func oneForAllRemovesTheTemporarySiblingItStopped() {
        var h = Harness(Manifest(groups: [
            group("g", [job("a"), job("b", restart: .temporary), job("c")], strategy: .oneForAll)
        ]))
        h.check([
            (.start, ["spawn g/a/0", "spawn g/b/0", "spawn g/c/0"]),
            (.killed("g/a/0", signal: .kill), [
                "signal g/c/0 TERM", "arm kill g/c/0 +5000ms", "signal g/b/0 TERM", "arm kill g/b/0 +5000ms",
            ]),
            (.killed("g/c/0", signal: .term), ["cancel kill g/c/0"]),
            // The plan waits for b's exit too (OTP terminates every covered child before it
            // starts any), then b leaves the table and only a and c start.
            (.killed("g/b/0", signal: .term), [
                "cancel kill g/b/0", "removed g/b/0", "spawn g/a/0", "arm reset g/a/0 +60000ms", "spawn g/c/0",
            ]),
        ])
        #expect(h.engine.children.map(\.id.description) == ["g/a/0", "g/c/0"])
        let deletes = h.events(.delete)
        #expect(deletes.map(\.subject) == ["g/b/0"])
        #expect(deletes.first?.detail.contains("temporary") == true)
        #expect(deletes.first?.detail.contains("one_for_all") == true)
    }

    /// OTP: rest_for_one [a, b temporary, c], `kill a` → c and b are terminated, a and c
    /// start again, b is removed.
    @Test func restForOneRemovesTheTemporaryChildInTheTail() {
        var h = Harness(Manifest(groups: [
            group("g", [job("a"), job("b", restart: .temporary), job("c")], strategy: .restForOne)
        ]))
        h.check([
            (.start, ["spawn g/a/0", "spawn g/b/0", "spawn g/c/0"]),
            (.killed("g/a/0", signal: .term), [
                "signal g/c/0 TERM", "arm kill g/c/0 +5000ms", "signal g/b/0 TERM", "arm kill g/b/0 +5000ms",
            ]),
            (.killed("g/b/0", signal: .term), ["cancel kill g/b/0", "removed g/b/0"]),
            (.killed("g/c/0", signal: .term), ["cancel kill g/c/0", "spawn g/a/0", "arm reset g/a/0 +60000ms", "spawn g/c/0"]),
        ])
        #expect(h.engine.children.map(\.id.description) == ["g/a/0", "g/c/0"])
    }

    /// OTP: a pool of temporary children in one_for_all: when a permanent sibling dies, every
    /// instance is terminated and none is started again.
    @Test func temporaryPoolIsRemovedWhenAPermanentSiblingDies() {
        var h = Harness(Manifest(groups: [
            group("g", [job("w"), job("t", instances: 2, restart: .temporary)], strategy: .oneForAll)
        ]))
        h.check([
            (.start, ["spawn g/w/0", "spawn g/t/0", "spawn g/t/1"]),
            (.exit("g/w/0", code: 1), [
                "signal g/t/1 TERM", "arm kill g/t/1 +5000ms", "signal g/t/0 TERM", "arm kill g/t/0 +5000ms",
            ]),
            (.killed("g/t/1", signal: .term), ["cancel kill g/t/1", "removed g/t/1"]),
            (.killed("g/t/0", signal: .term), ["cancel kill g/t/0", "removed g/t/0", "spawn g/w/0", "arm reset g/w/0 +60000ms"]),
        ])
        #expect(h.engine.children.map(\.id.description) == ["g/w/0"])
    }

    /// OTP: a supervisor restarted by its parent is a new supervisor process whose `init/1`
    /// returns every child spec again, temporary ones included: they start again.
    @Test func aGroupRestartedWholeByItsParentStartsItsTemporaryChildrenAgain() {
        let inner = group("in", [job("p"), job("tt", restart: .temporary)])
        var h = Harness(Manifest(groups: [group("g", [job("x"), nested(inner)], strategy: .oneForAll)]))
        h.check([
            (.start, ["spawn g/x/0", "spawn g/in/p/0", "spawn g/in/tt/0"]),
            // x's crash makes g restart its members: the nested group `in` is one of them,
            // restarted whole.
            (.exit("g/x/0", code: 1), [
                "signal g/in/tt/0 TERM", "arm kill g/in/tt/0 +5000ms", "signal g/in/p/0 TERM", "arm kill g/in/p/0 +5000ms",
            ]),
            (.killed("g/in/tt/0", signal: .term), ["cancel kill g/in/tt/0"]),
            (.killed("g/in/p/0", signal: .term), [
                "cancel kill g/in/p/0", "spawn g/x/0", "arm reset g/x/0 +60000ms", "spawn g/in/p/0", "spawn g/in/tt/0",
            ]),
        ])
        #expect(h.events(.delete).isEmpty)
    }

    /// OTP: the same when the group itself failed (its parent restarts it whole).
    @Test func aFailedGroupStartsItsTemporaryChildrenAgain() {
        let rules = [ExitRule(when: ExitCondition(codes: [9]), action: .stop)]
        var h = Harness(Manifest(groups: [
            group("g", [job("a", onExit: rules), job("t", restart: .temporary)], strategy: .oneForAll)
        ]))
        h.check([
            (.start, ["spawn g/a/0", "spawn g/t/0"]),
            (.exit("g/a/0", code: 9), ["failed g", "signal g/t/0 TERM", "arm kill g/t/0 +5000ms"]),
            (.killed("g/t/0", signal: .term), ["cancel kill g/t/0", "spawn g/a/0", "spawn g/t/0"]),
        ])
        #expect(h.events(.delete).isEmpty)
    }
}

@Suite struct EscalationStopOrderTests {
    /// OTP: g one_for_all [x, in [p, q], y]; `kill in/p` with `in` at intensity 0 → `in`
    /// terminates its own children (q) and exits; then g terminates the siblings it covers in
    /// reverse order (y, x). Everything starts again in order.
    @Test func failingNestedGroupStopsItsOwnChildrenBeforeTheParentsSiblings() {
        let inner = group("in", [job("p"), job("q")], intensity: 0)
        var h = Harness(Manifest(groups: [group("g", [job("x"), nested(inner), job("y")], strategy: .oneForAll)]))
        h.check([
            (.start, ["spawn g/x/0", "spawn g/in/p/0", "spawn g/in/q/0", "spawn g/y/0"]),
            (.killed("g/in/p/0", signal: .kill), [
                "failed g/in", "signal g/in/q/0 TERM", "arm kill g/in/q/0 +5000ms", "signal g/y/0 TERM",
                "arm kill g/y/0 +5000ms", "signal g/x/0 TERM", "arm kill g/x/0 +5000ms",
            ]),
            (.killed("g/in/q/0", signal: .term), ["cancel kill g/in/q/0"]),
            (.killed("g/y/0", signal: .term), ["cancel kill g/y/0"]),
            (.killed("g/x/0", signal: .term), [
                "cancel kill g/x/0", "spawn g/x/0", "spawn g/in/p/0", "arm reset g/in/p/0 +60000ms", "spawn g/in/q/0",
                "spawn g/y/0",
            ]),
        ])
    }

    /// OTP, rest_for_one parent: `in` stops its own children first, then the parent stops the
    /// siblings after `in`, in reverse order.
    @Test func restForOneParentStopsTheTailAfterTheFailedGroupsOwnChildren() {
        let inner = group("in", [job("p"), job("q")], intensity: 0)
        var h = Harness(Manifest(groups: [
            group("g", [job("x"), nested(inner), job("y"), job("z")], strategy: .restForOne)
        ]))
        h.check([
            (.start, ["spawn g/x/0", "spawn g/in/p/0", "spawn g/in/q/0", "spawn g/y/0", "spawn g/z/0"]),
            (.exit("g/in/p/0", code: 1), [
                "failed g/in", "signal g/in/q/0 TERM", "arm kill g/in/q/0 +5000ms", "signal g/z/0 TERM",
                "arm kill g/z/0 +5000ms", "signal g/y/0 TERM", "arm kill g/y/0 +5000ms",
            ]),
        ])
        #expect(h.state("g/x/0") == .running)
    }

    /// OTP: when the escalation goes on (g at intensity 0 fails in turn), each supervisor
    /// still terminates its own children on its way out: q (by `in`), then y and x (by g).
    @Test func escalationChainStopsInnermostFirst() {
        let inner = group("in", [job("p"), job("q")], intensity: 0)
        var h = Harness(Manifest(groups: [
            group("g", [job("x"), nested(inner), job("y")], strategy: .oneForOne, intensity: 0),
            group("h", [job("k")]),
        ]))
        h.check([
            (.start, ["spawn g/x/0", "spawn g/in/p/0", "spawn g/in/q/0", "spawn g/y/0", "spawn h/k/0"]),
            (.killed("g/in/p/0", signal: .kill), [
                "failed g/in", "failed g", "signal g/in/q/0 TERM", "arm kill g/in/q/0 +5000ms", "signal g/y/0 TERM",
                "arm kill g/y/0 +5000ms", "signal g/x/0 TERM", "arm kill g/x/0 +5000ms",
            ]),
        ])
        #expect(h.state("h/k/0") == .running)
    }

    /// OTP: when the root fails, the failing group has already terminated its own children
    /// (q) before the root terminates the other groups in reverse start order (b/s, b/r).
    @Test func rootFailureUnderExitStopsTheFailingGroupFirst() {
        let root = RootPolicy(intensity: 0, period: .seconds(60), onFailure: .exit)
        var h = Harness(
            Manifest(groups: [group("a", [job("p"), job("q")], intensity: 0), group("b", [job("r"), job("s")])]),
            root: root)
        h.check([
            (.start, ["spawn a/p/0", "spawn a/q/0", "spawn b/r/0", "spawn b/s/0"]),
            (.exit("a/p/0", code: 1), [
                "failed a", "failed ", "signal a/q/0 TERM", "arm kill a/q/0 +5000ms", "signal b/s/0 TERM",
                "arm kill b/s/0 +5000ms", "signal b/r/0 TERM", "arm kill b/r/0 +5000ms",
            ]),
            (.killed("a/q/0", signal: .term), ["cancel kill a/q/0"]),
            (.killed("b/s/0", signal: .term), ["cancel kill b/s/0"]),
            (.killed("b/r/0", signal: .term), ["cancel kill b/r/0", "exit 1"]),
        ])
    }
}

// The differences from OTP that stay on purpose (README, docs/engine.md).

@Suite struct DocumentedDifferencesTests {
    /// OTP would start a waiting child again with its siblings when one_for_all restarts
    /// them; here `wait` means an operator decides, and a strategy is not an operator.
    @Test func aWaitingChildIsNotRevivedByItsGroupsRestartByTheParent() {
        let rules = [ExitRule(when: ExitCondition(codes: [9]), action: .stop)]
        var h = Harness(Manifest(groups: [
            group("g", [job("t", restart: .transient), job("a", onExit: rules)], strategy: .oneForAll)
        ]))
        _ = h.run(.start)
        _ = h.run(.exit("g/t/0", code: 0))
        #expect(h.state("g/t/0") == .waiting)
        // a's stop rule fails g; the root restarts g whole: a starts again, t keeps waiting.
        h.check([(.exit("g/a/0", code: 9), ["failed g", "spawn g/a/0"])])
        #expect(h.state("g/t/0") == .waiting)
    }

    /// OTP treats a transient child's `shutdown` exit as normal; processes have no such
    /// reason, so any non-zero exit or signal restarts it (an `on_exit` rule gives OTP's
    /// behaviour: `when: {signal: [TERM]}, do: wait`).
    @Test func aTransientChildRestartsOnAnySignalUnlessARuleSaysOtherwise() {
        var h = Harness(Manifest(groups: [group("g", [job("t", restart: .transient)])]))
        _ = h.run(.start)
        h.check([(.killed("g/t/0", signal: .term), ["spawn g/t/0", "arm reset g/t/0 +60000ms"])])
        let rules = [ExitRule(when: ExitCondition(signals: [.term]), action: .wait)]
        var otp = Harness(Manifest(groups: [group("g", [job("t", restart: .transient, onExit: rules)])]))
        _ = otp.run(.start)
        #expect(otp.run(.killed("g/t/0", signal: .term)) == [])
        #expect(otp.state("g/t/0") == .waiting)
    }
}
