import Glibc
import Testing
@testable import DirectorManifest

/// DESIGN §2: at most 100 000 children in all (`--max-children`), checked while decoding, so a
/// manifest over the limit is a located error and nothing is ever sized by it.
struct ChildLimitTests {
    static func job(_ name: String, _ instances: Int) -> String {
        "  - name: \(name)\n    command: [\"sleep\", \"1\"]\n    instances: \(instances)\n"
    }

    @Test func instancesOverTheDefaultLimitIsALocatedError() throws {
        let dir = TempDirectory()
        defer { dir.remove() }
        dir.write("a.yaml", "jobs:\n" + Self.job("small", 4))
        dir.write("b.yaml", "jobs:\n" + Self.job("ok", 2) + Self.job("huge", 100_000_000))
        let clock = ContinuousClock()
        let started = clock.now
        let error = #expect(throws: ManifestErrors.self) { try ManifestLoader.load(directory: dir.path) }
        // Nothing proportional to `instances` is built: refusing 10^8 takes no time.
        #expect(clock.now - started < .seconds(2))
        let lines = error?.errors.map(\.description) ?? []
        #expect(lines.count == 1, "\(lines)")
        // Line 7, column 16: the value of the `instances` that crosses the limit.
        #expect(lines.first?.hasPrefix("\(dir.path)/b.yaml:7:16: jobs[1].instances: ") == true, "\(lines)")
        #expect(lines.first?.contains("100000006 children in all") == true, "\(lines)")
        #expect(lines.first?.contains("limit of 100000") == true, "\(lines)")
        #expect(error?.errors.first?.code == .tooManyChildren)
    }

    @Test func theLimitIsInclusiveAndCountsEveryFileAndNestedGroup() throws {
        let dir = TempDirectory()
        defer { dir.remove() }
        dir.write("a.yaml", "jobs:\n" + Self.job("x", 60_000))
        dir.write("b.yaml", """
            jobs:
              - group:
                  name: inner
                  jobs:
                    - name: y
                      command: "exec sleep 1"
                      instances: 39999
              - name: z
                command: "exec sleep 1"

            """)
        let manifest = try ManifestLoader.load(directory: dir.path)
        #expect(manifest.childCount == 100_000)
        // One more child, through a job with the default `instances: 1`: the error points at
        // the job, which has no `instances` to point at.
        dir.write("c.yaml", "jobs:\n  - name: one\n    command: \"exec sleep 1\"\n")
        let error = #expect(throws: ManifestErrors.self) { try ManifestLoader.load(directory: dir.path) }
        let lines = error?.errors.map(\.description) ?? []
        #expect(lines.count == 1, "\(lines)")
        #expect(lines.first?.hasPrefix("\(dir.path)/c.yaml:2:5: jobs[0]: ") == true, "\(lines)")
        #expect(lines.first?.contains("100001 children in all") == true, "\(lines)")
    }

    @Test func sumsBeyondIntDoNotOverflowAndAreReportedOnce() throws {
        let text = "jobs:\n" + Self.job("a", Int.max) + Self.job("b", Int.max) + Self.job("c", 5)
        let error = #expect(throws: ManifestErrors.self) { try ManifestLoader.load(yaml: text, file: "big.yaml") }
        let lines = error?.errors.map(\.description) ?? []
        #expect(lines.count == 1, "\(lines)")
        #expect(lines.first?.hasPrefix("big.yaml:4:16: jobs[0].instances: ") == true, "\(lines)")
    }

    @Test func aCustomLimitApplies() throws {
        let text = "jobs:\n" + Self.job("a", 3) + Self.job("b", 3)
        #expect(try ManifestLoader.load(yaml: text, file: "six.yaml", maxChildren: 6).children.count == 2)
        let error = #expect(throws: ManifestErrors.self) {
            try ManifestLoader.load(yaml: text, file: "six.yaml", maxChildren: 5)
        }
        #expect(error?.errors.map(\.description).first?.hasPrefix("six.yaml:7:16: jobs[1].instances: ") == true)
        #expect(error?.errors.first?.message.contains("limit of 5") == true)
        // 150 000 is fine when the operator raised the limit.
        #expect(try ManifestLoader.load(yaml: "jobs:\n" + Self.job("a", 150_000), file: "big.yaml", maxChildren: 200_000)
            .children.count == 1)
        let report = ValidationReport(directory: "/nonexistent", maxChildren: 10)
        #expect(report.exitStatus == 1)
    }
}
