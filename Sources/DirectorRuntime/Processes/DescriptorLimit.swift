#if canImport(Glibc)
import Glibc
#endif
import CDirectorSys

/// The daemon's file-descriptor budget (RLIMIT_NOFILE).
///
/// Each child whose output is captured costs the daemon two descriptors (its pipes' read
/// ends; an embedded supervisor also holds a pidfd), so the usual soft limit (1 024, or 20 000
/// here) runs out long before the tree does: 10 000 children stopped at 6 661 when they cost
/// three. A child with `log: {stdout: false, stderr: false}` costs none. The daemon raises its soft limit to the hard limit at start, as nginx
/// does; with the privilege to (CAP_SYS_RESOURCE, e.g. root) it raises both to
/// `fs.nr_open` (at most 2^20), as systemd does for itself. Children get the limits it found,
/// so that programs using `select(2)` see the limit they expect.
package enum DescriptorLimit {
    /// The most the daemon asks for, even where `fs.nr_open` allows more: 2^20 descriptors
    /// are 300 000 children.
    static let ceiling: UInt64 = 1 << 20

    /// Raises the limit as far as allowed. Returns (before, after) soft limits, or nil when the
    /// limit cannot be read. Children started afterwards get the original limits again.
    @discardableResult
    package static func raiseToHard() -> (before: UInt64, after: UInt64)? {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return nil }
        let original = limit
        let before = UInt64(limit.rlim_cur)
        var raised = limit
        let allowed = min(systemMaximum() ?? UInt64(limit.rlim_max), ceiling)
        if allowed > UInt64(limit.rlim_max) {
            // Privileged: the hard limit too (fails harmlessly without CAP_SYS_RESOURCE).
            raised.rlim_cur = rlim_t(allowed)
            raised.rlim_max = rlim_t(allowed)
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) != 0 { raised = limit }
        }
        if raised.rlim_cur < raised.rlim_max {
            raised.rlim_cur = raised.rlim_max
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) != 0 { return (before, before) }
        }
        if raised.rlim_cur != original.rlim_cur {
            director_spawn_set_child_nofile(UInt(original.rlim_cur), UInt(original.rlim_max))
        }
        return (before, UInt64(raised.rlim_cur))
    }

    /// `fs.nr_open`: the most any process may have.
    private static func systemMaximum() -> UInt64? {
        ProcStat.readSmallFile("/proc/sys/fs/nr_open").flatMap { UInt64($0.filter(\.isNumber)) }
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
