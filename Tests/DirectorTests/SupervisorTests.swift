import Director
import Foundation
import Logging
import ServiceLifecycle
import Testing

/// The embedding API in-process: a tree built in code, the in-memory table, a captured
/// logger, real processes.
@Suite(.serialized) struct SupervisorTests {
    func tree(_ jobs: [JobSpec], strategy: Strategy = .oneForOne) -> Manifest {
        Manifest(groups: [GroupSpec(name: "app", strategy: strategy, intensity: 100, children: jobs.map { .job($0) })])
    }

    @Test func aTreeBuiltInCodeRunsRecordsItsChildrenAndShutsDown() async throws {
        let log = CapturedLog()
        let table = InMemoryTable()
        let supervisor = try Supervisor(
            manifest: .manifest(tree([shellJob("sleeper", "exec sleep 60", instances: 2)])), table: table, logger: log.logger)
        let run = Task { try await supervisor.run() }
        #expect(await eventually { await supervisor.handle.whichChildren().filter { $0.state == .running }.count == 2 })
        let pids = await supervisor.handle.whichChildren().compactMap(\.pid)
        #expect(pids.count == 2 && pids.allSatisfy(isAlive))
        #expect(try table.children().map(\.id).sorted() == ["app/sleeper/0", "app/sleeper/1"])
        #expect(log.messages(id: "app/sleeper/0").contains { $0.hasPrefix("started pid=") })
        let counts = await supervisor.handle.countChildren()
        #expect(counts.total == 2 && counts.active == 2 && counts.byState[.running] == 2)

        try await supervisor.handle.shutdown()
        try await run.value
        #expect(pids.allSatisfy { !isAlive($0) })
        #expect(try table.children().allSatisfy { $0.state == .stopped })
        // After the end, the handle answers for itself.
        await #expect(throws: SupervisorError.self) { try await supervisor.handle.restartChild("app/sleeper/0") }
    }

    @Test func aTreeBuiltInCodeIsCheckedWithTheLoadersRulesAndMessages() throws {
        var bad = shellJob("bad name", "true")
        bad.instances = -1
        do {
            _ = try Supervisor(manifest: .manifest(tree([bad])), logger: CapturedLog().logger)
            Issue.record("an invalid tree was accepted")
        } catch {
            #expect(error.code == .invalidManifest)
            #expect(error.message.contains("(in code)/app.yaml:"))
            #expect(error.message.contains("instances"))
            #expect(error.message.contains("name"))
        }
        #expect(ManifestValidator.check([shellJob("good", "true")]).isEmpty)
        #expect(!ManifestValidator.check([bad]).isEmpty)
    }

    @Test func theHandleIsUsableFromManyTasksAtOnce() async throws {
        let supervisor = try Supervisor(
            manifest: .manifest(tree([shellJob("w", "exec sleep 60", instances: 4)])), logger: CapturedLog().logger)
        let run = Task { try await supervisor.run() }
        #expect(await eventually { await supervisor.handle.whichChildren().allSatisfy { $0.state == .running } })
        let handle = supervisor.handle
        let restarted = try await withThrowingTaskGroup(of: Int.self) { group in
            for i in 0..<64 {
                group.addTask {
                    if i % 4 == 0 { return try await handle.restartChild("app/w/\(i / 4 % 4)").count }
                    return await handle.whichChildren().count
                }
            }
            return try await group.reduce(0, +)
        }
        // 16 restarts of one child each, 48 listings of four.
        #expect(restarted == 16 + 48 * 4)
        #expect(await eventually { await handle.whichChildren().allSatisfy { $0.state == .running } })
        try await handle.shutdown()
        try await run.value
    }

