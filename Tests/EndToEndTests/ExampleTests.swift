import Foundation
import Testing

/// The programs in Examples/, built by `swift build --build-tests` (every target is), run as
/// a user would run them, with their output checked.
@Suite struct ExampleTests {
    static func binary(_ name: String) -> String {
        for c in [".build/debug/\(name)", ".build/x86_64-unknown-linux-gnu/debug/\(name)"]
        where FileManager.default.isExecutableFile(atPath: RepoPaths.root + "/" + c) {
            return RepoPaths.root + "/" + c
        }
        return RepoPaths.root + "/.build/debug/\(name)"
    }

    @Test func theEmbeddedSupervisorRestartsWithAGrowingDelayThenGivesUpAndStops() throws {
        let result = try CommandResult.run([Self.binary("EmbeddedSupervisor")])
        #expect(result.status == 0, "stderr: \(result.stderr)")
        #expect(result.stdout == """
            demo/worker/0 exited (code=1), crash 1: restart in 0.02 seconds
            demo/worker/0 exited (code=1), crash 2: restart in 0.04 seconds
            demo/worker/0 exited (code=1), crash 3: restart in 0.08 seconds
            demo/worker/0 exited (code=1), crash 4: giving up
            group demo given up
            demo/worker/0: stopped
            demo/helper/0: stopped
            tree stopped with status 0 after 4 crashes
            done

            """, "stderr: \(result.stderr)")
    }
}
