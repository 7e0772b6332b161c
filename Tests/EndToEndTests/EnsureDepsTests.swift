import Foundation
import Testing

/// `scripts/ensure-deps.sh` (run by `make run` and `make test`) on a machine whose package
/// lists are empty: the first `apt-get install` cannot locate the packages, so the script
/// must run `apt-get update` once and install again. apt-get and pkg-config are replaced by
/// recording scripts: installing packages for real would change the machine under test.
@Suite struct EnsureDepsTests {
    @Test func freshMachineRunsUpdateThenInstalls() throws {
        let dir = try TemporaryDirectory()
        let log = dir.path + "/apt.log"
        let updated = dir.path + "/updated"
        try dir.write("apt-get", executable: true, """
            #!/bin/sh
            echo "$*" >> \(log)
            case "$1" in
              update) touch \(updated); exit 0 ;;
              install) [ -f \(updated) ] && exit 0
                       echo "E: Unable to locate package liblmdb-dev" >&2; exit 100 ;;
            esac
            """)
        try dir.write("pkg-config", executable: true, "#!/bin/sh\nexit 1\n")
        let result = try runScript(env: [
            "APT_GET": dir.path + "/apt-get", "PKG_CONFIG": dir.path + "/pkg-config", "DIRECTOR_FORCE_ROOT": "1",
        ])
        #expect(result.status == 0, "stderr: \(result.stderr)")
        let calls = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n").map {
            $0.split(separator: " ").first.map(String.init) ?? ""
        }
        #expect(calls == ["install", "update", "install"])
        #expect(result.stderr.contains("apt-get update"))
    }

    @Test func otherInstallFailuresAreReportedNotRetried() throws {
        let dir = try TemporaryDirectory()
        let log = dir.path + "/apt.log"
        try dir.write("apt-get", executable: true, """
            #!/bin/sh
            echo "$*" >> \(log)
            echo "E: Could not get lock /var/lib/dpkg/lock-frontend" >&2; exit 100
            """)
        try dir.write("pkg-config", executable: true, "#!/bin/sh\nexit 1\n")
        let result = try runScript(env: [
            "APT_GET": dir.path + "/apt-get", "PKG_CONFIG": dir.path + "/pkg-config", "DIRECTOR_FORCE_ROOT": "1",
        ])
        #expect(result.status != 0)
        #expect(result.stderr.contains("Could not get lock"))
        let calls = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n")
        #expect(calls.count == 1)
    }

    @Test func nothingMissingInstallsNothing() throws {
        let dir = try TemporaryDirectory()
        try dir.write("apt-get", executable: true, "#!/bin/sh\necho called >> \(dir.path)/apt.log\nexit 1\n")
        try dir.write("pkg-config", executable: true, "#!/bin/sh\nexit 0\n")
        let result = try runScript(env: [
            "APT_GET": dir.path + "/apt-get", "PKG_CONFIG": dir.path + "/pkg-config", "DIRECTOR_SKIP_TOOLS": "1",
        ])
        #expect(result.status == 0)
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/apt.log"))
    }

    private func runScript(env: [String: String]) throws -> CommandResult {
        try CommandResult.run(["/bin/bash", RepoPaths.root + "/scripts/ensure-deps.sh"], environment: env)
    }
}
