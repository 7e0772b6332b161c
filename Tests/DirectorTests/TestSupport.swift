import Director
import Foundation
import Logging
import Synchronization

/// A logger that keeps every line it is given, for assertions.
final class CapturedLog: Sendable {
    struct Line: Sendable {
        var level: Logger.Level
        var message: String
        var id: String
    }

    let lines = Mutex<[Line]>([])

    var logger: Logger {
        var logger = Logger(label: "test") { _ in Handler(log: self) }
        logger.logLevel = .debug
        return logger
    }

    func messages(id: String? = nil) -> [String] {
        lines.withLock { $0.filter { id == nil || $0.id == id }.map(\.message) }
    }

    struct Handler: LogHandler {
        let log: CapturedLog
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .debug
        var metadataProvider: Logger.MetadataProvider?

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            var id = ""
            if case .string(let text)? = event.metadata?["id"] { id = text }
            log.lines.withLock { $0.append(Line(level: event.level, message: event.message.description, id: id)) }
        }
    }
}

/// Polls `condition` every 20 ms for at most `timeout`; true once it holds.
///
/// The default is generous on purpose: `Task { try await supervisor.run() }` needs a thread of
/// Swift's cooperative pool to begin (one per core, two on the CI machine), and in a full
/// `make test` the end-to-end suites beside these hold pool threads in blocking waits for
/// seconds. `DelegateTests.restartAfterRestarts…` once timed out at 10 s that way in a fresh
/// clone's CI run while taking 0.3 s alone. What these tests check is behaviour, not speed.
func eventually(timeout: Duration = .seconds(30), _ condition: () async -> Bool) async -> Bool {
    let clock = ContinuousClock()
    let deadline = clock.now + timeout
    while clock.now < deadline {
        if await condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return await condition()
}

/// A job running `sh -c script`.
func shellJob(_ name: String, _ script: String, instances: Int = 1, restart: RestartType = .permanent,
              delay: Duration = .zero, shutdown: Duration = .seconds(5)) -> JobSpec {
    JobSpec(
        name: name, command: .argv(["/bin/sh", "-c", script]), instances: instances, restart: restart, delay: delay,
        shutdown: Shutdown(signal: .term, timeout: .after(shutdown)))
}

/// True while a process with this pid exists (and is not a zombie we own).
func isAlive(_ pid: Int32) -> Bool {
    guard kill(pid, 0) == 0 else { return false }
    if let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
        let close = stat.lastIndex(of: ")") {
        let state = stat[stat.index(close, offsetBy: 2)]
        return state != "Z"
    }
    return true
}
