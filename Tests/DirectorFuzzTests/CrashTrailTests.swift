import DirectorFuzz
import Glibc
import Testing

/// The crash trail runs in a child: this test binary started again with
/// `DIRECTOR_FUZZ_CRASH_DEMO` set, so only the demo test below runs there, and it dies.
@Suite("Crash trail", .serialized)
struct CrashTrailTests {
    @Test("a trap or a hang inside a case names the case on stderr", arguments: ["trap", "hang"])
    func trailNamesTheCase(mode: String) throws {
        let (status, stderr) = try runDemo(mode)
        #expect(status.signaled, "the demo child was meant to die of a signal: \(status)")
        let expected = mode == "trap" ? "in seed 7 case 42; replay: DIRECTOR_FUZZ_SEED=7 DIRECTOR_FUZZ_CASE=42"
            : "hang (watchdog) in seed 7 case 43"
        #expect(stderr.contains(expected), "\(stderr)")
    }

    /// Runs in the child only.
    @Test("crash demo (child process only)", .enabled(if: getenv("DIRECTOR_FUZZ_CRASH_DEMO") != nil))
    func crashDemo() {
        let mode = String(cString: getenv("DIRECTOR_FUZZ_CRASH_DEMO"))
        CaseBreadcrumb.install(hangLimit: .milliseconds(300))
        if mode == "trap" {
            CaseBreadcrumb.enter(seed: 7, index: 42)
            let values: [Int] = []
            _ = values[Int(getpid()) % 2 + 1]  // out of range: a trap
        } else {
            CaseBreadcrumb.enter(seed: 7, index: 43)
            for _ in 0..<100 { usleep(100_000) }  // the watchdog aborts long before this ends
        }
        CaseBreadcrumb.leave()
        Issue.record("the demo should not survive")
    }

    /// Starts this binary with the demo filter, collects its stderr, waits for it (killing
    /// it by PID after 20 s, so no child outlives the test).
    private func runDemo(_ mode: String) throws -> (status: ChildExitStatus, stderr: String) {
        var pipeFDs: [Int32] = [0, 0]
        #expect(pipe(&pipeFDs) == 0)
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, pipeFDs[1], 2)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addclose(&actions, pipeFDs[0])
        let argv = [CommandLine.arguments[0], "--testing-library", "swift-testing", "--filter", "crashDemo"]
        var cArgs = argv.map { strdup($0) } + [nil]
        defer { cArgs.forEach { free($0) } }
        var environment = [String]()
        var entry = environ
        while let pointer = entry.pointee {
            environment.append(String(cString: pointer))
            entry += 1
        }
        environment += ["DIRECTOR_FUZZ_CRASH_DEMO=\(mode)", "SWIFT_BACKTRACE=enable=no"]
        var cEnv = environment.map { strdup($0) } + [nil]
        defer { cEnv.forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, argv[0], &actions, nil, &cArgs, &cEnv)
        close(pipeFDs[1])
        defer { close(pipeFDs[0]) }
        try #require(spawned == 0, "spawn failed: \(spawned)")
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        var status: Int32 = 0
        var reaped = false
        let flags = fcntl(pipeFDs[0], F_GETFL)
        _ = fcntl(pipeFDs[0], F_SETFL, flags | O_NONBLOCK)
        for _ in 0..<400 {  // 400 × 50 ms = 20 s at most
            while true {
                let n = chunk.withUnsafeMutableBytes { read(pipeFDs[0], $0.baseAddress, $0.count) }
                if n <= 0 { break }
                output += chunk[..<n]
            }
            if waitpid(pid, &status, WNOHANG) == pid {
                reaped = true
                break
            }
            usleep(50_000)
        }
        if !reaped {
            kill(pid, SIGKILL)
            waitpid(pid, &status, 0)
        }
        while true {
            let n = chunk.withUnsafeMutableBytes { read(pipeFDs[0], $0.baseAddress, $0.count) }
            if n <= 0 { break }
            output += chunk[..<n]
        }
        return (ChildExitStatus(raw: status, timedOut: !reaped), String(decoding: output, as: UTF8.self))
    }
}

/// A child's wait status, decoded.
struct ChildExitStatus: CustomStringConvertible {
    var raw: Int32
    var timedOut: Bool
    /// Ended by a signal (and not by our kill after a time-out).
    var signaled: Bool { !timedOut && (raw & 0x7f) != 0 && (raw & 0x7f) != 0x7f }
    var description: String { timedOut ? "timed out" : signaled ? "signal \(raw & 0x7f)" : "exit \((raw >> 8) & 0xff)" }
}
