import Foundation
import Testing

// Helpers of the fault suites: /proc inspection, a raw control-socket client, daemons started
// under a wrapper (prlimit, a shell with umask 000), and `director events --json`.

/// True when the long (soak) variants run: `DIRECTOR_SOAK=1` (`make soak`).
let soakEnabled = ProcessInfo.processInfo.environment["DIRECTOR_SOAK"] == "1"

/// One process as /proc shows it.
struct ProcEntry: Equatable {
    var pid: Int32
    var pgid: Int32
    var parent: Int32
    /// The one-letter state (`R`, `S`, `Z`, ...).
    var state: Character
    /// User + system CPU time in clock ticks.
    var cpuTicks: Int

    /// Reads `/proc/PID/stat`; nil when the process is gone.
    static func read(_ pid: Int32) -> ProcEntry? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = text.lastIndex(of: ")")
        else { return nil }
        // Fields after the command name: state ppid pgrp session tty tpgid flags minflt cminflt
        // majflt cmajflt utime stime ...
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let state = fields[0].first, let ppid = Int32(fields[1]), let pgid = Int32(fields[2]),
            let utime = Int(fields[11]), let stime = Int(fields[12])
        else { return nil }
        return ProcEntry(pid: pid, pgid: pgid, parent: ppid, state: state, cpuTicks: utime + stime)
    }
}

/// Finds the processes a test's daemon started, by a marker variable every job of the test
/// puts in its environment (other helpers' daemons run on the same machine with the same ids).
enum ProcScan {
    /// Every pid in /proc.
    static func allPids() -> [Int32] {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap { Int32($0) }
    }

    /// The environment of `pid` as `NAME=value` entries (empty for zombies and other users).
    static func environment(_ pid: Int32) -> [String] {
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/environ") else { return [] }
        return data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
    }

    /// Live (not zombie) processes whose environment has `marker`, by their `DIRECTOR_ID`.
    static func liveByID(marker: String) -> [String: [ProcEntry]] {
        var result: [String: [ProcEntry]] = [:]
        for pid in allPids() {
            let env = environment(pid)
            guard env.contains(marker), let idVar = env.first(where: { $0.hasPrefix("DIRECTOR_ID=") }),
                let entry = ProcEntry.read(pid), entry.state != "Z", entry.state != "X"
            else { continue }
            result[String(idVar.dropFirst("DIRECTOR_ID=".count)), default: []].append(entry)
        }
        return result
    }

    /// Zombie children of `parent`.
    static func zombies(of parent: Int32) -> [ProcEntry] {
        allPids().compactMap(ProcEntry.read).filter { $0.parent == parent && $0.state == "Z" }
    }

    /// Kills every live process carrying `marker` (cleanup for processes a killed daemon left).
    static func killAll(marker: String) {
        for entries in liveByID(marker: marker).values {
            for e in entries { kill(e.pid, SIGKILL) }
        }
    }

    /// `VmRSS` of `pid` in KiB.
    static func residentKiB(_ pid: Int32) -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            return Int(line.split(separator: " ", omittingEmptySubsequences: true)[1])
        }
        return nil
    }
}

/// A control-socket client that speaks raw bytes, for hostile input and latency probes.
final class RawControlClient {
    let fd: Int32

    /// Connects to `<state>/control.sock`.
    init(state: String) throws {
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.EIO) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let path = Array((state + "/control.sock").utf8)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, b) in path.prefix(raw.count - 1).enumerated() { raw[i] = b }
        }
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard rc == 0 else {
            let e = errno
            Glibc.close(fd)
            throw POSIXError(POSIXErrorCode(rawValue: e) ?? .EIO)
        }
        // A daemon that stopped reading must fail the test, not hang it.
        var limit = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { Glibc.close(fd) }

    /// Sends every byte (blocking); false when the daemon closed the connection.
    @discardableResult
    func send(_ bytes: [UInt8]) -> Bool {
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return false }
            sent += n
        }
        return true
    }

    func send(_ text: String) -> Bool { send(Array(text.utf8)) }

    /// Half-closes the sending side.
    func finishSending() { shutdown(fd, Int32(SHUT_WR)) }

    /// Reads one reply line (without the newline), waiting at most `timeout` seconds; nil on
    /// timeout or when the daemon closed the connection first.
    func readLine(timeout: Double = 10) -> String? {
        var line: [UInt8] = []
        let deadline = Date().addingTimeInterval(timeout)
        var byte: UInt8 = 0
        while Date() < deadline {
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let left = Int32(max(1, deadline.timeIntervalSinceNow * 1000))
            guard poll(&pfd, 1, left) > 0 else { continue }
            let n = recv(fd, &byte, 1, 0)
            if n <= 0 { return nil }
            if byte == 0x0A { return String(decoding: line, as: UTF8.self) }
            line.append(byte)
        }
        return nil
    }

    /// Round trip of one harmless request (`restart` of an id that does not exist → a
    /// `not_found` reply), in seconds; nil when no reply came within `timeout`.
    static func probe(state: String, timeout: Double = 10) -> (seconds: Double, reply: String)? {
        let started = DispatchTime.now()
        guard let client = try? RawControlClient(state: state),
            client.send(#"{"op":"restart","ids":["fault-probe/nope"]}"# + "\n"),
            let reply = client.readLine(timeout: timeout)
        else { return nil }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - started.uptimeNanoseconds) / 1e9
        return (seconds, reply)
    }
}

