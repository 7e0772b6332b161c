#if canImport(Glibc)
import Glibc
#endif

/// A failure of one of the runtime's edges (event loop, sockets, lock, watcher).
public struct RuntimeError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A stable code to match on.
    public struct Code: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
        /// The code's text, e.g. `lock_held`.
        public var rawValue: String
        /// Creates a code.
        public init(rawValue: String) { self.rawValue = rawValue }
        /// The text.
        public var description: String { rawValue }

        /// A system call failed; the message names it and the errno text.
        public static let system = Code(rawValue: "system")
        /// Another daemon holds the state directory's lock.
        public static let lockHeld = Code(rawValue: "lock_held")
        /// Nothing listens on the control socket.
        public static let noDaemon = Code(rawValue: "no_daemon")
        /// Another daemon already listens on the control socket.
        public static let addressInUse = Code(rawValue: "address_in_use")
        /// The daemon did not answer in time.
        public static let timeout = Code(rawValue: "timeout")
        /// The peer broke the line protocol (closed early, sent garbage).
        public static let protocolViolation = Code(rawValue: "protocol")
    }

    /// What went wrong, stable.
    public var code: Code
    /// For people.
    public var message: String
    /// The errno behind it, when a system call failed.
    public var errno: Int32?

    /// Creates an error.
    public init(_ code: Code, _ message: String, errno: Int32? = nil) {
        self.code = code
        self.message = message
        self.errno = errno
    }

    /// A failed system call: `"<what>: <strerror>"`.
    static func system(_ what: String, errno: Int32) -> RuntimeError {
        RuntimeError(.system, "\(what): \(errorText(errno))", errno: errno)
    }

    /// The message.
    public var description: String { message }
}

/// `strerror(code)` as a Swift string.
func errorText(_ code: Int32) -> String {
    String(cString: strerror(code))
}
