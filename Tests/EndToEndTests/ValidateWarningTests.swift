import Foundation
import Testing

/// `validate` warns about what would fail as soon as it runs (issue 13, point 5): a program
/// not on the PATH or not executable, a cwd that does not exist. Exit 0 with warnings,
/// 1 with `--strict`; the daemon logs the same warnings at start and at reload.
@Suite struct ValidateWarningTests {
    static func manifest(program: String, cwd: String? = nil) -> String {
        """
        group: w
        jobs:
          - name: job
            command: ["\(program)", "x"]
        \(cwd.map { "    cwd: \($0)" } ?? "")
        """
    }

    @Test func missingProgramOnThePathIsAWarningWithItsLocation() throws {
        let dir = try TemporaryDirectory()
        try dir.write("w.yaml", Self.manifest(program: "director-no-such-program"))
        let r = try DirectorBinary.run(["validate", "--jobs", dir.path])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.hasPrefix("ok: "))
        let lines = r.stderr.split(separator: "\n")
        #expect(lines.count == 1, "\(r.stderr)")
        #expect(lines.first?.hasPrefix(dir.path + "/w.yaml:3:") == true, "\(r.stderr)")
        #expect(lines.first?.contains("warning: w/job: command director-no-such-program is not found on the PATH") == true)
    }

    @Test func programThatIsNotExecutableIsAWarning() throws {
        let dir = try TemporaryDirectory()
        try dir.write("tool", "#!/bin/sh\n")  // no x bit
        try dir.write("w.yaml", Self.manifest(program: dir.path + "/tool"))
        let r = try DirectorBinary.run(["validate", "--jobs", dir.path])
        #expect(r.status == 0)
        #expect(r.stderr.contains("command \(dir.path)/tool is not executable"), "\(r.stderr)")
    }

    @Test func missingCwdIsAWarningAndStrictMakesItAnError() throws {
        let dir = try TemporaryDirectory()
        try dir.write("w.yaml", Self.manifest(program: "sleep", cwd: "/nonexistent/director-cwd"))
        let r = try DirectorBinary.run(["validate", "--jobs", dir.path])
        #expect(r.status == 0)
        #expect(r.stderr.contains("warning: w/job: cwd /nonexistent/director-cwd does not exist"), "\(r.stderr)")
        let strict = try DirectorBinary.run(["validate", "--strict", "--jobs", dir.path])
        #expect(strict.status == 1)
        #expect(strict.stdout.isEmpty)
        #expect(strict.stderr.contains(dir.path + "/w.yaml:3:"), "\(strict.stderr)")
        #expect(strict.stderr.contains("error: w/job: cwd /nonexistent/director-cwd does not exist"), "\(strict.stderr)")
    }

    @Test func aCleanDirectoryHasNoWarningsUnderStrict() throws {
        let dir = try TemporaryDirectory()
        try dir.write("w.yaml", Self.manifest(program: "sleep"))
        let r = try DirectorBinary.run(["validate", "--strict", "--jobs", dir.path])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.isEmpty)
    }
}