    @Test func startChildAddsAJobInNoManifestThatReloadsKeepAndDeleteRemoves() async throws {
        let supervisor = try Supervisor(
            manifest: .manifest(tree([shellJob("base", "exec sleep 60")])), logger: CapturedLog().logger)
        let run = Task { try await supervisor.run() }
        let handle = supervisor.handle
        let ids = try await handle.startChild(shellJob("extra", "exec sleep 60", instances: 2), in: "app")
        #expect(ids.map(\.description) == ["app/extra/0", "app/extra/1"])
        #expect(await eventually { await handle.whichChildren().filter { $0.state == .running }.count == 3 })
        #expect(await handle.childSpec(of: "app/extra/1")?.instances == 2)
        // A second job of that name is refused; so is a group that does not exist.
        await #expect(throws: SupervisorError.self) { try await handle.startChild(shellJob("extra", "true"), in: "app") }
        await #expect(throws: SupervisorError.self) { try await handle.startChild(shellJob("x", "true"), in: "nope") }
        // A reload of the tree keeps it (it is in no manifest).
        try await handle.reload(tree([shellJob("base", "exec sleep 60"), shellJob("more", "exec sleep 60")]))
        #expect(await eventually { await handle.whichChildren().filter { $0.state == .running }.count == 4 })
        let extraPid = await handle.whichChildren().first { $0.id.description == "app/extra/0" }?.pid
        #expect(extraPid != nil)
        let deleted = try await handle.deleteChild("app/extra")
        #expect(deleted.count == 2)
        #expect(await eventually { await handle.whichChildren().map(\.id.description) == ["app/base/0", "app/more/0"] })
        #expect(await eventually { !isAlive(extraPid!) })
        try await handle.shutdown()
        try await run.value
    }

    @Test func cancellationKillsEveryChildAtOnce() async throws {
        // Ignores SIGTERM and has a minute to stop: only a kill ends it quickly.
        let stubborn = shellJob("stubborn", "trap '' TERM; while :; do sleep 1; done", shutdown: .seconds(60))
        let supervisor = try Supervisor(manifest: .manifest(tree([stubborn])), logger: CapturedLog().logger)
        let run = Task { try await supervisor.run() }
        #expect(await eventually { await supervisor.handle.whichChildren().first?.state == .running })
        let pid = try #require(await supervisor.handle.whichChildren().first?.pid)
        let start = ContinuousClock.now
        run.cancel()
        _ = try? await run.value
        #expect(ContinuousClock.now - start < .seconds(10))
        #expect(!isAlive(pid))
    }

    @Test func inAServiceGroupGracefulShutdownStopsTheTreeInReverseOrder() async throws {
        let jobs = (0..<3).map { shellJob("j\($0)", "exec sleep 60") }
        let supervisor = try Supervisor(manifest: .manifest(tree(jobs)), logger: CapturedLog().logger)
        let events = supervisor.handle.events
        let group = ServiceGroup(
            configuration: .init(services: [.init(service: supervisor), .init(service: Idle())], logger: Logger(label: "group")))
        let run = Task { try await group.run() }
        #expect(await eventually { await supervisor.handle.whichChildren().filter { $0.state == .running }.count == 3 })
        let pids = await supervisor.handle.whichChildren().compactMap(\.pid)
        await group.triggerGracefulShutdown()
        try await run.value
        #expect(pids.allSatisfy { !isAlive($0) })
        var stops: [String] = []
        for await event in events where event.kind == .stop { stops.append(event.subject) }
        #expect(stops == ["app/j2/0", "app/j1/0", "app/j0/0"])
    }

    @Test func aHostsOwnChildProcessesKeepTheirExitStatuses() async throws {
        // A crash loop beside the host's own processes: the embedded supervisor reaps only
        // what it started, so Foundation.Process still gets every status.
        let crasher = shellJob("crasher", "exit 3", delay: .milliseconds(1))
        let supervisor = try Supervisor(manifest: .manifest(tree([crasher])), logger: CapturedLog().logger)
        let run = Task { try await supervisor.run() }
        #expect(await eventually { await supervisor.handle.whichChildren().first?.restarts ?? 0 > 5 })
        for code in 1...20 {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            process.arguments = ["-c", "exit \(code)"]
            try process.run()
            process.waitUntilExit()
            #expect(process.terminationStatus == Int32(code))
        }
        try await supervisor.handle.shutdown()
        try await run.value
    }
}

/// A service that runs until graceful shutdown.
struct Idle: Service {
    func run() async throws {
        try? await gracefulShutdown()
    }
}
