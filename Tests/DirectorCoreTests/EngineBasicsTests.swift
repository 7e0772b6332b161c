import DirectorManifest
import Testing

@testable import DirectorCore

@Suite struct EngineBasicsTests {
    @Test func startsInTreeOrderWithResolvedLaunchSpecs() {
        let manifest = Manifest(groups: [
            group("web", [job("api", instances: 2), nested(group("cache", [job("redis")]))]),
            group("zeta", [job("w")]),
        ])
        var engine = Engine(manifest: manifest, seed: 1)
        let effects = engine.start(at: .zero)
        let spawned = effects.compactMap { if case .spawn(let l) = $0 { l } else { nil } }
        #expect(spawned.map(\.id.description) == ["web/api/0", "web/api/1", "web/cache/redis/0", "zeta/w/0"])
        #expect(spawned[1].argv == ["/bin/worker", "1"])
        #expect(spawned[1].env.contains(EnvVar(name: "DIRECTOR_ID", value: "web/api/1")))
        #expect(spawned[2].env.contains(EnvVar(name: "DIRECTOR_GROUP", value: "web/cache")))
        #expect(engine.children.map(\.state) == [.starting, .starting, .starting, .starting])
        #expect(engine.groups.map(\.path) == ["", "web", "web/cache", "zeta"])
        #expect(engine.children[0].specHash == engine.spec(of: cid("web/api/0"))!.stableHash)
    }

    @Test(arguments: [
        ("web", ["web/api/0", "web/api/1", "web/cache/redis/0"]),
        ("web/api", ["web/api/0", "web/api/1"]),
        ("web/api/1", ["web/api/1"]),
        ("web/ap", []),
        ("web/cache", ["web/cache/redis/0"]),
        ("nope", []),
    ])
    func idsMatchWholeSegments(prefix: String, expected: [String]) {
        let engine = Engine(
            manifest: Manifest(groups: [group("web", [job("api", instances: 2), nested(group("cache", [job("redis")]))])]))
        #expect(engine.ids(matching: prefix).map(\.description) == expected)
    }

    @Test func startedMakesRunningAndStaleEventsAreIgnored() {
        var h = Harness(Manifest(groups: [group("g", [job("a")])]))
        h.autoStart = false
        h.check([
            (.start, ["spawn g/a/0"]),
            (.started("g/a/0"), []),
        ])
        #expect(h.state("g/a/0") == .running)
        // An exit for an old pid, an unknown id, a stale timer: nothing happens.
        #expect(h.engine.handle(.exited(cid("g/a/0"), pid: 1, status: .code(1)), at: h.now).isEmpty)
        #expect(h.engine.handle(.exited(cid("g/zz/0"), pid: 101, status: .code(1)), at: h.now).isEmpty)
        #expect(h.engine.handle(.timerFired(.restart(cid("g/a/0"))), at: h.now).isEmpty)
        #expect(h.engine.handle(.timerFired(.shutdownTimeout(cid("g/q/3"))), at: h.now).isEmpty)
        #expect(h.engine.handle(.started(cid("g/a/0"), pid: 555), at: h.now).isEmpty)
        #expect(h.state("g/a/0") == .running)
        #expect(h.engine.snapshot(of: cid("g/a/0"))?.pid == 101)
    }

    @Test func traceLineNamesEventStatesAndEffects() {
        let line = Engine.traceLine(
            event: .exited(cid("web/api/0"), pid: 12, status: .code(1)), before: .running, after: .starting,
            effects: [.spawn(LaunchSpec(id: cid("web/api/0"), argv: ["x"], cwd: "/", env: [], log: LogPolicy()))])
        #expect(line == "exited web/api/0 pid=12 code=1 | running -> starting | spawn(web/api/0)")
    }
}
