import DirectorManifest
import Testing

@testable import DirectorCore

// Hot reload applies the minimal difference; restored state carries operator decisions over.

@Suite struct ReloadScenarioTests {
    static let before = Manifest(groups: [
        group("web", [job("api", instances: 2), job("old"), job("policy"), job("cmd"), job("t", restart: .transient)]),
        group("gone", [job("x")]),
    ])
    static let after = Manifest(groups: [
        group(
            "web",
            [job("api", instances: 3), job("policy", delay: .seconds(7)), job("cmd", command: ["/bin/other"]),
             job("t", restart: .transient), job("fresh")], strategy: .oneForAll),
        group("added", [job("y")]),
    ])

    @Test func appliesOnlyTheDifference() {
        var h = Harness(Self.before)
        _ = h.run(.start)
        _ = h.run(.exit("web/t/0", code: 0))  // waiting: untouched by the reload
        h.check([
            (.reload(Self.after), [
                // removed group, then removed job, stopped in reverse order
                "signal gone/x/0 TERM", "arm kill gone/x/0 +5000ms",
                "signal web/old/0 TERM", "arm kill web/old/0 +5000ms",
                // cmd's process changed: restarted
                "signal web/cmd/0 TERM", "arm kill web/cmd/0 +5000ms",
                // then starts in tree order: api scaled 2 → 3, the new job, the new group
                "spawn web/api/2", "spawn web/fresh/0", "spawn added/y/0",
            ]),
            (.killed("web/cmd/0", signal: .term), ["cancel kill web/cmd/0", "spawn web/cmd/0"]),
            (.killed("gone/x/0", signal: .term), ["cancel kill gone/x/0", "removed gone/x/0"]),
            (.killed("web/old/0", signal: .term), ["cancel kill web/old/0", "removed web/old/0"]),
        ])
        var expected = ReloadSummary()
        expected.started = 2
        expected.stopped = 2
        expected.restarted = 1
        expected.scaled = 1
        expected.updatedInPlace = 2  // web's strategy, policy's delay
        #expect(h.lastSummary == expected)
        #expect(h.state("web/t/0") == .waiting)
        #expect(h.engine.spec(of: cid("web/policy/0"))?.delay == .seconds(7))
        #expect(h.engine.spec(of: cid("web/cmd/0"))?.command == .argv(["/bin/other", "{{instance}}"]))
        #expect(h.engine.children.map(\.id.description) == [
            "web/api/0", "web/api/1", "web/api/2", "web/policy/0", "web/cmd/0", "web/t/0", "web/fresh/0", "added/y/0",
        ])
        #expect(h.engine.groups.map(\.path) == ["", "web", "added"])
        #expect(h.engine.groups.first { $0.path == "web" }?.strategy == .oneForAll)
        #expect(h.all.contains(.groupRemoved("gone")))
        #expect(h.events(.reload).count == 1)
        // The new strategy applies in place: web is one_for_all now.
        let effects = h.run(.exit("web/fresh/0", code: 1))
        // Every live sibling stops (web/t/0 is waiting and stays so).
        #expect(effects.filter { $0.hasPrefix("signal") }.count == 5)
    }

    @Test func policyOnlyChangeKeepsProcessesAndBackoffTimers() {
        let old = Manifest(groups: [group("g", [job("a", delay: .seconds(5)), job("b")])])
        let new = Manifest(groups: [group("g", [job("a", delay: .seconds(1)), job("b", delay: .seconds(2))])])
        var h = Harness(old)
        _ = h.run(.start)
        _ = h.run(.exit("g/a/0", code: 1))
        #expect(h.run(.reload(new)) == [])
        #expect(h.state("g/a/0") == .backoff)
        #expect(h.engine.snapshot(of: cid("g/b/0"))?.specHash == h.engine.spec(of: cid("g/b/0"))?.stableHash)
        #expect(h.run(.advance(ms: 5000)) == ["spawn g/a/0", "arm reset g/a/0 +60000ms"])
        #expect(h.run(.exit("g/b/0", code: 1)) == ["arm restart g/b/0 +2000ms"])
    }

    @Test func restoredStateKeepsOperatorDecisionsWhileTheHashMatches() {
        let manifest = Manifest(groups: [group("g", [job("a"), job("b"), job("p", instances: 2)])])
        guard case .job(let a) = manifest.groups[0].children[0], case .job(let p) = manifest.groups[0].children[2]
        else { return }
        let restored = RestoredState(
            stopped: [cid("g/a/0"): a.stableHash, cid("g/b/0"): "0000000000000000"],
            scaled: ["g/p": .init(instances: 3, specHash: p.stableHash)],
            restarts: [cid("g/b/0"): 4])
        var h = Harness(manifest, restored: restored)
        #expect(h.run(.start) == ["spawn g/b/0", "arm reset g/b/0 +60000ms", "spawn g/p/0", "spawn g/p/1", "spawn g/p/2"])
        #expect(h.state("g/a/0") == .stopped)
        #expect(h.restarts("g/b/0") == 4)
    }
}
