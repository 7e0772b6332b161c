import Glibc
import Testing
@testable import DirectorManifest

/// `user`, `group`, `umask`, `rlimits` and `env_file`: decoding, located errors, and their
/// part in the hash and in `processDiffers`.
struct IdentityKeysTests {
    private func job(_ keys: String, directory: String = "/jobs") throws -> JobSpec { try OneJob.load(keys, directory: directory) }
    private func errors(_ keys: String, directory: String = "/jobs") -> [String] { OneJob.errors(keys, directory: directory) }

    @Test func decodesUserGroupUmaskAndRlimits() throws {
        let j = try job("""
                user: nobody
                group: nogroup
                umask: 0027
                rlimits: {nofile: 4096, core: unlimited, stack: {soft: 8M, hard: 64M}, cpu: 30}

            """)
        #expect(j.identity.user == "nobody")
        #expect(j.identity.group == "nogroup")
        #expect(j.identity.umask == 0o027)
        #expect(j.identity.rlimits == [
            ResourceLimit(.nofile, soft: 4096), ResourceLimit(.core, soft: ResourceLimit.unlimited),
            ResourceLimit(.stack, soft: 8 << 20, hard: 64 << 20), ResourceLimit(.cpu, soft: 30),
        ])
    }

    @Test func aJobsGroupKeyIsNotANestedGroup() throws {
        let group = try ManifestLoader.load(yaml: """
            jobs:
              - name: api
                command: "sleep 60"
                group: nogroup
              - group: {name: inner, jobs: []}
            """, file: "t.yaml", jobsDirectory: "/jobs")
        #expect(group.children.count == 2)
        guard case .job(let j) = group.children[0], case .group(let g) = group.children[1] else {
            Issue.record("expected a job and a nested group")
            return
        }
        #expect(j.identity.group == "nogroup")
        #expect(g.name == "inner")
    }

    @Test func unknownUsersAndGroupsAreLocatedErrors() {
        #expect(errors("    user: no-such-user-here\n")
            == ["t.yaml:4:11: jobs[0].user: unknown user `no-such-user-here`"])
        #expect(errors("    group: no-such-group-here\n")
            == ["t.yaml:4:12: jobs[0].group: unknown group `no-such-group-here`"])
    }

    @Test func badUmasksAndLimitsAreLocatedErrors() {
        #expect(errors("    umask: \"0999\"\n").first?.hasPrefix("t.yaml:4:12: jobs[0].umask: expected an octal umask") == true)
        #expect(errors("    umask: 1777\n").first?.hasPrefix("t.yaml:4:12: jobs[0].umask:") == true)
        #expect(errors("    rlimits: {nofiles: 10}\n")
            == ["t.yaml:4:15: jobs[0].rlimits.nofiles: unknown key `nofiles`; did you mean `nofile`?"])
        #expect(errors("    rlimits: {nofile: 10M}\n")
            == ["t.yaml:4:23: jobs[0].rlimits.nofile: expected a non-negative integer or unlimited, got `10M`"])
        #expect(errors("    rlimits: {nofile: -1}\n").count == 1)
        #expect(errors("    rlimits: {core: {soft: 10, hard: 5}}\n")
            == ["t.yaml:4:38: jobs[0].rlimits.core.hard: hard must be ≥ soft"])
        #expect(errors("    rlimits: [nofile]\n").first?.contains("jobs[0].rlimits: expected a mapping") == true)
    }

    @Test func envFileIsReadRelativeToTheJobsDirectory() throws {
        let dir = TempDirectory()
        defer { dir.remove() }
        dir.write("app.env", """
            # a comment
            PLAIN=a b   # trailing comment
            export EXPORTED=yes

              SPACED = x
            SINGLE='it is $HOME # not a comment'
            DOUBLE="line\\nnext \\"q\\" \\$X"
            EMPTY=
            """)
        let j = try job("    env_file: app.env\n", directory: dir.path)
        #expect(j.envFile?.path == dir.path + "/app.env")
        #expect(j.envFile?.variables == [
            EnvVar(name: "PLAIN", value: "a b"), EnvVar(name: "EXPORTED", value: "yes"), EnvVar(name: "SPACED", value: "x"),
            EnvVar(name: "SINGLE", value: "it is $HOME # not a comment"), EnvVar(name: "DOUBLE", value: "line\nnext \"q\" $X"),
            EnvVar(name: "EMPTY", value: ""),
        ])
    }

    @Test func envFileProblemsAreLocatedInTheEnvFile() {
        let dir = TempDirectory()
        defer { dir.remove() }
        dir.write("bad.env", "OK=1\nnot a line\n")
        dir.write("quote.env", "A=\"open\n")
        dir.write("name.env", "1X=2\n")
        #expect(errors("    env_file: bad.env\n", directory: dir.path)
            == ["\(dir.path)/bad.env:2:1: jobs[0].env_file: expected KEY=VALUE"])
        #expect(errors("    env_file: quote.env\n", directory: dir.path)
            == ["\(dir.path)/quote.env:1:3: jobs[0].env_file: unterminated double-quoted value"])
        #expect(errors("    env_file: name.env\n", directory: dir.path)
            == ["\(dir.path)/name.env:1:1: jobs[0].env_file: invalid environment variable name `1X`"])
        #expect(errors("    env_file: missing.env\n", directory: dir.path)
            == ["t.yaml:4:15: jobs[0].env_file: cannot read env file \(dir.path)/missing.env: No such file or directory"])
    }

    @Test func theEnvFilesContentsAreInTheHashAndRestartTheJob() throws {
        let dir = TempDirectory()
        defer { dir.remove() }
        dir.write("app.env", "A=1\n")
        let before = try job("    env_file: app.env\n", directory: dir.path)
        dir.write("app.env", "A=2\n")
        let after = try job("    env_file: app.env\n", directory: dir.path)
        #expect(before.stableHash != after.stableHash)
        #expect(after.processDiffers(from: before))
        #expect(try job("    env_file: app.env\n", directory: dir.path).stableHash == after.stableHash)
    }

    @Test func identityKeysAreProcessKeysAndLeaveOtherHashesAlone() throws {
        let plain = try job("")
        // A job without the new keys hashes as before they existed (carry-over is keyed by it).
        #expect(!plain.canonicalText.contains("user=") && !plain.canonicalText.contains("rlimit="))
        for keys in ["    user: nobody\n", "    umask: \"077\"\n", "    rlimits: {nofile: 100}\n", "    group: nogroup\n"] {
            let changed = try job(keys)
            #expect(changed.processDiffers(from: plain), "\(keys)")
            #expect(changed.stableHash != plain.stableHash, "\(keys)")
        }
    }

    @Test func canSwitchUsersFollowsTheCapabilities() {
        // Tests run as root here, with CAP_SETUID and CAP_SETGID.
        #expect(UserDatabase.canSwitchUsers == (geteuid() == 0))
    }

    @Test func resolvesSupplementaryGroupsFromTheDatabase() throws {
        let root = try #require(try UserDatabase.resolve(user: "root", group: nil))
        #expect(root.uid == 0 && root.gid == 0 && root.groups.first == 0)
        let nobody = try #require(try UserDatabase.resolve(user: "nobody", group: nil))
        #expect(nobody.uid == 65534)
        #expect(nobody.groups.contains(nobody.gid))
        #expect(try UserDatabase.resolve(user: nil, group: nil) == nil)
        #expect(try UserDatabase.resolve(user: "4242", group: "4242") == UserDatabase.Credentials(uid: 4242, gid: 4242, groups: [4242]))
    }
}

