#if canImport(Glibc)
import Glibc
#endif
import DirectorCore
import Testing
@testable import DirectorRuntime

@Suite struct TimerQueueTests {
    private func at(_ ms: Int64) -> Instant { Instant(nanoseconds: ms * 1_000_000) }

    @Test func popsDueTimersEarliestFirstAndTiesInArmingOrder() {
        var q = TimerQueue<String>()
        q.arm("c", at: at(30))
        q.arm("a", at: at(10))
        q.arm("b", at: at(10))
        q.arm("d", at: at(40))
        #expect(q.nextDeadline() == at(10))
        #expect(q.popDue(now: at(30)).map(\.key) == ["a", "b", "c"])
        #expect(q.count == 1)
        #expect(q.nextDeadline() == at(40))
    }

    @Test func cancelAndRearmReplaceEarlierArmings() {
        var q = TimerQueue<String>()
        q.arm("x", at: at(10))
        q.arm("y", at: at(20))
        q.cancel("x")
        q.arm("y", at: at(50))
        #expect(!q.isArmed("x"))
        #expect(q.nextDeadline() == at(50))
        #expect(q.popDue(now: at(49)).isEmpty)
        #expect(q.popDue(now: at(50)).map(\.key) == ["y"])
        #expect(q.nextDeadline() == nil)
    }

    @Test func manyRearmsOfOneKeyLeaveOneTimer() {
        var q = TimerQueue<Int>()
        for i in 0..<10_000 { q.arm(i % 3, at: at(Int64(10_000 - i))) }
        #expect(q.count == 3)
        #expect(q.popDue(now: at(1_000_000)).map(\.key).sorted() == [0, 1, 2])
    }
}

@Suite struct EventLoopTests {
    @Test func workDeferredToTheNextTurnRunsThereWithoutSleeping() throws {
        let loop = try EventLoop()
        var ran: [Int] = []
        var turn = 0
        loop.addEndOfTurnHook { turn += 1 }
        // Work that defers itself again (a spawn that keeps failing) runs once per turn.
        func again() {
            ran.append(turn)
            if ran.count < 3 { loop.runInNextTurn(again) }
        }
        loop.runInNextTurn(again)
        let started = loop.now
        for _ in 0..<3 { try loop.turn() }
        #expect(ran == [0, 1, 2])
        // Nothing else was armed: without the deferred work each turn would sleep forever.
        #expect(loop.now - started < .seconds(1))
        #expect(loop.wakeups == 3)
    }

    @Test func timersFireInDeadlineOrder() throws {
        let loop = try EventLoop()
        var fired: [String] = []
        let start = loop.now
        for (name, ms) in [("late", 30), ("early", 10), ("middle", 20)] {
            loop.setTimer(name, at: start + .milliseconds(ms)) {
                fired.append(name)
                if fired.count == 3 { loop.stop() }
            }
        }
        try loop.run(until: start + .seconds(5))
        #expect(fired == ["early", "middle", "late"])
        #expect(loop.now - start >= .milliseconds(30))
    }

    @Test func cancelledAndReplacedTimersDoNotFire() throws {
        let loop = try EventLoop()
        var fired: [String] = []
        let start = loop.now
        loop.setTimer("cancelled", at: start + .milliseconds(10)) { fired.append("cancelled") }
        loop.setTimer("replaced", at: start + .milliseconds(10)) { fired.append("replaced-old") }
        loop.setTimer("replaced", at: start + .milliseconds(20)) { fired.append("replaced-new") }
        loop.cancelTimer("cancelled")
        loop.cancelTimer("never-armed")
        try loop.run(until: start + .milliseconds(60))
        #expect(fired == ["replaced-new"])
    }

    @Test func aTimerCancelledByAnEarlierTimerOfTheSameTurnDoesNotFire() throws {
        let loop = try EventLoop()
        var fired: [String] = []
        let due = loop.now + .milliseconds(5)
        loop.setTimer(1, at: due) { fired.append("first"); loop.cancelTimer(2) }
        loop.setTimer(2, at: due) { fired.append("second") }
        try loop.run(until: due + .milliseconds(30))
        #expect(fired == ["first"])
    }

    @Test func anIdleLoopSleepsUntilItsDeadline() throws {
        let loop = try EventLoop()
        var hooks = 0
        loop.addEndOfTurnHook { hooks += 1 }
        let start = loop.now
        try loop.run(until: start + .milliseconds(200))
        #expect(loop.wakeups == 1)
        #expect(hooks == 1)
        #expect(loop.now - start >= .milliseconds(200))
    }

    @Test func readinessHandlersAndEndOfTurnHooksRun() throws {
        let loop = try EventLoop()
        let fds = try FileDescriptors.outputPipe()
        defer { close(fds.read); close(fds.write) }
        var received: [UInt8] = []
        var hookTurns = 0
        try loop.watch(fds.read, for: .readable) { ready in
            #expect(ready.contains(.readable))
            var b = [UInt8](repeating: 0, count: 16)
            let n = read(fds.read, &b, 16)
            if n > 0 { received += b[0..<n] }
            loop.stop()
        }
        loop.addEndOfTurnHook { hookTurns += 1 }
        _ = write(fds.write, "hi", 2)
        try loop.run(until: loop.now + .seconds(5))
        #expect(received == Array("hi".utf8))
        #expect(hookTurns == 1)
        loop.unwatch(fds.read)
        #expect(loop.watchedCount == 0)
    }

    @Test func anFdUnwatchedEarlierInTheTurnGetsNoStaleEvent() throws {
        let loop = try EventLoop()
        let a = try FileDescriptors.outputPipe()
        let b = try FileDescriptors.outputPipe()
        defer { close(a.read); close(a.write); close(b.read); close(b.write) }
        var calls = 0
        // Whichever handler runs first unwatches the other: exactly one of them may run.
        try loop.watch(a.read, for: .readable) { _ in calls += 1; loop.unwatch(b.read); loop.unwatch(a.read) }
        try loop.watch(b.read, for: .readable) { _ in calls += 1; loop.unwatch(a.read); loop.unwatch(b.read) }
        _ = write(a.write, "x", 1)
        _ = write(b.write, "x", 1)
        try loop.turn(notAfter: loop.now + .seconds(1))
        #expect(calls == 1)
    }

    @Test func signalsArriveThroughTheSignalfd() throws {
        let loop = try EventLoop()
        var received: [Int32] = []
        let watcher = try SignalWatcher(loop: loop, signals: [SIGUSR2]) { signal in
            received.append(signal)
            loop.stop()
        }
        defer { watcher.close() }
        // Directed at this thread: it blocks SIGUSR2, so the signal waits for the signalfd.
        pthread_kill(pthread_self(), SIGUSR2)
        try loop.run(until: loop.now + .seconds(5))
        #expect(received == [SIGUSR2])
    }
}
