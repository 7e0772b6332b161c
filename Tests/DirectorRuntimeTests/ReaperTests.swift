#if canImport(Glibc)
import Glibc
#endif
import CDirectorSys
import DirectorCore
import DirectorManifest
import Testing
@testable import DirectorRuntime

@Suite struct ReaperTests {
    @Test func trackedChildrenReportExactStatusesThroughPidfds() throws {
        let loop = try EventLoop()
        let reaper = ProcessReaper(loop: loop)
        let code = try ChildGuard(launch(["/bin/sh", "-c", "exit 7"]))
        let killed = try ChildGuard(launch(["/bin/sleep", "30"]))
        #expect(code.process.pidfd >= 0)
        var statuses: [Int32: DirectorCore.ChildExitStatus] = [:]
        for child in [code, killed] {
            let pid = child.pid
            // The guard keeps its own pidfd; the reaper gets a duplicate to own.
            try reaper.track(pid: pid, pidfd: dup(child.process.pidfd)) { status in
                statuses[pid] = status
                if statuses.count == 2 { loop.stop() }
            }
        }
        kill(killed.pid, SIGKILL)
        try loop.run(until: loop.now + .seconds(10))
        #expect(statuses[code.pid] == .code(7))
        #expect(statuses[killed.pid] == .signal(.kill))
        #expect(reaper.trackedCount == 0)
        #expect(!processExists(code.pid))
    }

    @Test func reapIfExitedReapsAnExitedChildOnceAndLeavesARunningOneAlone() throws {
        let loop = try EventLoop()
        let reaper = ProcessReaper(loop: loop)
        let running = try ChildGuard(launch(["/bin/sleep", "30"]))
        let exiting = try ChildGuard(launch(["/bin/sh", "-c", "exit 4"]))
        var exits: [Int32: [DirectorCore.ChildExitStatus]] = [:]
        for child in [running, exiting] {
            let pid = child.pid
            try reaper.track(pid: pid, pidfd: dup(child.process.pidfd)) { exits[pid, default: []].append($0) }
        }
        // Wait (bounded) until the exiting child is a zombie, without reaping it.
        for _ in 0..<500 where processState(exiting.pid) != "Z" { usleep(10_000) }
        reaper.reapIfExited(running.pid)
        reaper.reapIfExited(exiting.pid)
        reaper.reapIfExited(exiting.pid)
        #expect(exits[running.pid] == nil)
        #expect(exits[exiting.pid] == [.code(4)])
        // Its pidfd was unwatched with it: the loop reports nothing more for it.
        try loop.turn(notAfter: loop.now + .milliseconds(50))
        #expect(exits[exiting.pid] == [.code(4)])
        #expect(reaper.trackedCount == 1)
    }

    @Test func orphanedGrandchildrenAreReapedAndTrackedChildrenAreNotStolen() throws {
        try ProcessReaper.becomeSubreaper()
        let loop = try EventLoop()
        let reaper = ProcessReaper(loop: loop)
        // The shell prints its background child's pid and exits: the sleep is orphaned and,
        // with us as subreaper, re-parented to this process.
        let parent = try ChildGuard(launch(["/bin/sh", "-c", "sleep 0.3 & echo $!"]))
        let grandchild = Int32(parent.readStdout().trimmingSpaces)!
        var parentStatus: DirectorCore.ChildExitStatus?
        var orphans: [Int32: DirectorCore.ChildExitStatus] = [:]
        // Tracked without a pidfd: only collection sees its exit, through the tracked path.
        try reaper.track(pid: parent.pid, pidfd: -1) { parentStatus = $0 }
        reaper.onOrphanReaped = { pid, status in orphans[pid] = status }
        func poll() {
            reaper.collectExited()
            if parentStatus != nil && orphans[grandchild] != nil { loop.stop() }
            loop.setTimer("collect", at: loop.now + .milliseconds(20), handler: poll)
        }
        poll()
        try loop.run(until: loop.now + .seconds(10))
        #expect(parentStatus == .code(0))
        #expect(orphans[grandchild] == .code(0))
        #expect(!processExists(grandchild))
        #expect(reaper.orphansReaped >= 1)
    }
}
