#if canImport(Glibc)
import Glibc
#endif
import DirectorCore
import DirectorManifest
import Testing
@testable import DirectorRuntime

@Suite struct SpawnEnvironmentTests {
    private func entries(_ base: SpawnEnvironment, _ extra: [EnvVar]) -> [String] {
        base.withEnvironment(adding: extra) { envp in
            var out: [String] = []
            var i = 0
            while let p = envp[i] {
                out.append(String(cString: p))
                i += 1
            }
            return out
        }
    }

    @Test func childVariablesReplaceOrFollowTheBaseAndTheLastOneWins() {
        let base = SpawnEnvironment(["PATH": "/bin", "HOME": "/root", "LANG": "C"])
        #expect(base.variableNames == ["HOME", "LANG", "PATH"])
        #expect(base.path == "/bin")
        let env = entries(base, [
            EnvVar(name: "LANG", value: "C.UTF-8"), EnvVar(name: "DIRECTOR_ID", value: "g/j/0"),
            EnvVar(name: "DIRECTOR_ID", value: "g/j/1"),
        ])
        #expect(env == ["HOME=/root", "LANG=C.UTF-8", "PATH=/bin", "DIRECTOR_ID=g/j/1"])
        // The base itself is unchanged for the next child.
        #expect(entries(base, []) == ["HOME=/root", "LANG=C", "PATH=/bin"])
    }
}

@Suite struct SpawnEnvironmentSignalTests {
    /// The daemon prepares its spawn environment once; a signal it ignores at that moment
    /// must come back to the default in every child (only those signals are reset, to keep
    /// the restart path short).
    @Test func aSignalIgnoredWhenPreparedIsDefaultInTheChild() throws {
        let old = signal(SIGUSR2, SIG_IGN)
        defer { signal(SIGUSR2, old) }
        let environment = SpawnEnvironment(ProcessSpawner.currentEnvironment())
        let spec = LaunchSpec(
            id: ChildID(groupPath: ["g"], job: "j", instance: 0), argv: ["/bin/sleep", "30"], cwd: "/", env: [],
            log: LogPolicy())
        let process = try ProcessSpawner.spawn(spec, environment: environment)
        defer {
            kill(process.pid, SIGKILL)
            _ = ProcessReaper.waitExited(process.pid, block: true)
            close(process.stdoutFD)
            close(process.stderrFD)
            if process.pidfd >= 0 { close(process.pidfd) }
        }
        let status = try #require(ProcStat.readSmallFile("/proc/\(process.pid)/status"))
        let line = try #require(status.split(separator: "\n").first { $0.hasPrefix("SigIgn:") })
        let mask = try #require(UInt64(line.dropFirst("SigIgn:".count).filter { !$0.isWhitespace }, radix: 16))
        #expect(mask & (1 << (UInt64(SIGUSR2) - 1)) == 0, "SIGUSR2 must not stay ignored in the child (SigIgn \(line))")
        #expect(mask & (1 << (UInt64(SIGPIPE) - 1)) == 0, "SIGPIPE must not stay ignored in the child")
    }
}
