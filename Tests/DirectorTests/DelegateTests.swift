import Director
import Foundation
import Synchronization
import Testing

/// What a delegate saw, kept for the test (delegates are `Sendable` values; their states live
/// on the supervisor's thread, so the test reads them through this box).
final class Seen: Sendable {
    let calls = Mutex<[String]>([])
    let finalState = Mutex<Int?>(nil)
    func add(_ s: String) { calls.withLock { $0.append(s) } }
    var all: [String] { calls.withLock { $0 } }
}

/// Deletes a crashed child (its rules would restart it), counts starts per child in the
/// child's own state, hides start lines, and records every callback.
struct Recorder: SupervisorDelegate {
    typealias State = Int  // exits decided
    typealias ChildState = Int  // starts of this child

    let seen: Seen
    let verdict: ExitVerdict<Int, Int>.Action

    func initialState() -> Int { 0 }
    func initialChildState(for id: ChildID, job: JobSpec) -> Int { 0 }

    func handleStart(child: Child, state: Int) -> Reply {
        seen.add("start \(child.id) #\(child.state + 1)")
        return Reply(state: state, childState: child.state + 1, log: false)
    }

    func handleExit(child: Child, status: ChildExitStatus, restarts: Int, state: Int) -> Verdict {
        seen.add("exit \(child.id) \(status) restarts=\(restarts) proposed=\(child.proposed?.action.rawValue ?? "-")")
        return Verdict(verdict, log: false, state: state + 1, childState: child.state)
    }

    func handleTerminate(child: Child, reason: ChildExitStatus, state: Int) -> Reply {
        seen.add("terminate \(child.id)")
        return Reply(state: state, childState: child.state)
    }

    func terminate(status: Int32, state: Int) {
        seen.finalState.withLock { $0 = state }
    }
}

@Suite(.serialized) struct DelegateTests {
    func tree(_ jobs: [JobSpec]) -> Manifest {
        Manifest(groups: [GroupSpec(name: "app", intensity: 100, children: jobs.map { .job($0) })])
    }

    @Test func aVerdictOverridesTheRulesAndItsLogFlagHidesTheLines() async throws {
        let seen = Seen()
        let log = CapturedLog()
        let table = InMemoryTable()
        // permanent: the rules would restart it; the delegate deletes it.
        let supervisor = try Supervisor(
            manifest: .manifest(tree([shellJob("once", "sleep 0.05; exit 4"), shellJob("stay", "exec sleep 60")])),
            table: table, delegate: Recorder(seen: seen, verdict: .delete), logger: log.logger)
        let run = Task { try await supervisor.run() }
        #expect(await eventually { await supervisor.handle.whichChildren().map(\.id.description) == ["app/stay/0"] })
        #expect(seen.all.contains("exit app/once/0 code=4 restarts=0 proposed=restart"))
        #expect(seen.all.contains("start app/once/0 #1"))
        #expect(table.child(id: "app/once/0") == nil)
        // The table keeps the events; the log shows neither the start nor the exit.
        let kinds = try table.events(since: 0).filter { $0.id == "app/once/0" }.map(\.kind)
        #expect(kinds == ["start", "exit", "delete"])
        #expect(!log.messages(id: "app/once/0").contains { $0.hasPrefix("started") || $0.hasPrefix("exited") })

        try await supervisor.handle.terminateChild("app/stay/0")
        #expect(await eventually { seen.all.contains("terminate app/stay/0") })
        try await supervisor.handle.shutdown()
        try await run.value
        #expect(seen.finalState.withLock { $0 } == 1)
    }

    @Test func restartAfterRestartsWithTheDelayAndTheChildsStateIsCarried() async throws {
        let seen = Seen()
        let table = InMemoryTable()
        let supervisor = try Supervisor(
            manifest: .manifest(tree([shellJob("flaky", "exit 1")])), table: table,
            delegate: Recorder(seen: seen, verdict: .restartAfter(.milliseconds(150))), logger: CapturedLog().logger)
        let run = Task { try await supervisor.run() }
        #expect(await eventually { seen.all.contains("start app/flaky/0 #3") })
        // Each restart waited the verdict's delay (the job has none of its own).
        let restarts = try table.events(since: 0).filter { $0.kind == "restart" }.map(\.detail)
        #expect(restarts.prefix(2).allSatisfy { $0.hasSuffix("delay=150ms") }, "\(restarts)")
        try await supervisor.handle.shutdown()
        try await run.value
    }

    @Test func waitLeavesTheChildForRestartChild() async throws {
        let seen = Seen()
        let supervisor = try Supervisor(
            manifest: .manifest(tree([shellJob("w", "sleep 0.05; exit 2")])),
            delegate: Recorder(seen: seen, verdict: .wait), logger: CapturedLog().logger)
        let run = Task { try await supervisor.run() }
        #expect(await eventually { await supervisor.handle.whichChildren().first?.state == .waiting })
        try await supervisor.handle.restartChild("app/w/0")
        #expect(await eventually { seen.all.contains("start app/w/0 #2") })
        try await supervisor.handle.shutdown()
        try await run.value
    }
}
