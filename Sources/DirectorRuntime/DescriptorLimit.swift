#if canImport(Glibc)
import Glibc
#endif
import CDirectorSys

/// The daemon's file-descriptor budget (RLIMIT_NOFILE).
///
/// Each child costs the daemon three descriptors (two pipe ends and a pidfd), so the usual
/// soft limit (1 024, or 20 000 here) runs out long before the tree does: 10 000 children
/// stopped at 6 661. The daemon raises its soft limit to the hard limit at start, as systemd
/// and nginx do, and gives children the soft limit it found, so that programs using
/// `select(2)` see the limit they expect.
package enum DescriptorLimit {
    /// Raises the soft limit to the hard limit. Returns (before, after), or nil when the limit
    /// cannot be read. Children started afterwards get `before` again.
    @discardableResult
    package static func raiseToHard() -> (before: UInt64, after: UInt64)? {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return nil }
        let before = UInt64(limit.rlim_cur)
        guard limit.rlim_cur < limit.rlim_max else { return (before, before) }
        var raised = limit
        raised.rlim_cur = limit.rlim_max
        guard setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 else { return (before, before) }
        director_spawn_set_child_nofile(UInt(limit.rlim_cur))
        return (before, UInt64(raised.rlim_cur))
    }

    /// The soft limit now.
    package static var current: UInt64 {
        var limit = rlimit()
        return getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 ? UInt64(limit.rlim_cur) : 0
    }

    /// True for the errnos that mean "the daemon is out of descriptors", not "this child is
    /// broken": EMFILE (this process) and ENFILE (the whole system).
    package static func isExhaustion(_ errno: Int32) -> Bool { errno == EMFILE || errno == ENFILE }
}
