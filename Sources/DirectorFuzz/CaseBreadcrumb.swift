import Glibc
import Synchronization

/// Names the running case when the process dies in it.
///
/// A trap in the loader kills the whole test process, so the in-process runner leaves a
/// breadcrumb (seed and index) in atomics before each case. A crash-signal handler prints it
/// to stderr and then hands the signal to whoever handled it before (Swift's backtracer, or
/// the default action); a watchdog thread aborts the process, naming the case, when one case
/// runs far past its time limit, so a hang fails the test run instead of blocking it.
public enum CaseBreadcrumb {
    private static let seed = Atomic<UInt64>(0)
    /// The running case, or -1 between cases.
    private static let index = Atomic<Int>(-1)
    private static let startedNanos = Atomic<Int64>(0)
    private static let hangLimitNanos = Atomic<Int64>(Int64.max)
    private static let installed = Atomic<Bool>(false)

    private static let crashSignals: [Int32] = [SIGILL, SIGTRAP, SIGSEGV, SIGBUS, SIGABRT, SIGFPE]
    // Written once in `install` before any handler can run, then only read by handlers;
    // plain memory because a signal handler must not allocate or lock.
    nonisolated(unsafe) private static var previousActions = UnsafeMutablePointer<sigaction>.allocate(capacity: 65)
    nonisolated(unsafe) private static var digits = UnsafeMutablePointer<UInt8>.allocate(capacity: 24)

    /// Installs the crash handler and watchdog (once per process) and sets the hang limit.
    public static func install(hangLimit: Duration) {
        let (seconds, attoseconds) = hangLimit.components
        hangLimitNanos.store(seconds * 1_000_000_000 + attoseconds / 1_000_000_000, ordering: .relaxed)
        guard installed.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged else { return }
        // Touch every static now: their lazy initialisation must not first run inside a handler.
        _ = (seed.load(ordering: .relaxed), index.load(ordering: .relaxed), startedNanos.load(ordering: .relaxed))
        _ = (crashSignals, previousActions, digits)
        for signal in crashSignals {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { signal in CaseBreadcrumb.crashed(signal) }
            sigemptyset(&action.sa_mask)
            action.sa_flags = 0
            sigaction(signal, &action, previousActions + Int(signal))
        }
        var thread = pthread_t()
        if pthread_create(&thread, nil, { _ in CaseBreadcrumb.watch() }, nil) == 0 { pthread_detach(thread) }
    }

    /// Marks case `index` of `seed` as running.
    public static func enter(seed: UInt64, index: Int) {
        startedNanos.store(monotonicNanos(), ordering: .relaxed)
        self.seed.store(seed, ordering: .relaxed)
        self.index.store(index, ordering: .releasing)
    }

    /// Marks that no case is running.
    public static func leave() { index.store(-1, ordering: .releasing) }

    private static func crashed(_ signal: Int32) {
        let running = index.load(ordering: .acquiring)
        if running >= 0 {
            say("\nfuzz: signal ")
            sayNumber(UInt64(signal))
            sayCase(running)
        }
        sigaction(signal, previousActions + Int(signal), nil)
        raise(signal)
    }

    private static func watch() -> UnsafeMutableRawPointer? {
        while true {
            usleep(200_000)
            let running = index.load(ordering: .acquiring)
            guard running >= 0 else { continue }
            if monotonicNanos() - startedNanos.load(ordering: .relaxed) > hangLimitNanos.load(ordering: .relaxed) {
                say("\nfuzz: hang (watchdog)")
                sayCase(running)
                abort()
            }
        }
    }

    private static func sayCase(_ running: Int) {
        say(" in seed ")
        sayNumber(seed.load(ordering: .relaxed))
        say(" case ")
        sayNumber(UInt64(running))
        say("; replay: DIRECTOR_FUZZ_SEED=")
        sayNumber(seed.load(ordering: .relaxed))
        say(" DIRECTOR_FUZZ_CASE=")
        sayNumber(UInt64(running))
        say("\n")
    }

    /// Writes a static string without allocating (safe in a signal handler).
    private static func say(_ text: StaticString) {
        _ = Glibc.write(2, text.utf8Start, text.utf8CodeUnitCount)
    }

    /// Writes a decimal number without allocating.
    private static func sayNumber(_ value: UInt64) {
        var rest = value
        var start = 24
        repeat {
            start -= 1
            digits[start] = UInt8(ascii: "0") + UInt8(rest % 10)
            rest /= 10
        } while rest > 0
        _ = Glibc.write(2, digits + start, 24 - start)
    }

    private static func monotonicNanos() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec)
    }
}
