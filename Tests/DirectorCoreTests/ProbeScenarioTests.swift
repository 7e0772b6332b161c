import DirectorManifest
import Testing

@testable import DirectorCore

// Probes on the fake clock: readiness polled with a backoff until the first success or the
// ready timeout; health checks every `interval` once ready, `failures` in a row stopping the
// child with cause `unhealthy`.

private func probeJob(
    _ name: String, ready: ReadySpec? = nil, health: HealthSpec? = nil, onExit: [ExitRule] = []
) -> GroupChild {
    .job(JobSpec(
        name: name, command: .argv(["/bin/srv"]), cwd: "/srv", onExit: onExit,
        shutdown: Shutdown(signal: .term, timeout: .after(.seconds(5))), ready: ready, health: health))
}

@Suite struct ProbeScenarioTests {
    @Test func aTCPReadinessProbeIsPolledWithABackoffAndHoldsBackTheNextChild() {
        var h = Harness(Manifest(groups: [group("g", [probeJob("db", ready: ReadySpec(.probe(.tcp(port: 5432)))), job("api")])]))
        h.check([
            (.start, ["spawn g/db/0", "arm ready_timeout g/db/0 +30000ms", "arm probe g/db/0 +10ms"]),
            (.advance(ms: 10), ["probe g/db/0 ready tcp"]),
            (.probed("g/db/0", ok: false), ["arm probe g/db/0 +20ms"]),
            (.advance(ms: 20), ["probe g/db/0 ready tcp"]),
            (.probed("g/db/0", ok: false), ["arm probe g/db/0 +40ms"]),
            (.advance(ms: 40), ["probe g/db/0 ready tcp"]),
            // The first success: ready, and api (held back) starts.
            (.probed("g/db/0", ok: true), ["cancel ready_timeout g/db/0", "spawn g/api/0"]),
            // A second result of the same probe changes nothing.
            (.probed("g/db/0", ok: true), []),
        ])
        #expect(h.events(.ready).map(\.subject) == ["g/db/0"])
        #expect(h.probeRequests.map(\.number) == [1, 2, 3])
        #expect(h.probeRequests.allSatisfy { $0.timeout == .seconds(1) && $0.probe == .tcp(port: 5432) })
    }

