import DirectorManifest
import Glibc
import Testing
@testable import DirectorRuntime

/// `limits`: what is written into a child's cgroup (checked on plain files: this host's
/// cgroup v2 hierarchy has no memory, cpu or pids controller to write to), and what the
/// daemon finds when it asks the real hierarchy for the controllers.
@Suite struct CgroupLimitsTests {
    /// A temporary directory with `child/{memory,cpu,pids}.max` as empty files.
    private func fakeCgroup() throws -> (root: String, fd: Int32) {
        var template = Array("/tmp/director-limits-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        let root = String(cString: try #require(made))
        #expect(mkdir(root + "/child", 0o755) == 0)
        for file in ["memory.max", "cpu.max", "pids.max"] {
            let fd = open(root + "/child/" + file, O_CREAT | O_WRONLY, 0o644)
            #expect(fd >= 0)
            close(fd)
        }
        return (root, open(root, O_RDONLY | O_DIRECTORY))
    }

    private func read(_ path: String) -> String { CgroupHierarchy.readText(path) ?? "" }

    private func remove(_ root: String, _ fd: Int32) {
        close(fd)
        for file in ["memory.max", "cpu.max", "pids.max"] { unlink(root + "/child/" + file) }
        rmdir(root + "/child")
        rmdir(root)
    }

    @Test func theLimitsOfAvailableControllersAreWrittenTheOthersLeftAlone() throws {
        let (root, fd) = try fakeCgroup()
        defer { remove(root, fd) }
        let limits = CgroupLimits(memory: 64 << 20, cpu: 0.5, pids: 32)
        let problems = ChildCgroups.writeLimits(limits, controllers: ["memory", "pids"], directoryFD: fd, child: "child")
        #expect(problems.isEmpty)
        #expect(read(root + "/child/memory.max") == "67108864")
        #expect(read(root + "/child/pids.max") == "32")
        #expect(read(root + "/child/cpu.max") == "", "no cpu controller: cpu.max is not written")
        // All three controllers: the cpu quota per 100 ms period.
        #expect(ChildCgroups.writeLimits(limits, controllers: ["memory", "cpu", "pids"], directoryFD: fd, child: "child").isEmpty)
        #expect(read(root + "/child/cpu.max") == "50000 100000")
    }

    @Test func limitsRemovedByAReloadGoBackToMax() throws {
        let (root, fd) = try fakeCgroup()
        defer { remove(root, fd) }
        _ = ChildCgroups.writeLimits(CgroupLimits(memory: 64 << 20, pids: 8), controllers: ["memory", "cpu", "pids"], directoryFD: fd, child: "child")
        #expect(ChildCgroups.writeLimits(CgroupLimits(), controllers: ["memory", "cpu", "pids"], directoryFD: fd, child: "child").isEmpty)
        for file in ["memory.max", "cpu.max", "pids.max"] { #expect(read(root + "/child/" + file) == "max") }
    }

    @Test func aControlThatCannotBeWrittenIsReportedWithItsKey() throws {
        let (root, fd) = try fakeCgroup()
        defer { remove(root, fd) }
        unlink(root + "/child/pids.max")
        let problems = ChildCgroups.writeLimits(CgroupLimits(pids: 8), controllers: ["pids"], directoryFD: fd, child: "child")
        #expect(problems.count == 1 && problems[0].hasPrefix("limits.pids: cannot open pids.max"), "\(problems)")
    }

    @Test func theRealHierarchySaysWhichControllersTheChildrenGet() throws {
        // A base under this process's own cgroup, as the daemon makes it.
        guard let mount = CgroupHierarchy.mountPoint(), let own = CgroupHierarchy.ownCgroup() else { return }
        let parent = own == "/" ? mount : mount + own
        let base = parent + "/director-limits-test-\(getpid())"
        guard mkdir(base, 0o755) == 0 else {
            print("CgroupLimitsTests: skipped: cannot create a cgroup under \(parent)")
            return
        }
        defer { rmdir(base) }
        let support = ChildCgroups.enableLimitControllers(parent: parent, base: base)
        let offered = CgroupHierarchy.controllers(of: parent) ?? []
        let offeredLimits = offered.intersection(CgroupHierarchy.limitControllers)
        // Never more than the parent offers; what is missing comes with its reason.
        #expect(support.available.isSubset(of: offeredLimits))
        if support.available.count < 3 { #expect(!support.reason.isEmpty) }
        if offeredLimits.isEmpty {
            #expect(support.available.isEmpty)
            #expect(support.reason.contains("offers"), "\(support.reason)")
            print("CgroupLimitsTests: this host's \(parent) offers \(offered.sorted()); reason: \(support.reason)")
        }
    }
}

/// `oom`: the `oom_kill` counter of a child's `memory.events`, read at its start and its exit.
@Suite struct OOMAttributionTests {
    @Test func theCounterIsReadFromMemoryEvents() {
        // As the kernel writes it (Linux 5.x/6.x), `oom_group_kill` included on newer ones.
        let text = "low 0\nhigh 0\nmax 12\noom 3\noom_kill 2\noom_group_kill 0\n"
        #expect(ChildCgroups.oomKillCount(memoryEvents: text) == 2)
        #expect(ChildCgroups.oomKillCount(memoryEvents: "low 0\nhigh 0\nmax 0\noom 0\n") == nil)
        #expect(ChildCgroups.oomKillCount(memoryEvents: "") == nil)
        #expect(ChildCgroups.oomKillCount(memoryEvents: "oom_kill x\n") == nil)
    }

    @Test func anExitIsAnOOMKillOnlyWhenTheCounterGrewDuringItsLife() {
        #expect(ChildCgroups.killedByOOM(before: 0, after: 1))
        #expect(ChildCgroups.killedByOOM(before: 4, after: 6))
        // An earlier process's kill (same cgroup, counted before this one started) is not its.
        #expect(!ChildCgroups.killedByOOM(before: 2, after: 2))
        // No memory controller: never `oom`.
        #expect(!ChildCgroups.killedByOOM(before: nil, after: 1))
        #expect(!ChildCgroups.killedByOOM(before: 0, after: nil))
    }
}
