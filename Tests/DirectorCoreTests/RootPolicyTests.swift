import DirectorManifest
import Testing

@testable import DirectorCore

// The root policy (`--root-failure give-up|exit`). OTP has only `exit` (a supervisor whose
// intensity is exceeded terminates, and the root takes the node down); `give-up` is
// Director's operator-safe default: the group that fails too often is given up alone.

@Suite struct RootPolicyTests {
    static func tree() -> Manifest {
        Manifest(groups: [group("bad", [job("tool"), job("peer")], intensity: 0), group("good", [job("s")])])
    }

    /// A group failing more often than the root allows is given up: its children stop
    /// (reverse order) and stay stopped, its state is `failed`, the other group is untouched
    /// and the engine never exits.
    @Test func giveUpStopsOnlyTheFailingGroup() {
        var h = Harness(Self.tree(), root: RootPolicy(intensity: 1, period: .seconds(60)))
        h.check([
            (.start, ["spawn bad/tool/0", "spawn bad/peer/0", "spawn good/s/0"]),
            // First failure: the root restarts bad whole (OTP).
            (.exit("bad/tool/0", code: 1), ["failed bad", "signal bad/peer/0 TERM", "arm kill bad/peer/0 +5000ms"]),
            (.killed("bad/peer/0", signal: .term), [
                "cancel kill bad/peer/0", "spawn bad/tool/0", "arm reset bad/tool/0 +60000ms", "spawn bad/peer/0",
            ]),
            // Second failure within the window: more than the root's intensity 1 → given up.
            (.exit("bad/tool/0", code: 1), [
                "cancel reset bad/tool/0", "failed bad", "given up bad", "signal bad/peer/0 TERM", "arm kill bad/peer/0 +5000ms",
            ]),
            (.killed("bad/peer/0", signal: .term), ["cancel kill bad/peer/0"]),
            (.advance(ms: 120_000), []),
        ])
        #expect(h.engine.groups.first { $0.path == "bad" }?.state == .failed)
        #expect(h.engine.groups.first { $0.path == "good" }?.state == .running)
        #expect(h.state("bad/tool/0") == .stopped && h.state("bad/peer/0") == .stopped)
        #expect(h.state("good/s/0") == .running)
        #expect(!h.engine.isStopped)
        let given = h.events(.groupGivenUp)
        #expect(given.map(\.subject) == ["bad"])
        #expect(given.first?.severity == .error)
        #expect(given.first?.detail.contains("director start bad") == true)
    }

    /// Each top-level group has its own window at the root: one broken group cannot use up
    /// a healthy group's allowance.
    @Test func anotherGroupsFailuresDoNotCount() {
        let m = Manifest(groups: [group("a", [job("x")], intensity: 0), group("b", [job("y")], intensity: 0)])
        var h = Harness(m, root: RootPolicy(intensity: 1, period: .seconds(60)))
        _ = h.run(.start)
        _ = h.run(.exit("a/x/0", code: 1))
        _ = h.run(.exit("a/x/0", code: 1))  // a given up
        #expect(h.engine.groups.first { $0.path == "a" }?.state == .failed)
        // b's first failure is an ordinary restart.
        h.check([(.exit("b/y/0", code: 1), ["failed b", "spawn b/y/0", "arm reset b/y/0 +60000ms"])])
        #expect(h.engine.groups.first { $0.path == "b" }?.state == .running)
    }

    /// `start` of a group given up starts it as a fresh supervisor: every child the give-up
    /// stopped starts in order, its window is empty (the next failure is a restart again).
    @Test func startOfAGivenUpGroupStartsItWithAFreshWindow() {
        var h = Harness(Self.tree(), root: RootPolicy(intensity: 0, period: .seconds(60)))
        _ = h.run(.start)
        _ = h.run(.exit("bad/tool/0", code: 1))
        _ = h.run(.killed("bad/peer/0", signal: .term))
        #expect(h.engine.groups.first { $0.path == "bad" }?.state == .failed)
        // Neither a restart timer nor a scale starts anything in a failed group.
        h.check([(.command(.scale(job: "bad/peer", instances: 2)), [])])
        #expect(h.state("bad/peer/1") == .stopped)
        h.check([
            (.command(.start([cid("bad/tool/0")])), [
                "started group bad", "spawn bad/tool/0", "spawn bad/peer/0", "spawn bad/peer/1",
            ])
        ])
        #expect(h.lastReply == .ok([cid("bad/tool/0")]))
        #expect(h.engine.groups.first { $0.path == "bad" }?.state == .running)
        #expect(h.restarts("bad/tool/0") == 0)
        // Fresh window at the root too, but intensity 0 gives it up at its next failure.
        h.check([
            (.exit("bad/tool/0", code: 1), [
                "failed bad", "given up bad", "signal bad/peer/1 TERM", "arm kill bad/peer/1 +5000ms",
                "signal bad/peer/0 TERM", "arm kill bad/peer/0 +5000ms",
            ])
        ])
    }

