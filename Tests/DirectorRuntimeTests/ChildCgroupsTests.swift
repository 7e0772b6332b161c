import CDirectorSys
import DirectorManifest
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

    @Test func aChildsCgroupNameMapsItsIdAndBack() {
        let id = ChildID(groupPath: ["web", "café"], job: "api", instance: 12)
        #expect(id.description == "web/café/api/12" && id.jobKey == "web/café/api")
        #expect(ChildCgroups.name(of: id) == "d-web+café+api+12")
        #expect(ChildCgroups.childID(ofName: ChildCgroups.name(of: id)) == id.description)
    }

    @Test func abandonedEmptyTreesGoAndLiveOwnersStay() throws {
        guard let parent = Self.parent else {
            print("ChildCgroupsTests: skipped: no writable cgroup2 hierarchy")
            return
        }
        let dead = parent + "/director-test-dead-\(getpid())"
        let live = parent + "/director-test-live-\(getpid())"
        // A daemon between its base's mkdir and the owner it names in it: no owner yet, empty.
        let starting = parent + "/director-test-starting-\(getpid())"
        defer {
            rmdir(starting)
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
        #expect(mkdir(starting, 0o755) == 0)
        ChildCgroups.sweepAbandoned(in: parent, except: parent + "/director-none")
        var st = stat()
        #expect(stat(dead, &st) != 0, "the dead owner's empty tree is removed")
        #expect(stat(live + "/d-a+b+0", &st) == 0, "the live owner's tree stays")
        // Removing it would leave that daemon with an fd to a deleted directory and its
        // children with no cgroup (seen as a flake: an escaped process's CPU not counted).
        #expect(stat(starting, &st) == 0, "a base that has no owner yet stays")
    }

    /// A spawned child is in its cgroup from its first instruction on, both ways: born there
    /// (clone3 with CLONE_INTO_CGROUP, this kernel's way) and joined by writing `cgroup.procs`
    /// (the way of kernels and seccomp filters that refuse clone3). A shell it runs, and what
    /// the shell forks, are there too.
    @Test(arguments: [true, false])
    func aChildIsBornInItsCgroup(clone3: Bool) throws {
        guard let parent = Self.parent, let own = ChildCgroups.ownCgroup() else {
            print("ChildCgroupsTests: skipped: no writable cgroup2 hierarchy")
            return
        }
        let name = "director-test-spawn-\(getpid())-\(clone3)"
        let path = parent + "/" + name
        #expect(mkdir(path, 0o755) == 0)
        defer {
            // Reaped by now (ChildGuard's deinit ran): the cgroup empties as the exits finish.
            var tries = 0
            while rmdir(path) != 0 && errno == EBUSY && tries < 200 { tries += 1; usleep(10_000) }
        }
        let dir = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        #expect(dir >= 0)
        defer { close(dir) }
        director_spawn_allow_clone3(clone3 ? 1 : 0)
        defer { director_spawn_allow_clone3(1) }
        director_spawn_set_next_cgroup(dir)
        do {
            let child = try ChildGuard(launch(["/bin/sh", "-c", "cat /proc/self/cgroup; (cat /proc/self/cgroup)"]))
            let usedClone3 = director_spawn_last_used_clone3() == 1
            let expected = "0::" + (own == "/" ? "" : own) + "/" + name
            let lines = child.readStdout().split(separator: "\n").filter { $0.hasPrefix("0::") }.map(String.init)
            #expect(lines == [expected, expected], "the shell and its subshell are in the child's cgroup")
            #expect(child.waitExit() == .code(0))
            if clone3 {
                var u = utsname()
                uname(&u)
                let release = withUnsafeBytes(of: u.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
                let version = release.split(separator: ".").prefix(2).compactMap { Int($0.prefix { $0.isNumber }) }
                if version.count == 2, (version[0], version[1]) >= (5, 7) {
                    #expect(usedClone3, "a \(release) kernel has CLONE_INTO_CGROUP")
                }
            } else {
                #expect(!usedClone3)
            }
        }
        // The next spawn, with no cgroup set, stays in ours.
        let plain = try ChildGuard(launch(["/bin/cat", "/proc/self/cgroup"]))
        #expect(plain.readStdout().split(separator: "\n").contains("0::" + own))
        #expect(director_spawn_last_used_clone3() == 0)
    }
}
