import DirectorManifest
import Testing

@testable import DirectorCore

// `watchdog: D` and the sd_notify keys beyond READY=1 on the fake clock: WATCHDOG=1 re-arms,
// a miss sends SIGABRT and the exit has cause `watchdog`; WATCHDOG_USEC, RELOADING,
// STOPPING and RESTART_RESET.

private func watched(_ name: String, every: Duration? = .seconds(2), ready: ReadySpec? = nil, onExit: [ExitRule] = [], backoff: Backoff? = nil) -> GroupChild {
    .job(JobSpec(
        name: name, command: .argv(["/bin/srv"]), cwd: "/srv", backoff: backoff, onExit: onExit,
        shutdown: Shutdown(signal: .term, timeout: .after(.seconds(5))), ready: ready, watchdog: every))
}

@Suite struct WatchdogScenarioTests {
    @Test func aMissedWatchdogSendsSIGABRTAndTheExitHasCauseWatchdog() {
        let rules = [ExitRule(when: ExitCondition(causes: ["watchdog"]), action: .wait)]
        var h = Harness(Manifest(groups: [group("g", [watched("w", onExit: rules)])]))
        h.check([
            (.start, ["spawn g/w/0", "arm watchdog g/w/0 +2000ms"]),
            (.advance(ms: 1500), []),
            (.notify("g/w/0", .watchdog), ["arm watchdog g/w/0 +2000ms"]),
            (.advance(ms: 1999), []),
            // Silent for 2 s: SIGABRT (not the job's TERM), then SIGKILL after the shutdown timeout.
            (.advance(ms: 1), ["cancel watchdog g/w/0", "signal g/w/0 ABRT", "arm kill g/w/0 +5000ms"]),
            (.notify("g/w/0", .watchdog), []),
            (.killed("g/w/0", signal: .abrt), ["cancel kill g/w/0"]),
        ])
        #expect(h.state("g/w/0") == .waiting)
        #expect(h.events(.notReady).map(\.fields.reason) == ["watchdog"])
        #expect(h.events(.notReady).first?.detail.hasSuffix("watchdog: no WATCHDOG=1 within 2000ms") == true)
        #expect(h.events(.exit).last?.fields.cause == .watchdog)
        #expect(h.engine.snapshot(of: cid("g/w/0"))?.lastExit?.cause == .watchdog)
    }

    @Test func aWatchdogThatIsFedNeverFiresAndStopsWithTheProcess() {
        var h = Harness(Manifest(groups: [group("g", [watched("w")])]))
        h.check([(.start, ["spawn g/w/0", "arm watchdog g/w/0 +2000ms"])])
        for _ in 0..<5 {
            h.check([(.advance(ms: 1000), []), (.notify("g/w/0", .watchdog), ["arm watchdog g/w/0 +2000ms"])])
        }
        h.check([
            (.command(.stop([cid("g/w/0")])), ["signal g/w/0 TERM", "arm kill g/w/0 +5000ms"]),
            (.advance(ms: 3000), []),
            (.killed("g/w/0", signal: .term), ["cancel kill g/w/0", "cancel watchdog g/w/0"]),
        ])
        #expect(h.events(.notReady).isEmpty)
    }

    @Test func watchdogUSecChangesTheIntervalAndZeroTurnsItOff() {
        var h = Harness(Manifest(groups: [group("g", [watched("w", every: nil)])]))
        h.check([
            // No `watchdog:`: WATCHDOG=1 alone arms nothing ...
            (.start, ["spawn g/w/0"]),
            (.notify("g/w/0", .watchdog), []),
            // ... but the program may ask for one, as with systemd's WATCHDOG_USEC=.
            (.notify("g/w/0", .watchdogInterval(.milliseconds(500))), ["arm watchdog g/w/0 +500ms"]),
            (.advance(ms: 400), []),
            (.notify("g/w/0", .watchdog), ["arm watchdog g/w/0 +500ms"]),
            (.notify("g/w/0", .watchdogInterval(.zero)), ["cancel watchdog g/w/0"]),
            (.advance(ms: 5000), []),
        ])
        #expect(h.state("g/w/0") == .running)
    }

    @Test func watchdogTriggerActsAsAMiss() {
        var h = Harness(Manifest(groups: [group("g", [watched("w")])]))
        h.check([
            (.start, ["spawn g/w/0", "arm watchdog g/w/0 +2000ms"]),
            (.notify("g/w/0", .watchdogTrigger), ["cancel watchdog g/w/0", "signal g/w/0 ABRT", "arm kill g/w/0 +5000ms"]),
        ])
    }

    @Test func reloadingMakesAChildNotReadyUntilItsNextReady() {
        var h = Harness(Manifest(groups: [group("g", [watched("w", every: nil, ready: ReadySpec(.notify)), job("after")])]))
        h.check([
            (.start, ["spawn g/w/0", "arm ready_timeout g/w/0 +30000ms"]),
            (.ready("g/w/0"), ["cancel ready_timeout g/w/0", "spawn g/after/0"]),
            (.notify("g/w/0", .reloading), []),
        ])
        #expect(h.engine.snapshot(of: cid("g/w/0"))?.ready == false)
        h.check([(.ready("g/w/0"), [])])
        #expect(h.engine.snapshot(of: cid("g/w/0"))?.ready == true)
        #expect(h.events(.ready).map(\.detail).last?.hasSuffix("after reloading") == true)
        // STOPPING=1: not ready; the exit that follows is decided as any other.
        h.check([(.notify("g/w/0", .stopping), [])])
        #expect(h.engine.snapshot(of: cid("g/w/0"))?.ready == false)
        h.check([(.ready("g/w/0"), [])])
        #expect(h.engine.snapshot(of: cid("g/w/0"))?.ready == false, "READY=1 after STOPPING=1 is not a reload")
    }

    @Test func restartResetStartsTheCountAndTheBackoffOver() {
        let backoff = Backoff(initial: .milliseconds(100), max: .seconds(10), factor: 2)
        var h = Harness(Manifest(groups: [group("g", [watched("w", every: nil, backoff: backoff)])]))
        h.check([
            (.start, ["spawn g/w/0"]),
            (.exit("g/w/0", code: 1), ["arm restart g/w/0 +100ms"]),
            (.advance(ms: 100), ["spawn g/w/0", "arm reset g/w/0 +60000ms"]),
            (.exit("g/w/0", code: 1), ["cancel reset g/w/0", "arm restart g/w/0 +200ms"]),
            (.advance(ms: 200), ["spawn g/w/0", "arm reset g/w/0 +60000ms"]),
        ])
        #expect(h.restarts("g/w/0") == 2)
        h.check([(.notify("g/w/0", .restartReset), ["cancel reset g/w/0"])])
        #expect(h.restarts("g/w/0") == 0)
        // The next crash waits the initial delay again.
        h.check([(.exit("g/w/0", code: 1), ["arm restart g/w/0 +100ms"])])
    }
}
