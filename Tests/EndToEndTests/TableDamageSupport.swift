import Foundation
import Testing

// Helpers of the damaged-table and state-directory suites: a command runner that tells an
// exit from a death by signal (CommandResult folds both into `status`), and a small table
// made by a real daemon to damage.

/// How a process ended.
struct Outcome: CustomStringConvertible {
    /// The exit status, when it exited.
    var exitStatus: Int32?
    /// The signal that killed it, when one did.
    var signal: Int32?
    var stdout: String
    var stderr: String

    var diedBySignal: Bool { signal != nil }
    var description: String {
        let how = signal.map { "killed by signal \($0)" } ?? "exit \(exitStatus ?? -1)"
        return "\(how); stderr: \(stderr.prefix(600))"
    }

    /// Runs `argv` to completion, killing it (by its pid) after `timeout` seconds; a process
    /// killed for the timeout reports `signal` SIGKILL, so the caller sees it.
    static func run(_ argv: [String], timeout: Double = 30, environment: [String: String] = [:]) throws -> Outcome {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: argv[0])
        process.arguments = Array(argv.dropFirst())
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        let dir = try TemporaryDirectory()
        let outPath = dir.path + "/out", errPath = dir.path + "/err"
        _ = FileManager.default.createFile(atPath: outPath, contents: nil)
        _ = FileManager.default.createFile(atPath: errPath, contents: nil)
        process.standardOutput = FileHandle(forWritingAtPath: outPath)
        process.standardError = FileHandle(forWritingAtPath: errPath)
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(5_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        let out = (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? ""
        let err = (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? ""
        if process.terminationReason == .uncaughtSignal {
            return Outcome(exitStatus: nil, signal: process.terminationStatus, stdout: out, stderr: err)
        }
        return Outcome(exitStatus: process.terminationStatus, signal: nil, stdout: out, stderr: err)
    }
}

/// File helpers for damaging tables.
enum TableFiles {
    static func size(_ path: String) -> Int {
        var st = stat()
        return stat(path, &st) == 0 ? Int(st.st_size) : -1
    }

    static func truncate(_ path: String, to size: Int) {
        #expect(Glibc.truncate(path, off_t(size)) == 0, "truncate \(path)")
    }

    /// Overwrites `bytes` at `offset`.
    static func overwrite(_ path: String, at offset: Int, with bytes: [UInt8]) {
        let fd = open(path, O_WRONLY)
        defer { close(fd) }
        #expect(fd >= 0 && pwrite(fd, bytes, bytes.count, off_t(offset)) == bytes.count, "write \(path)")
    }

    /// `cp -a` of a directory.
    static func copyTree(_ from: String, _ to: String) throws {
        let r = try CommandResult.run(["/bin/cp", "-a", from, to])
        #expect(r.status == 0, "cp -a \(from) \(to): \(r.stderr)")
    }

    static func read(_ path: String) -> [UInt8]? {
        FileManager.default.contents(atPath: path).map { [UInt8]($0) }
    }
}

extension DaemonHarness {
    /// Runs a daemon on the harness until its `count` children run, then stops it with
    /// SIGTERM: a table with children, groups, events, specs and meta, and no daemon.
    func makeStoppedTable(children count: Int) throws {
        try start()
        try waitRunning(count, timeout: 30)
        signal(SIGTERM)
        #expect(waitExit(timeout: 20) == 0)
        stop()
    }
}
