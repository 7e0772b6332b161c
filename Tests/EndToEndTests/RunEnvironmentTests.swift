import Foundation
import Testing

/// What a child sees: the DIRECTOR_* variables, templated env, cwd and command, the daemon's
/// own environment, and stdin from /dev/null.
@Suite(.serialized) struct RunEnvironmentTests {
    @Test func childSeesItsIdentityAndTemplatedSettings() throws {
        let d = try DaemonHarness(files: [:])
        defer { d.stop() }
        for i in 0..<2 { try FileManager.default.createDirectory(atPath: d.dir.path + "/work-\(i)", withIntermediateDirectories: true) }
        try d.write("g.yaml", """
            group: g
            jobs:
              - group:
                  name: sub
                  jobs:
                    - name: show
                      instances: 2
                      cwd: \(d.dir.path)/work-{{instance}}
                      env: {SLOT: "slot-{{instance}}", WHO: "{{group}}:{{job}}:{{id}}"}
                      command: ["/bin/sh", "-c", "echo \\"arg=$0 id=$DIRECTOR_ID group=$DIRECTOR_GROUP job=$DIRECTOR_JOB instance=$DIRECTOR_INSTANCE slot=$SLOT who=$WHO cwd=$(pwd) home=$HOME stdin=$(cat | wc -c)\\"; exec sleep 3600", "{{id}}"]
            """)
        // The daemon's environment is passed on (HOME as the test runner has it).
        let home = ProcessInfo.processInfo.environment["HOME"] ?? ""
        try d.start()
        for i in 0..<2 {
            let id = "g/sub/show/\(i)"
            let out = try d.waitForStdout("\(id) stdout: ")
            let line = out.split(separator: "\n").first { $0.hasPrefix("\(id) stdout: ") } ?? ""
            #expect(line == """
                \(id) stdout: arg=\(id) id=\(id) group=g/sub job=show instance=\(i) slot=slot-\(i) \
                who=g/sub:show:\(id) cwd=\(d.dir.path)/work-\(i) home=\(home) stdin=0
                """)
        }
    }
}
