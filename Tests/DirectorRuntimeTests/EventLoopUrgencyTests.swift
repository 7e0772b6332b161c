#if canImport(Glibc)
import Glibc
#endif
import DirectorCore
import Testing
@testable import DirectorRuntime

@Suite struct EventLoopUrgencyTests {
    /// A crashed child's pidfd and its pipes become ready together; the pidfd (urgent) must be
    /// handled first so the restart does not wait behind the pipes' end-of-file.
    @Test func urgentHandlersRunBeforeOthersReadyInTheSameTurn() throws {
        let loop = try EventLoop()
        var order: [String] = []
        var pipes: [(read: Int32, write: Int32)] = []
        for _ in 0..<3 { pipes.append(try FileDescriptors.outputPipe()) }
        defer { for p in pipes { close(p.read); close(p.write) } }
        try loop.watch(pipes[0].read, for: .readable) { _ in order.append("pipe0") }
        try loop.watch(pipes[1].read, for: .readable, urgent: true) { _ in order.append("urgent") }
        try loop.watch(pipes[2].read, for: .readable) { _ in order.append("pipe2") }
        for p in pipes { _ = write(p.write, "x", 1) }
        try loop.turn(notAfter: loop.now + .milliseconds(500))
        #expect(order.first == "urgent")
        #expect(Set(order) == ["pipe0", "urgent", "pipe2"])
        for p in pipes { loop.unwatch(p.read) }
    }
}
