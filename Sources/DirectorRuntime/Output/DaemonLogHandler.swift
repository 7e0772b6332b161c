#if canImport(Glibc)
import Glibc
#endif
import DirectorTable
import Logging

/// A swift-log `LogHandler` that renders Director's own log lines exactly as DESIGN §7 fixes
/// them: `2026-11-24T21:00:00.123Z info web/api/0 started pid=123`, or with the JSON format one
/// object per line, `{"at":…,"level":…,"id":…,"msg":…}` followed by the event's fields.
///
/// `director run` logs through one of these on fd 2. Its lines go through a bounded buffer
/// that never blocks (a stalled reader of stderr costs dropped and counted lines, never
/// supervision); a supervisor given this handler drives that buffer from its event loop, and a
/// line written from another thread is attempted at once too.
///
/// The supervisor passes a line's child id as the metadata value `id` and its structured
/// fields as `fields` (see ``LogFields``); other metadata is left out of the text format and
/// added after them in the JSON format.
public struct DaemonLogHandler: LogHandler {
    /// The rendering and its bounded output.
    package let log: DaemonLog
    /// The handler's own metadata (swift-log's value semantics).
    public var metadata: Logger.Metadata = [:]
    /// The lowest level written.
    public var logLevel: Logger.Level = .info
    /// Not used: the supervisor passes what a line needs with the line.
    public var metadataProvider: Logger.MetadataProvider?

    /// A handler writing to `fd` (2 for the daemon) in `format` through a non-blocking buffer of
    /// `capacity` bytes.
    public init(format: DaemonLog.Format = .text, fd: Int32 = 2, capacity: Int = 256 * 1024) {
        log = DaemonLog.daemon(format: format, fd: fd, capacity: capacity)
    }

    /// A handler around an existing log (tests: an injected clock, blocking writes).
    package init(log: DaemonLog) { self.log = log }

    /// Metadata by key.
    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    /// Writes one line.
    public func log(event: LogEvent) {
        var all = metadata
        if let extra = event.metadata { all.merge(extra) { _, new in new } }
        var id = ""
        if case .string(let text)? = all.removeValue(forKey: "id") { id = text }
        var fields: [(String, JSONValue)] = []
        if case .stringConvertible(let carried)? = all.removeValue(forKey: "fields"), let carried = carried as? LogFields {
            fields = carried.pairs
        }
        if log.format == .json {
            for key in all.keys.sorted() { fields.append((key, Self.json(all[key]!))) }
        }
        log.log(Self.level(event.level), id: id, event.message.description, fields: fields)
    }

    static func level(_ level: Logger.Level) -> DaemonLog.Level {
        switch level {
        case .trace, .debug: .debug
        case .info, .notice: .info
        case .warning: .warning
        case .error, .critical: .error
        }
    }

    static func json(_ value: Logger.MetadataValue) -> JSONValue {
        switch value {
        case .string(let s): .string(s)
        case .stringConvertible(let c): .string(c.description)
        case .array(let items): .array(items.map(json))
        case .dictionary(let d): .object(d.keys.sorted().map { ($0, json(d[$0]!)) })
        }
    }
}

/// The ordered, typed fields of one log line (an event's `pid`, `status`, `restarts`…), carried
/// as the metadata value `fields`. ``DaemonLogHandler`` writes them as JSON members in order;
/// any other handler sees them as one JSON object in text.
public struct LogFields: CustomStringConvertible, Sendable {
    /// Name and value, in the order they are written.
    public var pairs: [(String, JSONValue)]

    /// The fields as one JSON object.
    public var description: String { JSONValue.object(pairs).serialized() }
}

/// How the runtime logs: one call per line with a level, the child id (or group path, or
/// nothing for the supervisor itself), the message and the fields, through the `Logger` the
/// supervisor was built with.
package struct RuntimeLog: Sendable {
    package var logger: Logger { didSet { direct = Self.direct(logger) } }
    /// The `DaemonLog` behind `logger` when nothing swift-log would add to a line (no
    /// metadata, no provider): lines go to it straight, without building the metadata
    /// dictionaries that carry the id and fields through swift-log (they were 4–5 % of the
    /// daemon's CPU in a restart storm, three lines per restart). The text is the same.
    private var direct: DaemonLog?

    package init(_ logger: Logger) {
        self.logger = logger
        direct = Self.direct(logger)
    }

    private static func direct(_ logger: Logger) -> DaemonLog? {
        guard logger.metadataProvider == nil, let handler = logger.handler as? DaemonLogHandler,
            handler.metadata.isEmpty, handler.metadataProvider == nil
        else { return nil }
        return handler.log
    }

    /// The bounded output of a `DaemonLogHandler`, for the loop to drive; nil for any other
    /// handler.
    package var daemonOutput: StreamOutput? { (logger.handler as? DaemonLogHandler)?.log.output }

    /// True when a line at `level` would be written (what `--trace` costs when it is off).
    package func isEnabled(_ level: DaemonLog.Level) -> Bool { logger.logLevel <= Self.level(level) }

    package func log(_ level: DaemonLog.Level, id: String = "", _ message: String, fields: [(String, JSONValue)] = []) {
        let swiftLevel = Self.level(level)
        guard logger.logLevel <= swiftLevel else { return }
        if let direct {
            direct.log(level, id: id, message, fields: fields)
            return
        }
        var metadata: Logger.Metadata = [:]
        if !id.isEmpty { metadata["id"] = .string(id) }
        if !fields.isEmpty { metadata["fields"] = .stringConvertible(LogFields(pairs: fields)) }
        logger.log(level: swiftLevel, "\(message)", metadata: metadata.isEmpty ? nil : metadata)
    }

    static func level(_ level: DaemonLog.Level) -> Logger.Level {
        switch level {
        case .debug: .debug
        case .info: .info
        case .warning: .warning
        case .error: .error
        }
    }
}