    @Test func thePollBackoffDoublesUpToOneSecond() {
        #expect((0...8).map { Engine.readyPollDelay(afterFailures: $0) } == [
            .milliseconds(10), .milliseconds(20), .milliseconds(40), .milliseconds(80), .milliseconds(160),
            .milliseconds(320), .milliseconds(640), .seconds(1), .seconds(1),
        ])
    }

    @Test func aProbeThatNeverSucceedsEndsInReadyTimeoutAndALateResultIsIgnored() {
        let rules = [ExitRule(when: ExitCondition(causes: ["ready_timeout"]), action: .wait)]
        var h = Harness(Manifest(groups: [group("g", [
            probeJob("db", ready: ReadySpec(.probe(.http(HTTPTarget(url: "http://127.0.0.1:1/")!)), timeout: .milliseconds(100)), onExit: rules),
            job("api"),
        ])]))
        h.check([
            (.start, ["spawn g/db/0", "arm ready_timeout g/db/0 +100ms", "arm probe g/db/0 +10ms"]),
            (.advance(ms: 10), ["probe g/db/0 ready http"]),
            (.probed("g/db/0", ok: false), ["arm probe g/db/0 +20ms"]),
            (.advance(ms: 20), ["probe g/db/0 ready http"]),
            // The poll is still out when the timeout comes: the child is stopped.
            (.advance(ms: 70), ["signal g/db/0 TERM", "arm kill g/db/0 +5000ms"]),
            (.probed("g/db/0", ok: true), []),
            (.killed("g/db/0", signal: .term), ["cancel kill g/db/0", "spawn g/api/0"]),
        ])
        #expect(h.state("g/db/0") == .waiting)
        #expect(h.events(.ready).isEmpty)
        #expect(h.events(.exit).last?.fields.cause == .readyTimeout)
    }

    @Test func healthChecksStartOnceReadyAndFailuresInARowMakeTheChildUnhealthy() {
        let rules = [ExitRule(when: ExitCondition(causes: ["unhealthy"]), action: .restart, after: .seconds(3))]
        let health = HealthSpec(.tcp(port: 80), interval: .seconds(1), timeout: .milliseconds(500), failures: 3)
        var h = Harness(Manifest(groups: [group("g", [probeJob("web", ready: ReadySpec(.notify), health: health, onExit: rules)])]))
        h.check([
            // No health check before the child is ready.
            (.start, ["spawn g/web/0", "arm ready_timeout g/web/0 +30000ms"]),
            (.advance(ms: 2000), []),
            (.ready("g/web/0"), ["cancel ready_timeout g/web/0", "arm probe g/web/0 +1000ms"]),
            (.advance(ms: 1000), ["probe g/web/0 health tcp"]),
            (.probed("g/web/0", ok: false), ["arm probe g/web/0 +1000ms"]),
            (.advance(ms: 1000), ["probe g/web/0 health tcp"]),
            (.probed("g/web/0", ok: false), ["arm probe g/web/0 +1000ms"]),
            (.advance(ms: 1000), ["probe g/web/0 health tcp"]),
            // A success in between starts the count over.
            (.probed("g/web/0", ok: true), ["arm probe g/web/0 +1000ms"]),
            (.advance(ms: 1000), ["probe g/web/0 health tcp"]),
            (.probed("g/web/0", ok: false), ["arm probe g/web/0 +1000ms"]),
            (.advance(ms: 1000), ["probe g/web/0 health tcp"]),
            (.probed("g/web/0", ok: false), ["arm probe g/web/0 +1000ms"]),
            (.advance(ms: 1000), ["probe g/web/0 health tcp"]),
            // The third failure in a row: stopped with its shutdown ...
            (.probed("g/web/0", ok: false), ["signal g/web/0 TERM", "arm kill g/web/0 +5000ms"]),
            // ... and the exit is decided by the rule for `unhealthy`.
            (.killed("g/web/0", signal: .term), ["cancel kill g/web/0", "arm restart g/web/0 +3000ms"]),
        ])
        #expect(h.probeRequests.allSatisfy { $0.purpose == .health && $0.timeout == .milliseconds(500) })
        let notReady = h.events(.notReady)
        #expect(notReady.map(\.fields.reason) == ["unhealthy"])
        #expect(notReady.first?.detail.contains("3 health checks failed in a row (last: connection refused)") == true)
        #expect(h.events(.exit).last?.fields.cause == .unhealthy)
        let causes: [ExitCause] = h.all.compactMap { if case .childChanged(let s) = $0 { s.lastExit?.cause } else { nil } }
        #expect(causes.contains(.unhealthy))
        #expect(h.events(.exit).last?.fields.ruleIndex == 0)
    }

    @Test func aChildWithoutReadyIsCheckedFromItsStartAndAStoppedChildIsNotProbed() {
        var h = Harness(Manifest(groups: [group("g", [probeJob("web", health: HealthSpec(.exec(["/bin/check", "{{instance}}"]), interval: .seconds(2)))])]))
        h.check([
            (.start, ["spawn g/web/0", "arm probe g/web/0 +2000ms"]),
            (.advance(ms: 2000), ["probe g/web/0 health exec"]),
            (.probed("g/web/0", ok: true), ["arm probe g/web/0 +2000ms"]),
            (.command(.stop([cid("g/web/0")])), ["signal g/web/0 TERM", "arm kill g/web/0 +5000ms"]),
            (.advance(ms: 2000), []),
            (.killed("g/web/0", signal: .term), ["cancel kill g/web/0"]),
        ])
        // Templates are expanded for the instance.
        #expect(h.probeRequests.first?.probe == .exec(["/bin/check", "0"]))
        #expect(h.state("g/web/0") == .stopped)
    }

    @Test func healthIsPolicyAReloadAddsOrDropsItWithoutARestart() {
        let plain = Manifest(groups: [group("g", [probeJob("web")])])
        let checked = Manifest(groups: [group("g", [probeJob("web", health: HealthSpec(.tcp(port: 80), interval: .seconds(1)))])])
        var h = Harness(plain)
        h.check([
            (.start, ["spawn g/web/0"]),
            // Added in place: the running child is checked from now on, nothing restarts.
            (.reload(checked), ["arm probe g/web/0 +1000ms"]),
            (.advance(ms: 1000), ["probe g/web/0 health tcp"]),
            (.probed("g/web/0", ok: true), ["arm probe g/web/0 +1000ms"]),
            // Dropped in place: the armed check finds no `health:` and asks for nothing.
            (.reload(plain), []),
            (.advance(ms: 1000), []),
        ])
        #expect(h.lastSummary?.restarted == 0)
        #expect(h.state("g/web/0") == .running)
    }

    @Test func aProbeResultForAnEarlierProcessIsIgnored() {
        var h = Harness(Manifest(groups: [group("g", [probeJob("db", ready: ReadySpec(.probe(.tcp(port: 1))))])]))
        h.check([
            (.start, ["spawn g/db/0", "arm ready_timeout g/db/0 +30000ms", "arm probe g/db/0 +10ms"]),
            (.advance(ms: 10), ["probe g/db/0 ready tcp"]),
        ])
        let old = h.probeRequests[0]
        h.check([
            (.exit("g/db/0", code: 1), ["cancel ready_timeout g/db/0", "spawn g/db/0", "arm ready_timeout g/db/0 +30000ms", "arm probe g/db/0 +10ms", "arm reset g/db/0 +60000ms"]),
        ])
        #expect(h.render(h.engine.handle(old.result(ok: true), at: h.now)) == [])
        #expect(h.engine.snapshot(of: cid("g/db/0"))?.ready == false)
    }
}