    /// Starting a group while its children are still stopping: they come back once exited.
    @Test func startWhileStoppingBringsTheChildrenBack() {
        var h = Harness(Self.tree(), root: RootPolicy(intensity: 0, period: .seconds(60)))
        _ = h.run(.start)
        _ = h.run(.exit("bad/tool/0", code: 1))
        #expect(h.state("bad/peer/0") == .stopping)
        h.check([
            (.command(.start([cid("bad/peer/0")])), ["started group bad", "spawn bad/tool/0"]),
            (.killed("bad/peer/0", signal: .term), ["cancel kill bad/peer/0", "spawn bad/peer/0"]),
        ])
        #expect(h.engine.groups.first { $0.path == "bad" }?.state == .running)
    }

    /// A reload that changes a group given up starts it again; one that leaves it alone
    /// does not.
    @Test func aReloadThatChangesTheGroupStartsItAgain() {
        var h = Harness(Self.tree(), root: RootPolicy(intensity: 0, period: .seconds(60)))
        _ = h.run(.start)
        _ = h.run(.exit("bad/tool/0", code: 1))
        _ = h.run(.killed("bad/peer/0", signal: .term))
        let otherChange = Manifest(groups: [
            group("bad", [job("tool"), job("peer")], intensity: 0), group("good", [job("s"), job("t")]),
        ])
        h.check([(.reload(otherChange), ["spawn good/t/0"])])
        #expect(h.engine.groups.first { $0.path == "bad" }?.state == .failed)
        let fixed = Manifest(groups: [
            group("bad", [job("tool", command: ["/bin/fixed"]), job("peer")], intensity: 0),
            group("good", [job("s"), job("t")]),
        ])
        h.check([(.reload(fixed), ["started group bad", "spawn bad/tool/0", "spawn bad/peer/0"])])
        #expect(h.engine.groups.first { $0.path == "bad" }?.state == .running)
    }

    /// Escalation inside a group keeps OTP's meaning under give-up: a nested group failing
    /// is restarted by its parent; only the top-level group can be given up.
    @Test func nestedEscalationKeepsOTPMeaning() {
        let inner = group("in", [job("p")], intensity: 0)
        var h = Harness(Manifest(groups: [group("g", [job("x"), nested(inner)], intensity: 5)]))
        h.check([
            (.start, ["spawn g/x/0", "spawn g/in/p/0"]),
            (.exit("g/in/p/0", code: 1), ["failed g/in", "spawn g/in/p/0", "arm reset g/in/p/0 +60000ms"]),
        ])
        #expect(h.engine.groups.allSatisfy { $0.state == .running })
    }

    /// `exit` is OTP's root: the tree stops and `.exit(1)` follows.
    @Test func exitPolicyStopsTheTree() {
        var h = Harness(Self.tree(), root: RootPolicy(intensity: 0, period: .seconds(60), onFailure: .exit))
        _ = h.run(.start)
        let effects = h.run(.exit("bad/tool/0", code: 1))
        #expect(effects.contains("failed "))
        #expect(!effects.contains("given up bad"))
        _ = h.run(.killed("bad/peer/0", signal: .term))
        #expect(h.run(.killed("good/s/0", signal: .term)).last == "exit 1")
    }
}

// What survives a daemon restart: one place, the engine's carry-over.

@Suite struct CarryOverTests {
    static let m = Manifest(groups: [group("g", [job("t", restart: .transient), job("a", instances: 2)])])

