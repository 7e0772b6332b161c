import DirectorManifest
import DirectorTable
import Testing
@testable import DirectorRuntime

/// Pool sizes a previous daemon's operator chose are dropped at start when, with them, the
/// tree would be over `--max-children` (a restart with a lower limit, or a table written
/// elsewhere): otherwise the engine would build every one of those children.
@Suite struct RestoredScaleLimitTests {
    static let manifest = Manifest(groups: [try! ManifestLoader.load(
        yaml: "jobs:\n  - {name: a, command: \"exec sleep 1\", instances: 3}\n  - {name: b, command: \"exec sleep 1\"}\n",
        file: "/jobs/web.yaml")])

    static func decisions(a: Int) -> OperatorDecisions {
        let hash = manifest.jobsByKey.first { $0.key == "web/a" }!.job.stableHash
        return OperatorDecisions(stopped: ["web/b/0": "x"], scaled: ["web/a": .init(instances: a, specHash: hash)])
    }

    @Test func scalesThatFitAreKept() {
        var d = Self.decisions(a: 9)
        #expect(d.dropScales(beyond: 10, in: Self.manifest) == nil)
        #expect(d.scaled["web/a"]?.instances == 9)
    }

    @Test func scalesOverTheLimitAreDroppedAndTheTotalReported() {
        var d = Self.decisions(a: 100_000_000)
        #expect(d.dropScales(beyond: ManifestLoader.defaultMaxChildren, in: Self.manifest) == 100_000_001)
        #expect(d.scaled.isEmpty)
        #expect(d.stopped == ["web/b/0": "x"], "other decisions stay")
    }

    @Test func aScaleOfAJobWhoseSpecChangedDoesNotCount() {
        var d = OperatorDecisions(scaled: ["web/a": .init(instances: 100_000_000, specHash: "old")])
        #expect(d.dropScales(beyond: 10, in: Self.manifest) == nil)
    }
}
