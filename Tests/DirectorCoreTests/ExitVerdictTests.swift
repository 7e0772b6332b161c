import DirectorManifest
import Testing

@testable import DirectorCore

// Exits decided outside the engine (`ExitVerdictSource.asked`): the question, the answer,
// verdicts that differ from the rules, and answers that come too late. "ask ID STATUS ->
// ACTION" is a `.decideExit` effect with its proposed action.

@Suite struct ExitVerdictTests {
    static let restart = ExitDecision(action: .restart)
    static let delete = ExitDecision(action: .delete)
    static let wait = ExitDecision(action: .wait)

    static func asked(_ groups: [GroupSpec], root: RootPolicy = RootPolicy()) -> Harness {
        Harness(Manifest(groups: groups), root: root, exitVerdicts: .asked)
    }

    // MARK: The question and the answer

    @Test func crashIsAskedAboutAndTheChildWaitsWithoutAProcess() {
        var h = Self.asked([group("g", [job("a")])])
        h.check([
            (.start, ["spawn g/a/0"]),
            (.exit("g/a/0", code: 1), ["ask g/a/0 code=1 -> restart"]),
        ])
        #expect(
            h.question("g/a/0")
                == ExitQuestion(
                    number: 1, id: cid("g/a/0"), jobKey: "g/a", pid: 101, status: .code(1), restarts: 0,
                    proposed: Self.restart))
        let row = h.engine.snapshot(of: cid("g/a/0"))
        #expect(row?.state == .backoff && row?.pid == nil && row?.nextRestartAt == nil)
        #expect(row?.lastExit?.status == .code(1))
        #expect(!h.engine.awaitsSpawn(cid("g/a/0")))
        #expect(h.events(.exit).isEmpty, "the exit's event waits for the answer")
        #expect(h.events(.restart).isEmpty)

