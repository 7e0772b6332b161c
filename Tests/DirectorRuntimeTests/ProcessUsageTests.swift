#if canImport(Glibc)
import Glibc
#endif
import DirectorCore
import Testing
@testable import DirectorRuntime

/// `ProcessUsageSampler`: CPU and memory of a child, summed over its process group, from a
/// real process tree (a leader that sleeps, a member that spins).
@Suite struct ProcessUsageTests {
    /// A leader (its own process group, as the spawner makes it) with a spinning member.
    static func spinner() throws -> ChildGuard {
        try ChildGuard(launch(["/bin/sh", "-c", "while :; do :; done & exec sleep 60"]))
    }

    /// Polls the sample until `condition` holds (every 20 ms, at most 10 s).
    static func sample(_ leader: ProcessUsageSampler.Leader, until condition: (ProcessUsage?) -> Bool) -> ProcessUsage? {
        var last: ProcessUsage?
        for _ in 0..<500 {
            last = ProcessUsageSampler.sample([leader])[leader.pid]
            if condition(last) { return last }
            usleep(20_000)
        }
        return last
    }

    @Test func sumsTheCPUAndMemoryOfEveryProcessInTheGroup() throws {
        let child = try Self.spinner()
        let leader = ProcessUsageSampler.Leader(pid: child.pid, pgid: child.pid, startTicks: ProcStat.startTicks(pid: child.pid))
        // The leader sleeps: the CPU is the member's. Ten ticks are a tenth of a second of it.
        let usage = try #require(Self.sample(leader) { ($0?.processes ?? 0) == 2 && ($0?.cpuTicks ?? 0) >= 10 })
        #expect(usage.processes == 2, "the leader and the spinning shell")
        #expect(usage.cpuTicks >= 10)
        #expect(usage.residentBytes > 0)
        #expect(usage.leaderAgeTicks > 0)
        let sinceStart = try #require(usage.cpuPercentSinceStart)
        #expect(sinceStart > 0 && sinceStart <= 200, "\(sinceStart)% of one core since start")

        // Over an interval: the later sample has used more.
        let later = try #require(Self.sample(leader) { ($0?.cpuTicks ?? 0) > usage.cpuTicks + 5 && ($0?.leaderAgeTicks ?? 0) > usage.leaderAgeTicks })
        let interval = try #require(later.cpuPercent(since: usage))
        #expect(interval > 0 && interval <= 200, "\(interval)%")
        #expect(usage.cpuPercent(since: later) == nil, "an earlier sample after a later one gives nothing")
    }

    @Test func aPidThatNoLongerNamesTheRecordedProcessIsNotSampled() throws {
        let child = try Self.spinner()
        let ticks = try #require(ProcStat.startTicks(pid: child.pid))
        let reused = ProcessUsageSampler.Leader(pid: child.pid, pgid: child.pid, startTicks: ticks + 1)
        #expect(ProcessUsageSampler.sample([reused]).isEmpty)
        kill(-child.pid, SIGKILL)
        _ = child.waitExit()
        let dead = ProcessUsageSampler.Leader(pid: child.pid, pgid: child.pid, startTicks: ticks)
        #expect(ProcessUsageSampler.sample([dead]).isEmpty, "an exited leader has no usage")
    }

    @Test func statFieldsSurviveACommandNameWithSpacesAndParentheses() throws {
        let line = "123 (a ) b (c) S 1 123 123 0 -1 4194560 100 0 0 0 7 3 0 0 20 0 1 0 5000 1000000 250 18446744073709551615"
        let fields = try #require(StatFields(line))
        #expect(fields.processGroup == 123)
        #expect(fields.cpuTicks == 10)
        #expect(fields.residentPages == 250)
        let zombie = "123 (a ) b (c) Z 1 123 123 0 -1 4194560 100 0 0 0 7 3 0 0 20 0 1 0 5000 0 0 18446744073709551615"
        #expect(StatFields(zombie) == nil, "a zombie counts for nothing")
    }
}
