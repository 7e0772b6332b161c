/// Why the engine refused an operator command. Sent back as `CommandReply.error`, whose
/// `code` is `Code.rawValue`.
public struct CommandError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Stable codes to match on.
    public enum Code: String, Sendable, Hashable, CaseIterable {
        /// An id or job key is not in the table.
        case notFound = "not_found"
        /// `delete` of a child that is not stopped or waiting.
        case notStopped = "not_stopped"
        /// A malformed request, e.g. a negative pool size.
        case badRequest = "bad_request"
        /// The tree is stopping; only the shutdown in progress continues.
        case shuttingDown = "shutting_down"
    }

    /// What went wrong, for programs.
    public var code: Code
    /// What went wrong, for people.
    public var message: String

    /// Creates an error.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// The reply carrying this error.
    public var reply: CommandReply { .error(code: code.rawValue, message: message) }

    /// `code: message`.
    public var description: String { "\(code.rawValue): \(message)" }
}
