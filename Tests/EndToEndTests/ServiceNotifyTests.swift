import Foundation
import Testing

/// Under a service manager (`$NOTIFY_SOCKET`), `director run` sends `READY=1` once its tree
/// has started: tested with a datagram socket of the test's own, as systemd's would be.
@Suite(.serialized) struct ServiceNotifyTests {
    @Test func readyIsSentOnceTheTreeHasStarted() throws {
        let d = try DaemonHarness(files: ["g.yaml": """
            group: g
            jobs:
              - name: a
                command: ["sleep", "3600"]
                instances: 3
            """])
        defer { d.stop() }
        let path = d.dir.path + "/notify.sock"
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        try #require(fd >= 0)
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, b) in path.utf8.enumerated() { raw[i] = b }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        try #require(bound == 0)
        let daemon = try WrappedDaemon(d, argv: WrappedDaemon.runArguments(d), environment: ["NOTIFY_SOCKET": path])
        defer { daemon.stop() }
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        try #require(poll(&p, 1, 15_000) == 1, "no datagram within 15 s; stderr: \(d.daemonStderr)")
        var buffer = [UInt8](repeating: 0, count: 512)
        let n = recv(fd, &buffer, buffer.count, 0)
        let message = String(decoding: buffer[0..<max(n, 0)], as: UTF8.self)
        #expect(message == "READY=1\nMAINPID=\(daemon.pid)\n", "\(message.debugDescription)")
        // When it arrives, the tree has started: every child is in the table with a pid.
        let rows = try d.children()
        #expect(rows.count == 3 && rows.allSatisfy { $0.pid != nil }, "\(rows)")
        #expect(d.daemonStderr.contains("notified the service manager: READY=1"))
        // Sent once.
        #expect(poll(&p, 1, 300) == 0)
    }

    @Test func withoutNotifySocketNothingIsSaid() throws {
        let d = try DaemonHarness(files: ["g.yaml": "group: g\njobs:\n  - name: a\n    command: [\"sleep\", \"3600\"]\n"])
        defer { d.stop() }
        try d.start()
        try d.waitRunning(1)
        #expect(!d.daemonStderr.contains("READY=1"))
    }
}
