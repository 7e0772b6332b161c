import Foundation
import Testing

/// `director validate` as a user runs it: the real binary, real files, exit statuses.
@Suite struct ValidateCommandTests {
    @Test func examplesInJobsAreValid() throws {
        let r = try DirectorBinary.run(["validate", "--jobs", RepoPaths.root + "/jobs"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.hasPrefix("ok: "))
        #expect(r.stdout.contains(" children"))
    }

    @Test func errorsAreOneLineEachWithLocationAndExitOne() throws {
        let dir = try TemporaryDirectory()
        try dir.write("a.yaml", "group: a\njobs:\n  - name: x\n    command: \"true\"\n    delay: 5\n")
        try dir.write("b.yaml", "group: b\njobs:\n  - name: y\n    command: \"true\"\n    restrat: permanent\n")
        let r = try DirectorBinary.run(["validate", "--jobs", dir.path])
        #expect(r.status == 1)
        let lines = r.stderr.split(separator: "\n").map(String.init)
        #expect(lines.count == 2, "\(lines)")
        #expect(lines.first?.hasPrefix(dir.path + "/a.yaml:5:12: jobs[0].delay: ") == true, "\(lines)")
        #expect(lines.last?.hasPrefix(dir.path + "/b.yaml:5:5: jobs[0].restrat: ") == true, "\(lines)")
        #expect(lines.last?.contains("did you mean `restart`") == true)
        #expect(r.stdout.isEmpty)
    }

    @Test func missingDirectoryIsAUserError() throws {
        let r = try DirectorBinary.run(["validate", "--jobs", "/nonexistent/jobs"])
        #expect(r.status == 1)
        #expect(r.stderr.contains("/nonexistent/jobs"))
    }

    @Test func usageErrorExitsTwo() throws {
        let r = try DirectorBinary.run(["validate", "--frobnicate"])
        #expect(r.status == 2)
    }
}

/// The README's manifest example is real: it validates, and the error it shows for a
/// unit-less duration is the one the loader prints.
@Suite struct ReadmeExampleTests {
    @Test func readmeManifestValidatesAndItsErrorExampleIsExact() throws {
        let readme = try String(contentsOfFile: RepoPaths.root + "/README.md", encoding: .utf8)
        let start = try #require(readme.range(of: "```yaml\n"))
        let end = try #require(readme.range(of: "```", range: start.upperBound..<readme.endIndex))
        let yaml = String(readme[start.upperBound..<end.lowerBound])
        let dir = try TemporaryDirectory()
        try FileManager.default.createDirectory(atPath: dir.path + "/jobs", withIntermediateDirectories: true)
        try dir.write("jobs/web.yaml", yaml)
        let ok = try DirectorBinary.run(["validate", "--jobs", dir.path + "/jobs"])
        #expect(ok.status == 0, "\(ok.stderr)")

        try dir.write("jobs/web.yaml", yaml.replacingOccurrences(of: "initial: 100ms", with: "initial: 100"))
        let bad = try DirectorBinary.run(["validate", "--jobs", "jobs"], cwd: dir.path)
        #expect(bad.status == 1)
        let shown = readme.components(separatedBy: "\n").first { $0.hasPrefix("jobs/web.yaml:") }
        #expect(bad.stderr.trimmingCharacters(in: .newlines) == shown)
    }
}
