import Testing
@testable import DirectorManifest

/// `update` and `limits`: decoding, located errors, their part in `processDiffers` and the
/// hash, and the warnings for `limits` keys whose cgroup controller is missing.
struct UpdateAndLimitsKeysTests {
    private func job(_ keys: String) throws -> JobSpec { try OneJob.load(keys) }
    private func errors(_ keys: String) -> [String] { OneJob.errors(keys) }

    @Test func updateReadsTheShorthandAndTheMapping() throws {
        #expect(try job("").update == UpdatePolicy())
        #expect(try job("    update: rolling\n").update == UpdatePolicy(.rolling, maxSurge: 1, maxUnavailable: 0))
        #expect(try job("    update: restart\n").update == UpdatePolicy())
        #expect(try job("    update: {mode: rolling, max_surge: 3, max_unavailable: 2}\n").update
            == UpdatePolicy(.rolling, maxSurge: 3, maxUnavailable: 2))
        #expect(try job("    update: {mode: rolling, max_surge: 0, max_unavailable: 1}\n").update.maxSurge == 0)
    }

    @Test func updateMistakesAreLocated() {
        #expect(errors("    update: blue-green\n") == [
            "t.yaml:4:13: jobs[0].update: `blue-green` is not one of restart, rolling",
        ])
        #expect(errors("    update: {mode: rolling, max_surge: 0, max_unavailable: 0}\n") == [
            "t.yaml:4:40: jobs[0].update.max_surge: `max_surge` and `max_unavailable` cannot both be 0: the roll could never stop an old instance",
        ])
        #expect(errors("    update: {mode: restart, max_surge: 2}\n") == [
            "t.yaml:4:29: jobs[0].update.max_surge: `max_surge` applies to `mode: rolling` only",
        ])
        #expect(errors("    update: {max_surge: 2}\n").first?.contains("jobs[0].update") == true)
        #expect(errors("    update: {mode: rolling, max_surge: -1}\n").first?.contains("jobs[0].update.max_surge") == true)
    }

    @Test func limitsReadMemoryCpuAndPids() throws {
        let limits = try job("    limits: {memory: 512M, cpu: 1.5, pids: 256}\n").limits
        #expect(limits == CgroupLimits(memory: 512 << 20, cpu: 1.5, pids: 256))
        #expect(limits.files.map { "\($0.name)=\($0.value)" } == ["memory.max=536870912", "cpu.max=150000 100000", "pids.max=256"])
        #expect(limits.controllers == ["memory", "cpu", "pids"])
        #expect(try job("    limits: {pids: 10}\n").limits.files.map(\.name) == ["pids.max"])
        #expect(try job("").limits.isEmpty)
    }

    @Test func limitsMistakesAreLocated() {
        #expect(errors("    limits: {memory: 12}\n") == ["t.yaml:4:22: jobs[0].limits.memory: memory `12` is too small: at least 1M"])
        #expect(errors("    limits: {memory: lots}\n") == ["t.yaml:4:22: jobs[0].limits.memory: expected a size such as `512M` (K, M, G)"])
        #expect(errors("    limits: {cpu: 0}\n") == ["t.yaml:4:19: jobs[0].limits.cpu: cpu must be in 0.01...4096 (CPUs)"])
        #expect(errors("    limits: {pids: 0}\n") == ["t.yaml:4:20: jobs[0].limits.pids: 0 is out of range: must be in 1...2147483647"])
        #expect(errors("    limits: {disk: 1G}\n").first?.contains("jobs[0].limits.disk") == true)
    }

    @Test func limitsDefineTheProcessUpdateIsPolicy() throws {
        let base = try job("")
        var limited = base
        limited.limits = CgroupLimits(memory: 64 << 20)
        #expect(limited.processDiffers(from: base))
        #expect(limited.stableHash != base.stableHash)
        var rolling = base
        rolling.update = .rolling
        #expect(!rolling.processDiffers(from: base))
        #expect(rolling != base)
        #expect(rolling.stableHash != base.stableHash)
        // Jobs without the keys keep the hash they had before the keys existed.
        #expect(!base.canonicalText.contains("update=") && !base.canonicalText.contains("limit."))
    }

    @Test func aLimitWhoseControllerIsMissingIsAWarningNamingTheKey() throws {
        let group = try ManifestLoader.load(yaml: """
            jobs:
              - name: api
                command: ["/bin/sleep", "60"]
                limits: {memory: 64M, pids: 32}
              - name: free
                command: ["/bin/sleep", "60"]
            """, file: "t.yaml", jobsDirectory: "/")
        let manifest = Manifest(groups: [group])
        let some = LimitSupport(available: ["pids", "cpu"], reason: "because")
        #expect(ManifestWarnings.check(manifest, searchPath: "/bin", limits: some).map(\.description) == [
            "t.yaml:2:11: warning: t/api: limits.memory is not applied: the memory controller is not available (because)",
        ])
        let all = LimitSupport(available: ["memory", "cpu", "pids"], reason: "")
        #expect(ManifestWarnings.check(manifest, searchPath: "/bin", limits: all).isEmpty)
    }

    @Test func thisMachinesProbeNamesWhatIsMissing() {
        // Whatever this host offers, a missing controller comes with a reason.
        let probe = LimitSupport.probe()
        if probe.available.count < 3 { #expect(!probe.reason.isEmpty) }
        #expect(probe.available.isSubset(of: ["memory", "cpu", "pids"]))
    }
}

extension UpdateAndLimitsKeysTests {
    @Test func oomIsACauseOnExitAccepts() throws {
        let j = try job("    on_exit:\n      - when: {cause: [oom]}\n        do: wait\n")
        #expect(j.onExit.first?.when.causes == ["oom"])
    }
}
