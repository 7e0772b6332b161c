#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import DirectorRuntime

@Suite struct ReadyPipeTests {
    /// The spawn path closes the readiness fd itself when `ReadyPipe` cannot watch it. A
    /// class whose throwing init fails after every property is set runs its `deinit`, which
    /// closed the fd too: a double close, which in the daemon can close whatever fd took that
    /// number in between (the table's, a client's).
    @Test func aPipeThatCannotBeWatchedLeavesItsFdToTheCaller() throws {
        let loop = try EventLoop()
        // epoll refuses regular files (EPERM): the watch fails.
        let fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC)
        #expect(fd >= 0)
        defer { close(fd) }
        #expect(throws: RuntimeError.self) { _ = try ReadyPipe(fd: fd, loop: loop) {} }
        #expect(fcntl(fd, F_GETFD) >= 0, "the failed ReadyPipe closed the caller's fd")
    }
}
