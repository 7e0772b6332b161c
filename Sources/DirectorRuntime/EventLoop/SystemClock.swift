#if canImport(Glibc)
import Glibc
#endif
import DirectorCore

/// The daemon's clocks: monotonic for timers and the engine, wall-clock for records and logs.
package enum SystemClock {
    /// Now on CLOCK_MONOTONIC, in the engine's vocabulary.
    package static func monotonic() -> Instant {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Instant(nanoseconds: Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec))
    }

    /// Milliseconds since the Unix epoch on CLOCK_REALTIME.
    package static func wallMilliseconds() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }
}