/// `ready:` and `when: {cause: ...}`.
struct ReadyKeysTests {
    private func load(_ keys: String) throws -> JobSpec { try OneJob.load(keys) }
    private func errors(_ keys: String) -> [String] { OneJob.errors(keys) }

    @Test func decodesReadyAndCauses() throws {
        let j = try load("    ready: {notify: true, timeout: 2s}\n    on_exit:\n      - when: {cause: [ready_timeout, signal]}\n        do: wait\n")
        #expect(j.ready == ReadySpec(.notify, timeout: .seconds(2)))
        #expect(j.onExit.first?.when.causes == ["ready_timeout", "signal"])
        #expect(try load("    ready: {notify: true}\n").ready?.timeout == ReadySpec.defaultTimeout)
    }

    @Test func readyMistakesAreLocated() {
        #expect(errors("    ready: {timeout: 1s}\n") == ["t.yaml:4:12: jobs[0].ready: `ready` needs one of `notify: true`, `fd`, `tcp`, `http` or `exec`"])
        #expect(errors("    ready: {notify: false}\n").first?.contains("jobs[0].ready.notify: `notify: false` means no readiness") == true)
        #expect(errors("    ready: {notify: true, timeout: 0s}\n").count == 1)
        #expect(errors("    on_exit:\n      - when: {cause: [sick]}\n        do: wait\n").first?
            .hasPrefix("t.yaml:5:24: jobs[0].on_exit[0].when.cause[0]: unknown cause `sick`") == true)
    }

    @Test func decodesEveryReadinessProtocolHealthAndWatchdog() throws {
        #expect(try load("    ready: {fd: 3}\n").ready?.check == .fd(3))
        #expect(try load("    ready: {tcp: 8080, timeout: 5s}\n").ready == ReadySpec(.probe(.tcp(port: 8080)), timeout: .seconds(5)))
        let http = try #require(try load("    ready: {http: \"http://localhost:8080/healthz?x=1\"}\n").ready?.check)
        guard case .probe(.http(let target)) = http else { throw ManifestErrors([]) }
        #expect((target.host, target.port, target.path, target.authority) == ("127.0.0.1", 8080, "/healthz?x=1", "localhost:8080"))
        #expect(try load("    ready: {exec: [pg_isready, -q]}\n").ready?.check == .probe(.exec(["pg_isready", "-q"])))
        let j = try load("    health: {http: \"http://[::1]/\", interval: 5s, timeout: 1s, failures: 2}\n    watchdog: 10s\n")
        #expect(j.health == HealthSpec(.http(HTTPTarget(url: "http://[::1]/")!), interval: .seconds(5), timeout: .seconds(1), failures: 2))
        #expect(HTTPTarget(url: "http://[::1]/")?.port == 80)
        #expect(j.watchdog == .seconds(10))
        #expect(try load("    health: {tcp: 80}\n").health == HealthSpec(.tcp(port: 80), interval: .seconds(10), timeout: .seconds(2), failures: 3))
        #expect(try load("    on_exit:\n      - when: {cause: [unhealthy, watchdog]}\n        do: wait\n").onExit.first?.when.causes == ["unhealthy", "watchdog"])
        // A template in a URL is checked for its names and kept for expansion per instance.
        #expect(try load("    health: {http: \"http://127.0.0.1:80{{instance}}/\"}\n").health?.probe.expanded(for: ChildID("g/a/7")!)
            == .http(HTTPTarget(url: "http://127.0.0.1:807/")!))
    }

    @Test func probeMistakesAreLocated() {
        #expect(errors("    ready: {fd: 1}\n") == ["t.yaml:4:17: jobs[0].ready.fd: 1 is out of range: must be in 3...1023"])
        #expect(errors("    ready: {tcp: 70000}\n") == ["t.yaml:4:18: jobs[0].ready.tcp: 70000 is out of range: must be in 1...65535"])
        #expect(errors("    ready: {tcp: 80, fd: 3}\n") == ["t.yaml:4:18: jobs[0].ready: `ready` takes one protocol"])
        #expect(errors("    ready: {http: \"https://127.0.0.1/\"}\n").first?.hasPrefix("t.yaml:4:19: jobs[0].ready.http: invalid probe URL `https://127.0.0.1/`") == true)
        #expect(errors("    health: {http: \"http://example.com/\"}\n").first?.contains("HOST is an IP address or localhost") == true)
        #expect(errors("    health: {exec: []}\n") == ["t.yaml:4:20: jobs[0].health.exec: the probe command must not be empty"])
        #expect(errors("    health: {exec: \"true\"}\n") == ["t.yaml:4:20: jobs[0].health.exec: expected a list of strings (argv), got a string"])
        #expect(errors("    health: {interval: 1s}\n") == ["t.yaml:4:13: jobs[0].health: `health` needs one of `tcp`, `http` or `exec`"])
        #expect(errors("    health: {tcp: 80, failures: 0}\n") == ["t.yaml:4:33: jobs[0].health.failures: 0 is out of range: must be in 1...1000"])
        #expect(errors("    health: {tcp: 80, intervl: 1s}\n").first?.contains("unknown key `intervl`; did you mean `interval`?") == true)
        #expect(errors("    watchdog: 0s\n") == ["t.yaml:4:15: jobs[0].watchdog: must be greater than 0s"])
    }

    @Test func healthIsPolicyButWatchdogAndProbesAreProcessKeys() throws {
        let plain = try load("")
        #expect(!plain.processDiffers(from: try load("    health: {tcp: 80}\n")))
        #expect(plain.stableHash != (try load("    health: {tcp: 80}\n")).stableHash)
        #expect(plain.processDiffers(from: try load("    watchdog: 1s\n")))
        #expect(try load("    ready: {tcp: 80}\n").processDiffers(from: try load("    ready: {tcp: 81}\n")))
    }

    @Test func readyIsAProcessKeyAndCausesChangeTheHashOnlyWhenSet() throws {
        let plain = try load("")
        let ready = try load("    ready: {notify: true}\n")
        #expect(ready.processDiffers(from: plain))
        #expect(ready.stableHash != plain.stableHash)
        let rule = try load("    on_exit:\n      - when: {code: 1}\n        do: wait\n")
        #expect(!rule.canonicalText.contains("cause="))
        let caused = try load("    on_exit:\n      - when: {code: 1, cause: exit}\n        do: wait\n")
        #expect(caused.stableHash != rule.stableHash)
    }
}
