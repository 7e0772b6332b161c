import Director
import Foundation
import Testing

/// `ready: {notify: true}` in an embedded supervisor without a state directory: the notify
/// socket is an abstract `@` name, and the child after the ready one waits for it.
@Suite(.serialized) struct ReadinessEmbeddingTests {
    @Test func anEmbeddedTreeUsesAnAbstractNotifySocket() async throws {
        // The child says READY=1 only once the test has seen the next child held back.
        let go = "/tmp/director-ready-go-\(getpid())"
        unlink(go)
        defer { unlink(go) }
        let script = """
            import os, socket, time
            while not os.path.exists('\(go)'): time.sleep(0.02)
            a = os.environ['NOTIFY_SOCKET']
            assert a.startswith('@'), a
            s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            s.sendto(b'READY=1', '\\0' + a[1:])
            time.sleep(60)
            """
        var db = JobSpec(name: "db", command: .argv(["/usr/bin/python3", "-c", script]))
        db.ready = ReadySpec(.notify, timeout: .seconds(20))
        let api = shellJob("api", "exec sleep 60")
        let log = CapturedLog()
        let supervisor = try Supervisor(
            manifest: .manifest(Manifest(groups: [GroupSpec(name: "app", children: [.job(db), .job(api)])])), logger: log.logger)
        let run = Task { try await supervisor.run() }
        defer { run.cancel() }
        #expect(await eventually { await supervisor.handle.whichChildren().first { $0.id.description == "app/db/0" }?.state == .running })
        #expect(await supervisor.handle.whichChildren().first { $0.id.description == "app/api/0" }?.pid == nil)
        close(open(go, O_CREAT | O_WRONLY | O_CLOEXEC, 0o644))
        #expect(await eventually(timeout: .seconds(20)) {
            await supervisor.handle.whichChildren().allSatisfy { $0.state == .running && $0.pid != nil }
        })
        #expect(log.messages(id: "app/db/0").contains { $0.hasPrefix("ready pid=") })
        try await supervisor.handle.shutdown()
        try await run.value
    }
}
