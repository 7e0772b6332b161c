#if canImport(Glibc)
import Glibc
#endif
import DirectorCore
import DirectorManifest
import Testing
@testable import DirectorRuntime

/// `user`, `group`, `umask` and `rlimits` applied in the spawn path, read back from /proc of
/// the real child; each failing step reported as its own spawn failure.
@Suite struct SpawnIdentityTests {
    private func launch(_ argv: [String], identity: ProcessIdentity, cwd: String = "/") -> LaunchSpec {
        LaunchSpec(id: ChildID("t/job/0")!, argv: argv, cwd: cwd, env: [], log: LogPolicy(), identity: identity)
    }

    /// The spawn's failure, or nil when it started (the child is then killed and reaped).
    private func spawnFailure(_ spec: LaunchSpec) -> SpawnError? {
        do {
            _ = try ChildGuard(spec)
            return nil
        } catch {
            return error as? SpawnError
        }
    }

    /// `Key:\tvalues` of /proc/PID/status.
    private func status(_ pid: Int32, _ key: String) -> [String] {
        let text = readFile("/proc/\(pid)/status")
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix(key + ":") }) else { return [] }
        return line.dropFirst(key.count + 1).split(whereSeparator: { $0 == "\t" || $0 == " " }).map(String.init)
    }

    private func readFile(_ path: String) -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return "" }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            bytes += chunk[0..<n]
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    @Test func runsAsNobodyWithItsGroups() throws {
        try #require(geteuid() == 0, "needs root to switch users")
        let child = try ChildGuard(launch(["/bin/sleep", "30"], identity: ProcessIdentity(user: "nobody")))
        #expect(status(child.pid, "Uid") == ["65534", "65534", "65534", "65534"])
        let nobody = try #require(try UserDatabase.resolve(user: "nobody", group: nil))
        #expect(status(child.pid, "Gid") == Array(repeating: String(nobody.gid), count: 4))
        #expect(Set(status(child.pid, "Groups")) == Set(nobody.groups.map(String.init)))
        // The daemon's own supplementary groups are gone (root's 0 among them).
        #expect(!status(child.pid, "Groups").contains("0") || nobody.groups.contains(0))
    }

    @Test func aGroupOverridesThePrimaryGroup() throws {
        try #require(geteuid() == 0, "needs root to switch users")
        let child = try ChildGuard(launch(["/bin/sleep", "30"], identity: ProcessIdentity(user: "nobody", group: "4321")))
        #expect(status(child.pid, "Uid").first == "65534")
        #expect(status(child.pid, "Gid") == ["4321", "4321", "4321", "4321"])
        #expect(status(child.pid, "Groups").contains("4321"))
    }

    @Test func umaskIsApplied() throws {
        let child = try ChildGuard(launch(["/bin/sleep", "30"], identity: ProcessIdentity(umask: 0o027)))
        #expect(status(child.pid, "Umask") == ["0027"])
    }

    @Test func rlimitsAreReadBackFromProc() throws {
        let identity = ProcessIdentity(rlimits: [
            ResourceLimit(.nofile, soft: 512, hard: 1024), ResourceLimit(.core, soft: 0),
            ResourceLimit(.stack, soft: 4 << 20, hard: ResourceLimit.unlimited), ResourceLimit(.cpu, soft: 300),
            ResourceLimit(.fsize, soft: 1 << 30), ResourceLimit(.memlock, soft: 64 << 10),
            ResourceLimit(.nproc, soft: 4096), ResourceLimit(.addressSpace, soft: ResourceLimit.unlimited),
        ])
        let child = try ChildGuard(launch(["/bin/sleep", "30"], identity: identity))
        let limits = readFile("/proc/\(child.pid)/limits")
        func row(_ title: String) -> [String] {
            guard let line = limits.split(separator: "\n").first(where: { $0.hasPrefix(title) }) else { return [] }
            return line.dropFirst(title.count).split(separator: " ").prefix(2).map(String.init)
        }
        #expect(row("Max open files") == ["512", "1024"])
        #expect(row("Max core file size") == ["0", "0"])
        #expect(row("Max stack size") == [String(4 << 20), "unlimited"])
        #expect(row("Max cpu time") == ["300", "300"])
        #expect(row("Max file size") == [String(1 << 30), String(1 << 30)])
        #expect(row("Max locked memory") == [String(64 << 10), String(64 << 10)])
        #expect(row("Max processes") == ["4096", "4096"])
        #expect(row("Max address space") == ["unlimited", "unlimited"])
    }

    @Test func theCwdIsEnteredAsTheNewUser() throws {
        try #require(geteuid() == 0, "needs root to switch users")
        let dir = TempDir()
        defer { dir.cleanup() }
        chmod(dir.path, 0o700)  // root's only: nobody cannot enter it
        let failure = spawnFailure(launch(["/bin/true"], identity: ProcessIdentity(user: "nobody"), cwd: dir.path))
        #expect(failure?.code == .badDirectory)
        #expect(failure?.message == "cwd \(dir.path): Permission denied")
    }

    @Test func eachFailingStepIsReported() throws {
        // A hard limit above the one we have is refused without CAP_SYS_RESOURCE; as root,
        // nofile above fs.nr_open is refused always.
        let tooMany = ResourceLimit(.nofile, soft: 1 << 40)
        let limit = spawnFailure(launch(["/bin/true"], identity: ProcessIdentity(rlimits: [ResourceLimit(.core, soft: 0), tooMany])))
        #expect(limit?.code == .badLimit)
        #expect(limit?.message == "setrlimit rlimits.nofile \(1 << 40)/\(1 << 40): Operation not permitted")
        let user = spawnFailure(launch(["/bin/true"], identity: ProcessIdentity(user: "no-such-user-here")))
        #expect(user?.code == .badUser)
        #expect(user?.message == "user: unknown user `no-such-user-here`")
    }

    @Test func theIdentityStepsHaveTheirOwnMessages() {
        // A refused setgroups/setgid/setuid needs a daemon without the capabilities, which the
        // loader already refuses (see the end-to-end test under setpriv); the messages of the
        // three steps are checked here.
        var failure: SpawnError?
        for (step, expected) in [
            (Int32(4), "setgroups for user nobody: Operation not permitted"),
            (Int32(5), "setgid to group nobody: Operation not permitted"),
            (Int32(6), "setuid to user nobody: Operation not permitted"),
        ] {
            failure = SpawnIdentity.failure(EPERM, step: step, identity: ProcessIdentity(user: "nobody"), resource: -1)
            #expect(failure?.code == .badUser)
            #expect(failure?.message == expected)
        }
    }
}
