import Director
import Foundation
import Testing

/// `rollingRestart` through the handle, and `update`/`limits` on a tree built in code.
@Suite(.serialized) struct RollingEmbeddingTests {
    @Test func theHandleRollsAPoolAndItEndsAsItself() async throws {
        var job = shellJob("w", "exec sleep 60", instances: 2)
        job.update = UpdatePolicy(.rolling)
        let supervisor = try Supervisor(
            manifest: .manifest(Manifest(groups: [GroupSpec(name: "app", intensity: 100, children: [.job(job)])])),
            logger: CapturedLog().logger)
        let events = supervisor.handle.events
        let run = Task { try await supervisor.run() }
        #expect(await eventually { await supervisor.handle.whichChildren().filter { $0.state == .running }.count == 2 })
        let before = Set(await supervisor.handle.whichChildren().compactMap(\.pid))
        let ids = try await supervisor.handle.rollingRestart("app/w")
        #expect(ids.map(\.description) == ["app/w/0", "app/w/1"])
        var kinds: [String] = []
        for await event in events where event.subject == "app/w" {
            kinds.append(event.kind.rawValue)
            if event.kind == .rollDone || event.kind == .rollStopped { break }
        }
        #expect(kinds == ["roll", "roll_done"])
        #expect(await eventually { await supervisor.handle.whichChildren().count == 2 })
        let after = await supervisor.handle.whichChildren()
        #expect(after.map(\.id.description) == ["app/w/0", "app/w/1"])
        #expect(Set(after.compactMap(\.pid)).isDisjoint(with: before))
        try await supervisor.handle.shutdown()
        try await run.value
    }

    @Test func updateAndLimitsOfATreeBuiltInCodeAreCheckedAsTheManifestWouldBe() {
        var good = shellJob("w", "true")
        good.update = UpdatePolicy(.rolling, maxSurge: 2, maxUnavailable: 1)
        good.limits = CgroupLimits(memory: 64 << 20, cpu: 0.5, pids: 16)
        #expect(ManifestValidator.check([good]).isEmpty, "\(ManifestValidator.check([good]))")
        var bad = good
        bad.update = UpdatePolicy(.rolling, maxSurge: 0, maxUnavailable: 0)
        #expect(ManifestValidator.check([bad]).contains { $0.description.contains("update.max_surge") })
    }
}
