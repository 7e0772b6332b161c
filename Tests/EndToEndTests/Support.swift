import Foundation

/// Paths of the repository under test, found from this file's location.
enum RepoPaths {
    /// The repository root.
    static let root: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()
}

/// A directory under /tmp removed (with everything in it) when the value goes away.
final class TemporaryDirectory: @unchecked Sendable {
    /// The absolute path.
    let path: String

    init() throws {
        var template = Array("/tmp/director-test-XXXXXX".utf8CString)
        guard let p = mkdtemp(&template) else { throw POSIXError(.EIO) }
        path = String(cString: p)
    }

    /// Writes a file relative to the directory.
    func write(_ name: String, executable: Bool = false, _ text: String) throws {
        let file = path + "/" + name
        try text.write(toFile: file, atomically: false, encoding: .utf8)
        if executable { chmod(file, 0o755) }
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}

/// The outcome of running a command to completion.
struct CommandResult {
    var status: Int32
    var stdout: String
    var stderr: String

    /// Runs `argv` with extra environment variables and waits for it.
    static func run(_ argv: [String], environment: [String: String] = [:], cwd: String? = nil) throws -> CommandResult {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: argv[0])
        process.arguments = Array(argv.dropFirst())
        if let cwd { process.currentDirectoryURL = URL(fileURLWithPath: cwd) }
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        // Read stderr on another thread so a chatty command cannot fill a pipe and stall.
        let errBox = DataBox()
        let reader = Thread { errBox.data = (try? err.fileHandleForReading.readToEnd()) ?? Data(); errBox.done.signal() }
        reader.start()
        let oData = try out.fileHandleForReading.readToEnd()
        errBox.done.wait()
        let e: Data? = errBox.data
        process.waitUntilExit()
        return CommandResult(
            status: process.terminationStatus,
            stdout: String(decoding: oData ?? Data(), as: UTF8.self),
            stderr: String(decoding: e ?? Data(), as: UTF8.self))
    }
}

private final class DataBox: @unchecked Sendable {
    var data = Data()
    let done = DispatchSemaphore(value: 0)
}

/// Reading `/proc` for the tests.
enum ProcFS {
    /// User plus system CPU time of `pid`, in clock ticks (fields 14 and 15 of its stat line).
    static func cpuTicks(pid: Int32) -> Int? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return nil }
        // Fields after the command name start at field 3 (the state).
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let utime = Int(fields[11]), let stime = Int(fields[12]) else { return nil }
        return utime + stime
    }

    /// True while `pid` exists and is not a zombie.
    static func isAlive(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return false }
        let state = stat[stat.index(after: close)...].dropFirst().first
        return state != "Z" && state != "X"
    }

    /// Polls until `pid` is gone (or a zombie); false after `timeout`.
    static func waitGone(_ pid: Int32, timeout: Double = 10) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if !isAlive(pid) { return true }
            usleep(20_000)
        }
        return false
    }
}
