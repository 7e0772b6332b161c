#if canImport(Glibc)
import Glibc
#endif
import DirectorTable

/// The daemon's own log lines on stderr (DESIGN §7):
/// `2026-11-24T21:00:00.123Z info web/api/0 started pid=123`, or with the JSON format
/// `{"at":"2026-11-24T21:00:00.123Z","level":"info","id":"web/api/0","msg":"started pid=123"}`.
public struct DaemonLog: Sendable {
    /// The line format.
    public enum Format: String, Sendable, Hashable, CaseIterable {
        /// Human text.
        case text
        /// One JSON object per line.
        case json
    }

    /// Severity.
    public enum Level: String, Sendable, Hashable, CaseIterable {
        /// Tracing (`--trace`).
        case debug
        /// Lifecycle events.
        case info
        /// Something unusual that Director handled.
        case warning
        /// Something that failed.
        case error
    }

    /// The format.
    public var format: Format
    /// Where lines go (normally 2).
    package var fd: Int32
    /// The wall clock, in ms since the epoch (injectable for tests).
    package var clock: @Sendable () -> Int64
    /// The daemon's bounded, non-blocking path to `fd`; nil: plain blocking writes.
    package var output: StreamOutput?

    /// A log on `fd` in `format`, written with blocking writes (tools and tests).
    package init(format: Format = .text, fd: Int32 = 2, clock: @escaping @Sendable () -> Int64 = SystemClock.wallMilliseconds) {
        self.format = format
        self.fd = fd
        self.clock = clock
    }

    /// The daemon's log: lines go through a bounded buffer that never blocks (DESIGN §7: a
    /// stalled reader of stderr costs dropped lines, never supervision). Dropped lines are
    /// reported by a warning line of their own once the reader is back.
    package static func daemon(format: Format, fd: Int32 = 2, capacity: Int = 256 * 1024) -> DaemonLog {
        var log = DaemonLog(format: format, fd: fd)
        let plain = log
        log.output = StreamOutput(fd: fd, capacity: capacity) { dropped in
            plain.line(.warning, id: "", "\(dropped) daemon log lines dropped: stderr was not being read")
        }
        return log
    }

    /// Formats one line (without the newline). `id` is a child id, a group path, or empty for
    /// the daemon itself (then it is left out).
    /// `fields` (an event's structured fields) are added to JSON lines after `msg`; the text
    /// format has them in the message already.
    package func line(_ level: Level, id: String, _ message: String, fields extra: [(String, JSONValue)] = []) -> String {
        let at = RFC3339.format(clock())
        switch format {
        case .text:
            return id.isEmpty ? "\(at) \(level.rawValue) \(message)" : "\(at) \(level.rawValue) \(id) \(message)"
        case .json:
            var fields: [(String, JSONValue)] = [("at", .string(at)), ("level", .string(level.rawValue))]
            if !id.isEmpty { fields.append(("id", .string(id))) }
            fields.append(("msg", .string(message)))
            fields += extra
            return JSONValue.object(fields).serialized()
        }
    }

    /// Writes one line: through the daemon's non-blocking buffer when it has one, else with a
    /// blocking write.
    package func log(_ level: Level, id: String = "", _ message: String, fields: [(String, JSONValue)] = []) {
        if let output {
            output.write(line: line(level, id: id, message, fields: fields))
        } else {
            _ = FileDescriptors.writeAll(fd, Array((line(level, id: id, message, fields: fields) + "\n").utf8))
        }
    }
}
