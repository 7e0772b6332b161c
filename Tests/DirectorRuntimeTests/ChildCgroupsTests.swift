import Glibc
import Testing
@testable import DirectorRuntime

/// The cgroups a daemon killed with SIGKILL leaves behind are removed by any later daemon
/// once their owner is dead and they are empty; a live owner's, or a populated one, stay.
@Suite(.serialized) struct ChildCgroupsTests {
    static var parent: String? {
        guard let mount = ChildCgroups.cgroup2Mount(), let own = ChildCgroups.ownCgroup() else { return nil }
        let parent = own == "/" ? mount : mount + own
        let probe = parent + "/director-probe-\(getpid())"
        guard mkdir(probe, 0o755) == 0 else { return nil }
        rmdir(probe)
        return parent
    }

    @Test func abandonedEmptyTreesGoAndLiveOwnersStay() throws {
        guard let parent = Self.parent else {
            print("ChildCgroupsTests: skipped: no writable cgroup2 hierarchy")
            return
        }
        let dead = parent + "/director-test-dead-\(getpid())"
        let live = parent + "/director-test-live-\(getpid())"
        defer {
            for base in [dead, live] {
                for name in ["d-a+b+0", "owner-999999-1", "owner-\(getpid())-\(ProcStat.startTicks(pid: getpid()) ?? 0)"] {
                    rmdir(base + "/" + name)
                }
                rmdir(base)
            }
        }
        for base in [dead, live] {
            #expect(mkdir(base, 0o755) == 0)
            #expect(mkdir(base + "/d-a+b+0", 0o755) == 0)
        }
        // pid 999999 is above this machine's pid_max (32768): never alive.
        #expect(mkdir(dead + "/owner-999999-1", 0o755) == 0)
        #expect(mkdir(live + "/owner-\(getpid())-\(ProcStat.startTicks(pid: getpid()) ?? 0)", 0o755) == 0)
        ChildCgroups.sweepAbandoned(in: parent, except: parent + "/director-none")
        var st = stat()
        #expect(stat(dead, &st) != 0, "the dead owner's empty tree is removed")
        #expect(stat(live + "/d-a+b+0", &st) == 0, "the live owner's tree stays")
    }
}
