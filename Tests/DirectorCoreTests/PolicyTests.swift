import DirectorManifest
import Testing

@testable import DirectorCore

// The pure pieces: exit rules, backoff schedule, restart intensity window, manifest diff.

@Suite struct ExitDecisionTests {
    static let rules = [
        ExitRule(when: ExitCondition(codes: [0]), action: .delete),
        ExitRule(when: ExitCondition(signals: [.kill], minRestarts: 2), action: .stop, log: false),
        ExitRule(when: ExitCondition(codes: [3], signals: [ProcessSignal(name: "SEGV")!]), action: .wait),
        ExitRule(when: ExitCondition(minRestarts: 5), action: .restart, after: .seconds(10)),
    ]

    @Test(arguments: [
        (ChildExitStatus.code(0), 0, ExitAction.delete, 0 as Int?),
        (.signal(.kill), 1, .restart, nil),  // restarts below 2: rule 1 does not hold
        (.signal(.kill), 2, .stop, 1),
        (.code(3), 0, .wait, 2),
        (.signal(ProcessSignal(name: "SEGV")!), 0, .wait, 2),  // codes and signals together: either
        (.code(4), 5, .restart, 3),
        (.code(4), 4, .restart, nil),
    ])
    func firstMatchingRuleWins(status: ChildExitStatus, restarts: Int, action: ExitAction, rule: Int?) {
        let job = JobSpec(name: "j", command: .argv(["x"]), onExit: Self.rules)
        let decision = ExitDecision.decide(job: job, status: status, restarts: restarts)
        #expect(decision.action == action)
        #expect(decision.ruleIndex == rule)
        #expect(decision.log == (rule != 1))
        #expect(decision.after == (rule == 3 ? Duration.seconds(10) : nil))
    }

    @Test(arguments: [
        (RestartType.permanent, ChildExitStatus.code(0), ExitAction.restart),
        (.permanent, .code(1), .restart),
        (.transient, .code(0), .wait),
        (.transient, .code(1), .restart),
        (.transient, .signal(.term), .restart),
        (.temporary, .code(1), .delete),
        (.temporary, .code(0), .delete),
    ])
    func restartTypeDecidesWithoutRules(type: RestartType, status: ChildExitStatus, action: ExitAction) {
        let job = JobSpec(name: "j", command: .argv(["x"]), restart: type)
        #expect(ExitDecision.decide(job: job, status: status, restarts: 0) == ExitDecision(action: action))
    }
}

@Suite struct BackoffScheduleTests {
    @Test func growsByFactorAndStopsAtTheCap() {
        var random = SplitMix64(seed: 7)
        let backoff = Backoff(initial: .milliseconds(100), max: .seconds(1), factor: 2, jitter: 0)
        let delays = (0..<7).map { BackoffSchedule.delay(backoff: backoff, restarts: $0, random: &random) }
        #expect(delays == [100, 200, 400, 800, 1000, 1000, 1000].map { .milliseconds($0) })
        // A huge count neither overflows nor passes the cap.
        let huge = BackoffSchedule.delay(backoff: backoff, restarts: 10_000, random: &random)
        #expect(huge == .seconds(1))
    }

    @Test(arguments: [1 as UInt64, 2, 3])
    func jitterStaysWithinBoundsAndIsSeeded(seed: UInt64) {
        let backoff = Backoff(initial: .seconds(1), max: .seconds(1), factor: 2, jitter: 0.2)
        var random = SplitMix64(seed: seed)
        var replay = SplitMix64(seed: seed)
        var seen = Set<Duration>()
        for _ in 0..<2000 {
            let d = BackoffSchedule.delay(backoff: backoff, restarts: 3, random: &random)
            let again = BackoffSchedule.delay(backoff: backoff, restarts: 3, random: &replay)
            #expect(d >= .milliseconds(800) && d <= .milliseconds(1200))
            #expect(d == again)
            seen.insert(d)
        }
        #expect(seen.count > 100)  // it really spreads
    }

    @Test func ruleAfterOverridesBackoffAndDelay() {
        var random = SplitMix64(seed: 1)
        let job = JobSpec(name: "j", command: .argv(["x"]), delay: .seconds(3))
        let fixed = BackoffSchedule.delay(job: job, ruleAfter: nil, restarts: 9, random: &random)
        let ruled = BackoffSchedule.delay(job: job, ruleAfter: .seconds(1), restarts: 9, random: &random)
        #expect(fixed == .seconds(3))
        #expect(ruled == .seconds(1))
    }
}

@Suite struct RestartIntensityTests {
    @Test func failsOnlyWhenMoreThanIntensityFallInsideThePeriod() {
        var window = RestartIntensity(intensity: 2, period: .seconds(10))
        func at(_ s: Int64) -> Instant { Instant(nanoseconds: s * 1_000_000_000) }
        let results = [0, 5, 10, 11].map { window.record(at: at($0)) }
        // At 10 the restart at 0 has left the window; at 11 there are three: 5, 10, 11.
        #expect(results == [false, false, false, true])
        #expect(window.count(at: at(11)) == 3)
        window.reset()
        #expect(window.count(at: at(11)) == 0)
    }

    @Test func zeroIntensityFailsOnTheFirstRestart() {
        var window = RestartIntensity(intensity: 0, period: .seconds(1))
        let failed = window.record(at: .zero)
        #expect(failed)
    }
}

@Suite struct ManifestDiffTests {
    @Test func classifiesEveryKindOfChange() {
        let old = Manifest(groups: [
            group("web", [job("api", instances: 2), job("old"), job("policy"), job("cmd")], intensity: 5),
            group("gone", [job("x")]),
        ])
        let new = Manifest(groups: [
            group(
                "web",
                [job("api", instances: 3), job("policy", delay: .seconds(2)), job("cmd", command: ["/bin/other"]),
                 job("fresh")], intensity: 6),
            group("added", [job("y"), nested(group("inner", [job("z")]))]),
        ])
        let diff = ManifestDiff.between(old, new)
        #expect(diff.addedGroups == ["added", "added/inner"])
        #expect(diff.removedGroups == ["gone"])
        #expect(diff.updatedGroups == ["web"])
        #expect(diff.addedJobs == ["web/fresh"])
        #expect(diff.removedJobs == ["web/old"])
        #expect(diff.restartedJobs == ["web/cmd"])
        #expect(diff.scaledJobs == ["web/api"])
        #expect(diff.updatedJobs == ["web/policy"])
        #expect(ManifestDiff.between(new, new).isEmpty)
    }
}
