import DirectorManifest
import Testing

@testable import DirectorCore

// What the table and the log see: rows, group rows, events and their log switches.

@Suite struct TableEffectTests {
    @Test func rowsFollowEveryStateChange() {
        var h = Harness(Manifest(groups: [group("g", [job("a", delay: .seconds(1))])]))
        h.autoStart = false
        _ = h.run(.start)
        _ = h.run(.started("g/a/0"))
        _ = h.run(.exit("g/a/0", code: 4))
        let rows = h.all.compactMap { if case .childChanged(let s) = $0 { s } else { nil } }
        #expect(rows.map(\.state) == [.starting, .running, .backoff])
        #expect(rows[1].pid == 101)
        #expect(rows[1].startedAt == .zero)
        let last = rows[2]
        #expect(last.pid == nil)
        #expect(last.restarts == 1)
        #expect(last.lastExit?.status == .code(4))
        #expect(last.lastExit?.cause == .exit)
        #expect(last.nextRestartAt == Instant.zero + .seconds(1))
        #expect(last.specHash == h.engine.spec(of: cid("g/a/0"))?.stableHash)
        let groupRows = h.all.compactMap { if case .groupChanged(let g) = $0, g.path == "g" { g } else { nil } }
        #expect(groupRows.last?.restartsInPeriod == 1)
        #expect(groupRows.last?.intensity == 100)
    }

    /// An exit nobody asked for and one an operator asked for: the plain causes.
    @Test func aKillAndAnOperatorStopHaveCauseSignal() {
        var h = Harness(Manifest(groups: [group("g", [job("a"), job("b")])]))
        _ = h.run(.start)
        _ = h.run(.killed("g/a/0", signal: .kill))
        _ = h.run(.command(.stop([cid("g/b/0")])))
        _ = h.run(.killed("g/b/0", signal: .term))
        let rows = h.all.compactMap { if case .childChanged(let s) = $0, s.lastExit != nil { s } else { nil } }
        #expect(rows.first { $0.id == cid("g/a/0") }?.lastExit?.cause == .signal)
        #expect(h.engine.snapshot(of: cid("g/b/0"))?.lastExit?.cause == .signal)
        #expect(h.engine.snapshot(of: cid("g/b/0"))?.state == .stopped)
    }

    @Test(arguments: [
        (LogEvents(), [true, true, true]),
        (LogEvents(start: false, exit: true, restart: false, stop: true), [false, true, false]),
        (LogEvents(start: true, exit: false, restart: true, stop: true), [true, false, true]),
    ])
    func jobLogSwitchesDecideTheLogFlag(events: LogEvents, expected: [Bool]) {
        var spec = JobSpec(name: "a", command: .argv(["/bin/a"]))
        spec.log.events = events
        var h = Harness(Manifest(groups: [GroupSpec(name: "g", children: [.job(spec)])]))
        _ = h.run(.start)
        _ = h.run(.exit("g/a/0", code: 1))
        let flags = [EventKind.start, .exit, .restart].map { h.events($0).first?.log }
        #expect(flags == expected)
        // Records are emitted whatever the switches say; only the flag changes.
        #expect(h.events(.start).count == 2)
    }

    @Test func restoredDecisionsLapseWhenTheJobChanged() {
        let manifest = Manifest(groups: [group("g", [job("p", instances: 1)])])
        let restored = RestoredState(
            stopped: [cid("g/p/0"): "feedfeedfeedfeed"], scaled: ["g/p": .init(instances: 3, specHash: "feedfeedfeedfeed")])
        var h = Harness(manifest, restored: restored)
        #expect(h.run(.start) == ["spawn g/p/0"])
    }

    @Test func shutdownIsRecordedAndGroupsEndStopped() {
        var h = Harness(Manifest(groups: [group("g", [job("a")])]))
        _ = h.run(.start)
        _ = h.run(.command(.shutdown))
        _ = h.run(.killed("g/a/0", signal: .term))
        #expect(h.events(.shutdown).map(\.subject) == [""])
        #expect(h.engine.groups.map(\.state) == [.stopped, .stopped])
        #expect(h.engine.children.map(\.state) == [.stopped])
        #expect(h.all.last == .exit(status: 0))
    }
}
