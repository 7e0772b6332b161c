#if canImport(Glibc)
import Glibc
#endif

/// A failure of one of the runtime's edges (event loop, sockets, lock, watcher).
package struct RuntimeError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A stable code to match on.
    package struct Code: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
        /// The code's text, e.g. `lock_held`.
        package var rawValue: String
        /// Creates a code.
        package init(rawValue: String) { self.rawValue = rawValue }
        /// The text.
        package var description: String { rawValue }

        /// A system call failed; the message names it and the errno text.
        package static let system = Code(rawValue: "system")
        /// Another daemon holds the state directory's lock.
        package static let lockHeld = Code(rawValue: "lock_held")
        /// Nothing listens on the control socket.
        package static let noDaemon = Code(rawValue: "no_daemon")
        /// Another daemon already listens on the control socket.
        package static let addressInUse = Code(rawValue: "address_in_use")
        /// The daemon did not answer in time.
        package static let timeout = Code(rawValue: "timeout")
        /// The peer broke the line protocol (closed early, sent garbage).
        package static let protocolViolation = Code(rawValue: "protocol")
    }

    /// What went wrong, stable.
    package var code: Code
    /// For people.
    package var message: String
    /// The errno behind it, when a system call failed.
    package var errno: Int32?

    /// Creates an error.
    package init(_ code: Code, _ message: String, errno: Int32? = nil) {
        self.code = code
        self.message = message
        self.errno = errno
    }

    /// A failed system call: `"<what>: <strerror>"`.
    static func system(_ what: String, errno: Int32) -> RuntimeError {
        RuntimeError(.system, "\(what): \(errorText(errno))", errno: errno)
    }

    /// The message.
    package var description: String { message }
}

/// `strerror(code)` as a Swift string.
func errorText(_ code: Int32) -> String {
    String(cString: strerror(code))
}
