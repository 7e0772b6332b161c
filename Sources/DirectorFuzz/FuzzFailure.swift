/// One broken promise of the loader, found by a fuzz case.
public struct FuzzFailure: Error, Sendable, Hashable, CustomStringConvertible {
    /// A stable code to match on.
    public enum Code: String, Sendable, Hashable, CaseIterable {
        /// The case took longer than the time limit.
        case tooSlow = "too_slow"
        /// The loader threw an empty error list.
        case emptyErrors = "empty_errors"
        /// An error names another file than the one loaded.
        case wrongFile = "wrong_file"
        /// An error's line or column is below 1 or past the end of the input.
        case badLocation = "bad_location"
        /// An error has an empty message.
        case emptyMessage = "empty_message"
        /// The loader accepted the input but the result breaks a documented rule.
        case insaneManifest = "insane_manifest"
    }

    /// What kind of failure.
    public var code: Code
    /// What exactly, for people.
    public var message: String

    /// Creates a failure.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// `code: message`.
    public var description: String { "\(code.rawValue): \(message)" }
}
