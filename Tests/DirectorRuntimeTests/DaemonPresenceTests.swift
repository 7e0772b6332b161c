#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import DirectorRuntime

/// `DaemonPresence` tells a reader whether a daemon holds the state directory's lock without
/// taking it.
@Suite struct DaemonPresenceTests {
    @Test func aHeldLockIsSeenAndAReleasedOneIsNot() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let lock = try DaemonLock(stateDirectory: dir.path)
        #expect(DaemonPresence.probe(stateDirectory: dir.path) == .running(pid: getpid()))
        lock.release()
        #expect(DaemonPresence.probe(stateDirectory: dir.path) == .notRunning(lastSeen: nil))
    }

    /// The lock held by another process (a real `flock` of the test's own), with the file
    /// empty as after a clean release: `/proc/locks` alone finds it, and names that process.
    @Test func aLockHeldElsewhereIsFoundInProcLocks() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let path = DaemonLock.lockPath(stateDirectory: dir.path)
        let holder = try ChildGuard(launch(["/usr/bin/flock", path, "/bin/sleep", "30"]))
        defer { withExtendedLifetime(holder) {} }
        var found = DaemonPresence.State.notRunning(lastSeen: nil)
        for _ in 0..<250 {
            found = DaemonPresence.probe(stateDirectory: dir.path)
            if found != .notRunning(lastSeen: nil) { break }
            usleep(20_000)
        }
        // flock(1) takes the lock, then runs sleep, which inherits it: either pid may be named.
        guard case .running(let pid?) = found else {
            Issue.record("not found: \(found)")
            return
        }
        #expect(pid == holder.pid || getpgid(pid) == holder.pid)
    }

    @Test func procLocksLines() {
        let line: Substring = "1: FLOCK  ADVISORY  WRITE 4242 fe:00:16224303 0 EOF"
        let dev = UInt64(0xfe) << 8
        #expect(DaemonPresence.flockHolder(line: line, device: dev, inode: 16_224_303) == 4242)
        #expect(DaemonPresence.flockHolder(line: line, device: dev, inode: 16_224_304) == nil)
        #expect(DaemonPresence.flockHolder(line: line, device: dev + 1, inode: 16_224_303) == nil)
        #expect(DaemonPresence.flockHolder(line: "2: POSIX  ADVISORY  WRITE 4242 fe:00:16224303 0 EOF", device: dev, inode: 16_224_303) == nil)
        #expect(DaemonPresence.flockHolder(line: "1: -> FLOCK  ADVISORY  WRITE 99 fe:00:16224303 0 EOF", device: dev, inode: 16_224_303) == nil)
    }
}
