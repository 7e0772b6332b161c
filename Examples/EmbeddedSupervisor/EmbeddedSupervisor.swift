// An embedded supervisor, as DESIGN §8 and docs/embedding.md describe it:
// - a tree built in code (one group, a flaky worker and a steady helper);
// - a delegate (the Erlang library Director's callback module) that restarts the worker
//   after a growing delay and gives up with `stop` after three crashes;
// - a ServiceGroup with another service beside the supervisor, which drives the tree
//   through the handle and ends the program.
//
// `make test` builds and runs it and checks what it prints (EndToEndTests.ExampleTests).
import Director
import Logging
import ServiceLifecycle

/// Restarts a crashed worker after 20 ms, 40 ms, 80 ms; at the fourth crash, `stop`: the
/// group fails and the root gives it up.
struct GrowingDelay: SupervisorDelegate {
    /// Crashes so far, per job.
    typealias State = [String: Int]

    func initialState() -> State { [:] }

    func handleExit(child: Child, status: ChildExitStatus, restarts: Int, state: State) -> Verdict {
        var state = state
        let crashes = state[child.jobKey, default: 0] + 1
        state[child.jobKey] = crashes
        guard crashes <= 3 else {
            print("\(child.id) exited (\(status)), crash \(crashes): giving up")
            return Verdict(.stop, state: state, childState: ())
        }
        let delay = Duration.milliseconds(20 << (crashes - 1))
        print("\(child.id) exited (\(status)), crash \(crashes): restart in \(delay)")
        // The table and the log still record it; the log line is ours instead.
        return Verdict(.restartAfter(delay), log: false, state: state, childState: ())
    }

    func terminate(status: Int32, state: State) {
        print("tree stopped with status \(status) after \(state.values.reduce(0, +)) crashes")
    }
}

/// The program's other service: it watches the supervisor's events, reports, and ends the
/// program once the flaky group has been given up.
struct Operator: Service {
    let handle: SupervisorHandle

    func run() async throws {
        for await event in handle.events where event.kind == .groupGivenUp {
            print("group \(event.subject) given up")
            break
        }
        // The group's children are being stopped: wait (at most 5 s) until none runs.
        for _ in 0..<250 where await handle.whichChildren().contains(where: { $0.pid != nil }) {
            try await Task.sleep(for: .milliseconds(20))
        }
        for child in await handle.whichChildren() {
            print("\(child.id): \(child.state)")
        }
        try await handle.shutdown()
    }
}

@main
struct EmbeddedSupervisor {
    static func main() async throws {
        let flaky = JobSpec(name: "worker", command: .argv(["/bin/sh", "-c", "sleep 0.05; exit 1"]))
        let steady = JobSpec(name: "helper", command: .argv(["/bin/sleep", "60"]))
        let tree = Manifest(groups: [GroupSpec(name: "demo", children: [.job(flaky), .job(steady)])])

        // The supervisor's own lines at warning and above, on stderr (stdout is the program's).
        var logger = Logger(label: "example") { StreamLogHandler.standardError(label: $0) }
        logger.logLevel = .warning
        // A group that fails is given up at once (the root allows it no restart), so one
        // `stop` verdict ends the flaky group while the rest of the tree would run on.
        var options = SupervisorOptions()
        options.root.intensity = 0
        let supervisor = try Supervisor(manifest: .manifest(tree), delegate: GrowingDelay(), logger: logger, options: options)

        let group = ServiceGroup(
            configuration: .init(
                services: [
                    // Its run() returns once the tree has stopped: then the program ends.
                    .init(service: supervisor, successTerminationBehavior: .gracefullyShutdownGroup),
                    .init(service: Operator(handle: supervisor.handle), successTerminationBehavior: .ignore),
                ],
                logger: logger))
        try await group.run()
        print("done")
    }
}
