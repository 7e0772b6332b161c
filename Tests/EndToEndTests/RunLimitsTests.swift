import DirectorManifest
import Foundation
import Testing

/// `limits` on a host whose cgroup v2 hierarchy lacks the controllers (this one: memory, cpu
/// and pids are bound to cgroup v1): `validate` and `run` warn, naming each key not applied,
/// and the children still run.
@Suite struct RunLimitsTests {
    static let manifest = """
        jobs:
          - name: api
            command: ["sleep", "3600"]
            limits: {memory: 64M, cpu: 0.5, pids: 64}
        """

    @Test(.enabled(if: LimitSupport.probe().available.isEmpty))
    func validateAndRunSayWhichLimitIsNotApplied() throws {
        let d = try DaemonHarness(files: ["lim.yaml": Self.manifest])
        defer { d.stop() }
        let v = try DirectorBinary.run(["validate", "--jobs", d.jobs])
        #expect(v.status == 0, "warnings do not fail validate: \(v.stderr)")
        for key in ["memory", "cpu", "pids"] {
            #expect(v.stderr.contains("lim.yaml:2:11: warning: lim/api: limits.\(key) is not applied: the \(key) controller is not available"),
                "\(v.stderr)")
        }
        let strict = try DirectorBinary.run(["validate", "--strict", "--jobs", d.jobs])
        #expect(strict.status == 1 && strict.stderr.contains("error: lim/api: limits.memory is not applied"), "\(strict.stderr)")
        try d.start(["--no-watch"])
        try d.waitRunning(1)
        #expect(d.daemonStderr.contains("warning lim/api") && d.daemonStderr.contains("limits.memory is not applied"), "\(d.daemonStderr)")
    }

    @Test func withCgroupsOffTheWarningSaysSo() throws {
        let d = try DaemonHarness(files: ["lim.yaml": Self.manifest])
        let v = try DirectorBinary.run(["validate", "--jobs", d.jobs], environment: ["DIRECTOR_CGROUPS": "off"])
        #expect(v.stderr.contains("limits.pids is not applied: the pids controller is not available (cgroups per child are off (DIRECTOR_CGROUPS=off))"),
            "\(v.stderr)")
    }
}
