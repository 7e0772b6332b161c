import Foundation
import Testing

/// The `specs` database follows the manifest across daemon lives: a job removed while no
/// daemon ran has no spec left after the next start.
@Suite(.serialized) struct SpecLifetimeTests {
    @Test func specsOfJobsRemovedBetweenRunsAreDeletedAtStart() throws {
        let two = "group: g\njobs:\n  - name: a\n    command: [\"sleep\", \"3600\"]\n  - name: b\n    command: [\"sleep\", \"3600\"]\n"
        let d = try DaemonHarness(files: ["g.yaml": two])
        defer { d.stop() }
        try d.start()
        try d.waitRunning(2)
        #expect(try d.cli("spec", ["g/b"]).status == 0)
        d.signal(SIGTERM)
        #expect(d.waitExit() == 0)

        try d.write("g.yaml", "group: g\njobs:\n  - name: a\n    command: [\"sleep\", \"3600\"]\n")
        try d.start()
        try d.waitRunning(1)
        let gone = try d.cli("spec", ["g/b"])
        #expect(gone.status == 1, "the removed job's spec must be gone: \(gone.stdout)")
        #expect(try d.cli("spec", ["g/a/0"]).status == 0)
    }
}