        h.check([(.decide("g/a/0", Self.restart), ["spawn g/a/0", "arm reset g/a/0 +60000ms"])])
        #expect(h.question("g/a/0") == nil)
        #expect(h.restarts("g/a/0") == 1 && h.state("g/a/0") == .running)
        let exit = h.events(.exit).first
        #expect(h.events(.exit).count == 1)
        #expect(exit?.fields == EventFields(pid: 101, status: .code(1), cause: .exit, requested: false))
        #expect(exit?.detail == "pid=101 code=1" && exit?.severity == .warning && exit?.log == true)
        #expect(h.engine.groups.first { $0.path == "g" }?.restartsInPeriod == 1)
    }

    @Test func answerInTheSameDrainActsLikeTheRules() {
        var h = Self.asked([group("g", [job("a")])])
        h.answerAtOnce = { $0.proposed }
        h.check([
            (.start, ["spawn g/a/0"]),
            (.exit("g/a/0", code: 1), ["ask g/a/0 code=1 -> restart", "spawn g/a/0", "arm reset g/a/0 +60000ms"]),
        ])
        #expect(h.restarts("g/a/0") == 1 && h.events(.exit).count == 1)
    }

    @Test func anExecFailureAfterTheSpawnIsAskedAboutWithoutAPidToo() {
        // The process existed (the spawn returned before its exec) but never ran the program:
        // the question and the events are those of a spawn failure.
        let rules = [ExitRule(when: ExitCondition(codes: [127]), action: .wait)]
        var h = Self.asked([group("g", [job("a", onExit: rules)])])
        h.check([
            (.start, ["spawn g/a/0"]),
            (.execFailed("g/a/0"), ["ask g/a/0 code=127 -> wait"]),
        ])
        let q = h.question("g/a/0")
        #expect(q?.pid == nil && q?.status == .code(127))
        h.check([(.decide("g/a/0", q!.proposed), [])])
        #expect(h.state("g/a/0") == .waiting)
        #expect(h.events(.spawnFailed).count == 1)
        #expect(h.events(.exit).isEmpty, "no exit event for a process that never ran the program")
    }

    @Test func spawnFailureIsAskedAboutWithoutAPid() {
        let rules = [ExitRule(when: ExitCondition(codes: [127]), action: .wait)]
        var h = Self.asked([group("g", [job("a", onExit: rules), job("b")])])
        h.autoStart = false
        h.check([
            (.start, ["spawn g/a/0", "spawn g/b/0"]),
            (.spawnFailed("g/a/0"), ["ask g/a/0 code=127 -> wait"]),
            (.spawnFailed("g/b/0"), ["ask g/b/0 code=127 -> restart"]),
        ])
        let q = h.question("g/a/0")
        #expect(q?.pid == nil && q?.status == .code(127) && q?.proposed == ExitDecision(action: .wait, ruleIndex: 0))
        #expect(h.events(.spawnFailed).count == 2, "recorded at the failure, not at the answer")
        h.check([
            (.decide("g/a/0", q!.proposed), []),
            (.decide("g/b/0", Self.restart), ["spawn g/b/0"]),
        ])
        #expect(h.state("g/a/0") == .waiting && h.state("g/b/0") == .starting)
        #expect(h.events(.wait).map(\.fields.ruleIndex) == [0])
        #expect(h.events(.exit).isEmpty, "a spawn failure has no exit event, as under the rules")
    }

    @Test func theExitEventCarriesTheVerdictsLogAndRule() {
        let rules = [ExitRule(when: ExitCondition(codes: [1]), action: .restart)]
        var h = Self.asked([group("g", [job("a", onExit: rules)])])
        h.check([
            (.start, ["spawn g/a/0"]),
            (.exit("g/a/0", code: 1), ["ask g/a/0 code=1 -> restart"]),
        ])
        #expect(h.question("g/a/0")?.proposed == ExitDecision(action: .restart, ruleIndex: 0))
        // The rule's decision, but hidden from the log: the exit and the restart both.
        h.check([(.decide("g/a/0", ExitDecision(action: .restart, ruleIndex: 0, log: false)), ["spawn g/a/0", "arm reset g/a/0 +60000ms"])])
        #expect(h.events(.exit).map(\.log) == [false])
        #expect(h.events(.exit).map(\.fields.ruleIndex) == [0])
        #expect(h.events(.restart).map(\.log) == [false])

        // No rule matches code 2; the answer names a rule that does not exist: no rule index.
        h.check([(.exit("g/a/0", code: 2), ["cancel reset g/a/0", "ask g/a/0 code=2 -> restart"])])
        #expect(h.question("g/a/0")?.restarts == 1)
        #expect(h.question("g/a/0")?.proposed == Self.restart)
        h.check([(.decide("g/a/0", ExitDecision(action: .restart, ruleIndex: 7)), ["spawn g/a/0", "arm reset g/a/0 +60000ms"])])
        #expect(h.events(.exit).map(\.log) == [false, true])
        #expect(h.events(.exit).map(\.fields.ruleIndex) == [0, nil])
        #expect(h.events(.restart).map(\.fields.ruleIndex) == [0, nil])
    }

    // MARK: Verdicts that differ from the rules

    @Test func rulesSayRestartVerdictSaysDelete() {
        var h = Self.asked([group("g", [job("a"), job("b")])])
        h.check([
            (.start, ["spawn g/a/0", "spawn g/b/0"]),
            (.exit("g/a/0", code: 1), ["ask g/a/0 code=1 -> restart"]),
            (.decide("g/a/0", Self.delete), ["removed g/a/0"]),
        ])
        #expect(h.engine.snapshot(of: cid("g/a/0")) == nil)
        #expect(h.events(.delete).map(\.subject) == ["g/a/0"])
        #expect(h.events(.exit).map(\.fields.ruleIndex) == [nil])
        #expect(h.events(.restart).isEmpty)
        #expect(h.engine.groups.first { $0.path == "g" }?.restartsInPeriod == 0)
    }

    @Test func rulesSayDeleteVerdictSaysRestartAfterTwoSeconds() {
        var h = Self.asked([group("g", [job("once", restart: .temporary)])])
        h.check([
            (.start, ["spawn g/once/0"]),
            (.exit("g/once/0", code: 1), ["ask g/once/0 code=1 -> delete"]),
            (.decide("g/once/0", ExitDecision(action: .restart, after: .seconds(2))), ["arm restart g/once/0 +2000ms"]),
            (.advance(ms: 1999), []),
            (.advance(ms: 1), ["spawn g/once/0", "arm reset g/once/0 +60000ms"]),
        ])
        #expect(h.restarts("g/once/0") == 1)
        #expect(h.events(.restart).map(\.fields.delay) == [.seconds(2)])
        #expect(h.events(.delete).isEmpty)
    }

    @Test func verdictStopFailsTheGroupAndItsParentRestartsIt() {
        var h = Self.asked([group("g", [job("a"), job("b")])])
        h.check([
            (.start, ["spawn g/a/0", "spawn g/b/0"]),
            (.exit("g/a/0", code: 1), ["ask g/a/0 code=1 -> restart"]),
            (.decide("g/a/0", ExitDecision(action: .stop)), ["failed g", "signal g/b/0 TERM", "arm kill g/b/0 +5000ms"]),
            (.killed("g/b/0", signal: .term), ["cancel kill g/b/0", "spawn g/a/0", "spawn g/b/0"]),
        ])
        #expect(h.events(.groupFailed).map(\.fields.reason) == ["stop_rule"])
    }

    @Test func verdictWaitLeavesItToAnOperator() {
        var h = Self.asked([group("g", [job("a")])])
        h.check([
            (.start, ["spawn g/a/0"]),
            (.exit("g/a/0", code: 0), ["ask g/a/0 code=0 -> restart"]),
            (.decide("g/a/0", Self.wait), []),
        ])
        #expect(h.state("g/a/0") == .waiting)
        #expect(h.engine.carryOver.waiting[cid("g/a/0")] != nil)
        #expect(h.events(.exit).map(\.severity) == [.info])
        h.check([(.command(.restart([cid("g/a/0")])), ["spawn g/a/0"])])
    }

    // MARK: Answers that no longer apply

    @Test func secondAndStrayAnswersAreIgnored() {
        var h = Self.asked([group("g", [job("a")])])
        h.check([
            (.start, ["spawn g/a/0"]),
            (.exit("g/a/0", code: 1), ["ask g/a/0 code=1 -> restart"]),
        ])
        let first = h.question("g/a/0")!
        h.check([(.answer(first, Self.restart), ["spawn g/a/0", "arm reset g/a/0 +60000ms"])])
        // A second answer to the same question, while the child runs: nothing at all.
        #expect(h.engine.handle(first.answer(Self.delete), at: h.now) == [])
        h.check([(.exit("g/a/0", code: 1), ["cancel reset g/a/0", "ask g/a/0 code=1 -> restart"])])
        let second = h.question("g/a/0")!
        #expect(second.number == 2)
        // The first question's answer again, now that another question is open: not taken
        // for the answer to the second.
        #expect(h.engine.handle(first.answer(Self.delete), at: h.now) == [])
        #expect(h.engine.handle(.exitDecided(cid("g/a/0"), Self.delete, question: 99), at: h.now) == [])
        #expect(h.engine.handle(.exitDecided(cid("g/nope/0"), Self.delete, question: 2), at: h.now) == [])
        #expect(h.question("g/a/0") == second)
        // Events for the process that is gone change nothing either.
        #expect(h.engine.handle(.exited(cid("g/a/0"), pid: 102, status: .code(1)), at: h.now) == [])
        #expect(h.engine.handle(.started(cid("g/a/0"), pid: 7), at: h.now) == [])
        #expect(h.engine.handle(.timerFired(.restart(cid("g/a/0"))), at: h.now) == [])
        #expect(h.engine.handle(.spawnFailed(cid("g/a/0"), reason: "late"), at: h.now) == [])
        h.check([(.answer(second, Self.restart), ["spawn g/a/0", "arm reset g/a/0 +60000ms"])])
        #expect(h.restarts("g/a/0") == 2)
    }

    @Test func anEngineThatDecidesByItsRulesIgnoresAnswers() {
        var h = Harness(Manifest(groups: [group("g", [job("a")])]))
        h.check([
            (.start, ["spawn g/a/0"]),
            (.exit("g/a/0", code: 1), ["spawn g/a/0", "arm reset g/a/0 +60000ms"]),
        ])
        #expect(h.engine.handle(.exitDecided(cid("g/a/0"), Self.delete, question: 1), at: h.now) == [])
        #expect(!h.all.contains { if case .decideExit = $0 { true } else { false } })
    }

    @Test func operatorStopEndsTheWait() {
        var h = Self.asked([group("g", [job("a")])])
        h.check([
            (.start, ["spawn g/a/0"]),
            (.exit("g/a/0", code: 1), ["ask g/a/0 code=1 -> restart"]),
            (.command(.stop([cid("g/a/0")])), []),
        ])
        #expect(h.question("g/a/0") == nil)
        h.check([(.decide("g/a/0", Self.restart), [])])
        #expect(h.state("g/a/0") == .stopped)
        #expect(h.engine.carryOver.stopped[cid("g/a/0")] != nil)
        #expect(h.events(.restart).isEmpty && h.events(.exit).isEmpty)
    }

    @Test(arguments: ["restart", "start"])
    func operatorStartEndsTheWaitAndItsLateAnswerIsNotTheNextOnes(command: String) {
        var h = Self.asked([group("g", [job("a")])])
        let ids = [cid("g/a/0")]
        h.check([
            (.start, ["spawn g/a/0"]),
            (.exit("g/a/0", code: 1), ["ask g/a/0 code=1 -> restart"]),
            (.command(command == "restart" ? .restart(ids) : .start(ids)), ["spawn g/a/0"]),
        ])
        #expect(h.question("g/a/0") == nil)
        let first = h.questions[0]
        h.check([
            (.answer(first, Self.delete), []),
            (.exit("g/a/0", code: 1), ["ask g/a/0 code=1 -> restart"]),
            // The first exit's late answer does not decide the second exit.
            (.answer(first, Self.delete), []),
            (.decide("g/a/0", Self.restart), ["spawn g/a/0", "arm reset g/a/0 +60000ms"]),
        ])
        #expect(h.state("g/a/0") == .running && h.restarts("g/a/0") == 1)
    }

    @Test func operatorDeleteNeedsAStopFirst() {
        var h = Self.asked([group("g", [job("a")])])
        h.check([
            (.start, ["spawn g/a/0"]),
            (.exit("g/a/0", code: 1), ["ask g/a/0 code=1 -> restart"]),
            (.command(.delete([cid("g/a/0")])), []),
        ])
        // As for any child between processes (OTP: `{error, restarting}`).
        guard case .error(let code, _) = h.lastReply else { Issue.record("delete was accepted"); return }
        #expect(code == "not_stopped")
        #expect(h.question("g/a/0") != nil)
        h.check([
            (.command(.stop([cid("g/a/0")])), []),
            (.command(.delete([cid("g/a/0")])), ["removed g/a/0"]),
        ])
        #expect(h.question("g/a/0") == nil)
        h.check([(.decide("g/a/0", Self.restart), [])])
        #expect(h.engine.snapshot(of: cid("g/a/0")) == nil)
    }

    @Test func oneForAllRestartOfASiblingRestartsTheWaitingChildWithTheGroup() {
        var h = Self.asked([group("g", [job("a"), job("b")], strategy: .oneForAll)])
        h.check([
            (.start, ["spawn g/a/0", "spawn g/b/0"]),
            (.exit("g/a/0", code: 1), ["ask g/a/0 code=1 -> restart"]),
            (.exit("g/b/0", code: 1), ["ask g/b/0 code=1 -> restart"]),
            (.decide("g/b/0", Self.restart), ["spawn g/a/0", "spawn g/b/0", "arm reset g/b/0 +60000ms"]),
        ])
        // a was restarted by the strategy: its own answer comes too late.
        #expect(h.question("g/a/0") == nil)
        h.check([(.decide("g/a/0", Self.delete), [])])
        #expect(h.state("g/a/0") == .running && h.restarts("g/a/0") == 0)
    }

    @Test func oneForAllRestartRemovesAWaitingTemporaryChild() {
        var h = Self.asked([group("g", [job("tmp", restart: .temporary), job("b")], strategy: .oneForAll)])
        h.check([
            (.start, ["spawn g/tmp/0", "spawn g/b/0"]),
            (.exit("g/tmp/0", code: 1), ["ask g/tmp/0 code=1 -> delete"]),
            (.exit("g/b/0", code: 1), ["ask g/b/0 code=1 -> restart"]),
            // OTP: a temporary child is not restarted by a strategy, whatever its verdict.
            (.decide("g/b/0", Self.restart), ["removed g/tmp/0", "spawn g/b/0", "arm reset g/b/0 +60000ms"]),
        ])
        #expect(h.question("g/tmp/0") == nil)
        h.check([(.decide("g/tmp/0", ExitDecision(action: .restart)), [])])
        #expect(h.engine.snapshot(of: cid("g/tmp/0")) == nil)
        #expect(h.events(.delete).map(\.fields.reason) == ["temporary"])
    }

    @Test func restForOneCoversWaitingChildrenAfterTheTriggerOnly() {
        var h = Self.asked([group("g", [job("a"), job("b"), job("c")], strategy: .restForOne)])
        h.check([
            (.start, ["spawn g/a/0", "spawn g/b/0", "spawn g/c/0"]),
            (.exit("g/a/0", code: 1), ["ask g/a/0 code=1 -> restart"]),
            (.exit("g/c/0", code: 1), ["ask g/c/0 code=1 -> restart"]),
            (.exit("g/b/0", code: 1), ["ask g/b/0 code=1 -> restart"]),
            // b's restart covers b and c: c starts with it; a, before b, still waits.
            (.decide("g/b/0", Self.restart), ["spawn g/b/0", "arm reset g/b/0 +60000ms", "spawn g/c/0"]),
        ])
        #expect(h.question("g/c/0") == nil && h.question("g/a/0") != nil)
        h.check([(.decide("g/c/0", Self.delete), [])])
        #expect(h.state("g/c/0") == .running)
        h.check([(.decide("g/a/0", Self.wait), [])])
        #expect(h.state("g/a/0") == .waiting)
    }

    @Test func groupRestartedByItsParentWhenASiblingExceedsTheIntensity() {
        var h = Self.asked([group("g", [job("a"), job("b")], intensity: 1)])
        h.check([
            (.start, ["spawn g/a/0", "spawn g/b/0"]),
            (.exit("g/a/0", code: 1), ["ask g/a/0 code=1 -> restart"]),
            (.exit("g/b/0", code: 1), ["ask g/b/0 code=1 -> restart"]),
            (.decide("g/b/0", Self.restart), ["spawn g/b/0", "arm reset g/b/0 +60000ms"]),
            (.exit("g/b/0", code: 1), ["cancel reset g/b/0", "ask g/b/0 code=1 -> restart"]),
            // The second restart within the period fails g; the root restarts it whole, a too.
            (.decide("g/b/0", Self.restart), ["failed g", "spawn g/a/0", "spawn g/b/0", "arm reset g/b/0 +60000ms"]),
        ])
        #expect(h.question("g/a/0") == nil)
        h.check([(.decide("g/a/0", Self.delete), [])])
        #expect(h.state("g/a/0") == .running)
    }

    @Test func groupGivenUpEndsTheWaitAndStartsTheChildWhenRevived() {
        var h = Self.asked(
            [group("g", [job("a"), job("b")], intensity: 0)], root: RootPolicy(intensity: 0, period: .seconds(60)))
        h.check([
            (.start, ["spawn g/a/0", "spawn g/b/0"]),
            (.exit("g/a/0", code: 1), ["ask g/a/0 code=1 -> restart"]),
            (.exit("g/b/0", code: 1), ["ask g/b/0 code=1 -> restart"]),
            (.decide("g/b/0", Self.restart), ["failed g", "given up g"]),
        ])
        #expect(h.question("g/a/0") == nil)
        h.check([(.decide("g/a/0", Self.restart), [])])
        #expect(h.state("g/a/0") == .stopped)
        h.check([(.command(.start([cid("g/a/0")])), ["started group g", "spawn g/a/0", "spawn g/b/0"])])
    }

    @Test func shutdownDoesNotWaitForTheAnswer() {
        var h = Self.asked([group("g", [job("a"), job("b")])])
        h.check([
            (.start, ["spawn g/a/0", "spawn g/b/0"]),
            (.exit("g/a/0", code: 1), ["ask g/a/0 code=1 -> restart"]),
            (.command(.shutdown), ["signal g/b/0 TERM", "arm kill g/b/0 +5000ms"]),
        ])
        #expect(h.question("g/a/0") == nil)
        h.check([
            (.decide("g/a/0", Self.restart), []),
            (.killed("g/b/0", signal: .term), ["cancel kill g/b/0", "exit 0"]),
            (.decide("g/a/0", Self.restart), []),
        ])
        #expect(h.state("g/a/0") == .stopped && h.question("g/a/0") == nil)

        var alone = Self.asked([group("g", [job("a")])])
        alone.check([
            (.start, ["spawn g/a/0"]),
            (.exit("g/a/0", code: 1), ["ask g/a/0 code=1 -> restart"]),
            (.command(.shutdown), ["exit 0"]),
        ])
        #expect(alone.question("g/a/0") == nil)
    }

    @Test func rootFailureDoesNotWaitForTheAnswer() {
        var h = Self.asked(
            [group("g", [job("a"), job("b")], intensity: 0)], root: RootPolicy(intensity: 0, period: .seconds(60), onFailure: .exit))
        h.check([
            (.start, ["spawn g/a/0", "spawn g/b/0"]),
            (.exit("g/a/0", code: 1), ["ask g/a/0 code=1 -> restart"]),
            (.exit("g/b/0", code: 1), ["ask g/b/0 code=1 -> restart"]),
            (.decide("g/b/0", Self.restart), ["failed g", "failed ", "exit 1"]),
        ])
        #expect(h.question("g/a/0") == nil && h.state("g/a/0") == .stopped)
        h.check([(.decide("g/a/0", Self.restart), [])])
    }

    @Test func reloadThatRemovesTheJobRemovesTheWaitingChild() {
        var h = Self.asked([group("g", [job("a"), job("b")])])
        h.check([
            (.start, ["spawn g/a/0", "spawn g/b/0"]),
            (.exit("g/a/0", code: 1), ["ask g/a/0 code=1 -> restart"]),
            (.reload(Manifest(groups: [group("g", [job("b")])])), ["removed g/a/0"]),
        ])
        #expect(h.question("g/a/0") == nil)
        h.check([(.decide("g/a/0", Self.restart), [])])
        #expect(h.engine.snapshot(of: cid("g/a/0")) == nil)
    }

    @Test func scaleDownRemovesAWaitingInstance() {
        var h = Self.asked([group("g", [job("a", instances: 2)])])
        h.check([
            (.start, ["spawn g/a/0", "spawn g/a/1"]),
            (.exit("g/a/1", code: 1), ["ask g/a/1 code=1 -> restart"]),
            (.command(.scale(job: "g/a", instances: 1)), ["removed g/a/1"]),
        ])
        #expect(h.question("g/a/1") == nil)
        h.check([(.decide("g/a/1", Self.restart), [])])
        #expect(h.engine.snapshot(of: cid("g/a/1")) == nil)
    }

    @Test func reloadThatChangesTheProcessStartsTheWaitingChildAnew() {
        var h = Self.asked([group("g", [job("a")])])
        h.check([
            (.start, ["spawn g/a/0"]),
            (.exit("g/a/0", code: 1), ["ask g/a/0 code=1 -> restart"]),
            (.reload(Manifest(groups: [group("g", [job("a", command: ["/bin/other"])])])), ["spawn g/a/0"]),
        ])
        #expect(h.question("g/a/0") == nil)
        h.check([(.decide("g/a/0", Self.delete), [])])
        #expect(h.state("g/a/0") == .running)
    }

    /// The question belongs to the exit, decided with the rules in force then (as under
    /// `.rules`, which decide at once): a reload that changes only the job's policy keeps it.
    @Test func reloadThatChangesOnlyThePolicyKeepsTheQuestion() {
        var h = Self.asked([group("g", [job("a")])])
        h.check([
            (.start, ["spawn g/a/0"]),
            (.exit("g/a/0", code: 1), ["ask g/a/0 code=1 -> restart"]),
        ])
        let question = h.question("g/a/0")
        let deleteAll = [ExitRule(when: ExitCondition(), action: .delete)]
        h.check([
            (.reload(Manifest(groups: [group("g", [job("a", onExit: deleteAll)])])), []),
        ])
        #expect(h.question("g/a/0") == question)
        h.check([(.decide("g/a/0", question!.proposed), ["spawn g/a/0", "arm reset g/a/0 +60000ms"])])
    }

    // MARK: What is not asked

    /// Exits the engine asked for follow their intent: an operator's stop and restart, a
    /// scale-down, a restart plan, the shutdown.
    @Test func intendedExitsAreNotAsked() {
        var h = Self.asked([group("g", [job("a"), job("b"), job("p", instances: 2)], strategy: .oneForAll)])
        h.check([
            (.start, ["spawn g/a/0", "spawn g/b/0", "spawn g/p/0", "spawn g/p/1"]),
            (.command(.stop([cid("g/a/0")])), ["signal g/a/0 TERM", "arm kill g/a/0 +5000ms"]),
            (.exit("g/a/0", code: 1), ["cancel kill g/a/0"]),
            (.command(.restart([cid("g/b/0")])), ["signal g/b/0 TERM", "arm kill g/b/0 +5000ms"]),
            (.exit("g/b/0", code: 1), ["cancel kill g/b/0", "spawn g/b/0"]),
            (.command(.scale(job: "g/p", instances: 1)), ["signal g/p/1 TERM", "arm kill g/p/1 +5000ms"]),
            (.killed("g/p/1", signal: .term), ["cancel kill g/p/1", "removed g/p/1"]),
            // The one crash: asked. The restart plan's stop of b is not.
            (.exit("g/p/0", code: 1), ["ask g/p/0 code=1 -> restart"]),
            (.decide("g/p/0", Self.restart), ["signal g/b/0 TERM", "arm kill g/b/0 +5000ms"]),
            (.exit("g/b/0", code: 1), ["cancel kill g/b/0", "spawn g/b/0", "spawn g/p/0", "arm reset g/p/0 +60000ms"]),
            (.command(.shutdown), [
                "cancel reset g/p/0", "signal g/p/0 TERM", "arm kill g/p/0 +5000ms", "signal g/b/0 TERM",
                "arm kill g/b/0 +5000ms",
            ]),
            (.exit("g/p/0", code: 1), ["cancel kill g/p/0"]),
            (.exit("g/b/0", code: 1), ["cancel kill g/b/0", "exit 0"]),
        ])
        #expect(h.questions.map(\.id) == [cid("g/p/0")])
    }

    /// The stops of a group given up are not crashes either.
    @Test func exitsOfAGroupGivenUpAreNotAsked() {
        var h = Self.asked(
            [group("g", [job("a"), job("b")], intensity: 0)], root: RootPolicy(intensity: 0, period: .seconds(60)))
        h.check([
            (.start, ["spawn g/a/0", "spawn g/b/0"]),
            (.exit("g/a/0", code: 1), ["ask g/a/0 code=1 -> restart"]),
            (.decide("g/a/0", Self.restart), ["failed g", "given up g", "signal g/b/0 TERM", "arm kill g/b/0 +5000ms"]),
            (.exit("g/b/0", code: 1), ["cancel kill g/b/0"]),
        ])
        #expect(h.questions.count == 1 && h.state("g/b/0") == .stopped)
    }

    // MARK: Traces

    @Test func tracesNameTheQuestionAndTheAnswer() {
        let q = ExitQuestion(
            number: 3, id: cid("g/a/0"), jobKey: "g/a", pid: 9, status: .code(1), restarts: 0,
            proposed: ExitDecision(action: .restart, ruleIndex: 1, after: .seconds(2)))
        #expect(Engine.describe(.decideExit(q)) == "decide_exit(g/a/0 #3 proposed=restart after=2000ms rule=1)")
        #expect(Engine.describe(q.answer(ExitDecision(action: .delete, log: false))) == "exit_decided g/a/0 #3 delete log=false")
        #expect(Engine.subject(of: q.answer(Self.delete)) == cid("g/a/0"))
    }
}