    /// Director (not OTP: an OTP node restart starts every child): a child waiting for an
    /// operator stays waiting across a daemon restart, with its last exit, until its job
    /// changes — as an operator's stop does.
    @Test func waitingChildIsCarriedOverAndRestoredWithItsLastExit() {
        var h = Harness(Self.m)
        _ = h.run(.start)
        _ = h.run(.advance(ms: 500))
        _ = h.run(.exit("g/t/0", code: 0))
        #expect(h.state("g/t/0") == .waiting)
        let hash = h.engine.spec(of: cid("g/t/0"))!.stableHash
        #expect(h.engine.carryOver.waiting == [cid("g/t/0"): hash])
        _ = h.run(.command(.stop([cid("g/a/1")])))
        _ = h.run(.command(.scale(job: "g/a", instances: 3)))
        #expect(h.engine.carryOver.stopped == [cid("g/a/1"): hash2(h, "g/a/1")])
        #expect(h.engine.carryOver.scaled["g/a"]?.instances == 3)

        // The next daemon: what was carried over, plus the rows' last exits.
        var restored = h.engine.carryOver
        restored.lastExits = [cid("g/t/0"): .init(status: .code(0), at: Instant.zero + .milliseconds(500), cause: .unhealthy)]
        restored.restarts = [cid("g/t/0"): 2]
        var next = Harness(Self.m, restored: restored)
        #expect(next.run(.start) == ["spawn g/a/0", "spawn g/a/2"])
        #expect(next.state("g/t/0") == .waiting)
        #expect(next.engine.snapshot(of: cid("g/t/0"))?.lastExit?.status == .code(0))
        #expect(next.engine.snapshot(of: cid("g/t/0"))?.lastExit?.at == Instant.zero + .milliseconds(500))
        #expect(next.engine.snapshot(of: cid("g/t/0"))?.lastExit?.cause == .unhealthy, "the cause carries over too")
        // A row from a daemon that did not record causes: the status's plain cause.
        restored.lastExits[cid("g/t/0")]?.cause = nil
        var older = Harness(Self.m, restored: restored)
        _ = older.run(.start)
        #expect(older.engine.snapshot(of: cid("g/t/0"))?.lastExit?.cause == .exit)
        #expect(next.restarts("g/t/0") == 2)
        #expect(next.state("g/a/1") == .stopped)
        #expect(next.engine.carryOver == h.engine.carryOver, "the next daemon carries the same decisions on")

        // An operator start ends the wait, and the carry-over forgets it.
        _ = next.run(.command(.start([cid("g/t/0")])))
        #expect(next.engine.carryOver.waiting.isEmpty)
    }

    /// A changed job ends what was carried over for it.
    @Test func aChangedJobEndsItsCarriedDecisions() {
        var h = Harness(Self.m)
        _ = h.run(.start)
        _ = h.run(.exit("g/t/0", code: 0))
        let restored = h.engine.carryOver
        let changed = Manifest(groups: [group("g", [job("t", restart: .transient, command: ["/bin/v2"]), job("a", instances: 2)])])
        var next = Harness(changed, restored: restored)
        #expect(next.run(.start) == ["spawn g/t/0", "spawn g/a/0", "spawn g/a/1"])
        #expect(next.engine.carryOver.waiting.isEmpty)
        // In a running daemon, a reload that changes the job does the same.
        _ = h.run(.reload(changed))
        #expect(h.engine.carryOver.waiting.isEmpty)
    }

    /// The revision moves only when the carry-over changes (the runtime writes it then).
    @Test func revisionMovesOnlyOnChange() {
        var h = Harness(Self.m)
        _ = h.run(.start)
        let r0 = h.engine.carryOverRevision
        _ = h.run(.exit("g/a/0", code: 1))
        #expect(h.engine.carryOverRevision == r0)
        _ = h.run(.exit("g/t/0", code: 0))
        #expect(h.engine.carryOverRevision == r0 + 1)
    }

}

private func hash2(_ h: Harness, _ id: String) -> String { h.engine.spec(of: cid(id))!.stableHash }

// Events as data: the runtime renders log lines from severity and fields, never from text.

@Suite struct EventSeverityTests {
    @Test func crashesWarnNormalAndRequestedExitsInformFailuresAreErrors() {
        let rules = [ExitRule(when: ExitCondition(codes: [3]), action: .restart, after: .seconds(2))]
        var h = Harness(Manifest(groups: [group("g", [job("a", onExit: rules), job("b")])]))
        h.autoStart = false
        _ = h.run(.start)
        _ = h.run(.started("g/a/0"))
        _ = h.run(.started("g/b/0"))
        _ = h.run(.exit("g/a/0", code: 3))
        _ = h.run(.advance(ms: 2000))
        _ = h.run(.started("g/a/0"))
        _ = h.run(.exit("g/a/0", code: 0))
        _ = h.run(.command(.stop([cid("g/b/0")])))
        _ = h.run(.killed("g/b/0", signal: .term))
        _ = h.run(.spawnFailed("g/a/0"))
        let exits = h.events(.exit)
        #expect(exits.map(\.severity) == [.warning, .info, .info])
        #expect(exits[0].fields.status == .code(3) && exits[0].fields.ruleIndex == 0 && exits[0].fields.requested == false)
        #expect(exits[0].fields.pid != nil && exits[0].fields.cause == .exit)
        // Killed by TERM, but asked for: info, and says so.
        #expect(exits[2].fields.status == .signal(.term) && exits[2].fields.requested == true)
        let restart = h.events(.restart).first
        #expect(restart?.fields.delay == .seconds(2) && restart?.fields.restarts == 1 && restart?.fields.ruleIndex == 0)
        let failed = h.events(.spawnFailed).first
        #expect(failed?.severity == .error && failed?.fields.cause == .spawnFailed)
        #expect(h.events(.stop).first?.fields.signal == .term)
    }
}