/// Records the slowest control-socket round trip seen while a test runs, probing in a
/// background thread; the test asserts on `maxSeconds` and `failures`.
final class ResponsivenessProbe: @unchecked Sendable {
    private let lock = NSLock()
    private var stopped = false
    private var worst = 0.0
    private var misses = 0
    private var count = 0
    private let done = DispatchSemaphore(value: 0)

    /// Starts probing `state` every `interval` seconds.
    init(state: String, interval: Double = 0.05) {
        let thread = Thread { [self] in
            while !self.isStopped {
                if let r = RawControlClient.probe(state: state, timeout: 5), r.reply.contains("not_found") {
                    self.lock.withLock { self.worst = max(self.worst, r.seconds); self.count += 1 }
                } else if !self.isStopped {
                    self.lock.withLock { self.misses += 1 }
                }
                usleep(UInt32(interval * 1e6))
            }
            self.done.signal()
        }
        thread.start()
    }

    private var isStopped: Bool { lock.withLock { stopped } }

    /// Stops probing; returns (slowest round trip in seconds, probes answered, probes missed).
    func finish() -> (maxSeconds: Double, answered: Int, missed: Int) {
        lock.withLock { stopped = true }
        done.wait()
        return lock.withLock { (worst, count, misses) }
    }
}

extension DaemonHarness {
    /// A marker for the environment of this test's children: `FAULT_RUN=<temp dir>`.
    var marker: String { "FAULT_RUN=" + dir.path }

    /// Polls until `condition` holds (every 50 ms, at most `timeout` seconds).
    func eventually(_ what: String, timeout: Double = 15, _ condition: () throws -> Bool) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if try condition() { return }
            usleep(50_000)
        }
        Issue.record("timed out waiting for \(what); stderr: \(daemonStderr.suffix(2000))")
        throw HarnessError.timeout(what)
    }
}

/// A `director run` started through a wrapper command (`prlimit ...`, `sh -c 'umask 000; exec
/// ...'`), on a harness's directories. The wrapper execs the daemon, so the pid is the
/// daemon's. `stop()` ends it by pid; the harness still kills the recorded process groups.
final class WrappedDaemon: @unchecked Sendable {
    let process = Process()

    /// Starts `argv` (the wrapper, which ends by exec'ing `director run ...`), its output into
    /// the harness's log files.
    init(_ harness: DaemonHarness, argv: [String], environment: [String: String] = [:]) throws {
        process.executableURL = URL(fileURLWithPath: argv[0])
        process.arguments = Array(argv.dropFirst())
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        _ = FileManager.default.createFile(atPath: harness.stdoutPath, contents: nil)
        _ = FileManager.default.createFile(atPath: harness.stderrPath, contents: nil)
        process.standardOutput = FileHandle(forWritingAtPath: harness.stdoutPath)
        process.standardError = FileHandle(forWritingAtPath: harness.stderrPath)
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }

    /// The `director run` arguments for a harness.
    static func runArguments(_ h: DaemonHarness, _ extra: [String] = []) -> [String] {
        [DirectorBinary.path, "run", "--jobs", h.jobs, "--state", h.state] + extra
    }

    var pid: Int32 { process.processIdentifier }

    /// SIGTERM, then SIGKILL after 10 s.
    func stop() {
        guard process.isRunning else { return }
        kill(pid, SIGTERM)
        let deadline = Date().addingTimeInterval(10)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning {
            kill(pid, SIGKILL)
            process.waitUntilExit()
        }
    }

    deinit { stop() }
}
