import Synchronization

/// Every pid this process spawned and has not reaped yet, process-wide.
///
/// Orphan collection (`ProcessReaper.collectExited`) reaps any exited child it does not
/// track itself, which in a program with more than one reaper (tests, an embedding app) could
/// steal another reaper's child. The spawner records its children here, and collection leaves
/// them alone.
enum OwnedChildren {
    private static let pids = Mutex<Set<Int32>>([])

    static func insert(_ pid: Int32) { pids.withLock { _ = $0.insert(pid) } }
    static func remove(_ pid: Int32) { pids.withLock { _ = $0.remove(pid) } }
    static func contains(_ pid: Int32) -> Bool { pids.withLock { $0.contains(pid) } }
}
