/// Why a supervisor could not start, or why a request was refused.
///
/// `code` says what kind of failure it is (extensible: new codes may be added without
/// breaking a `switch` written today, as in swift-service-lifecycle); `message` says it for
/// people (for an invalid manifest, one `FILE:LINE:COL: message` line per error).
public struct SupervisorError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The kind of failure.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: Hashable, Sendable {
            case invalidManifest, lockHeld, table, system, notFound, shuttingDown, tooManyChildren
            case alreadyRunning, treeFailed, refused
        }

        private let base: Base
        /// The request's code as the control socket spells it (`not_found`), for `refused`.
        private let text: String?

        private init(_ base: Base, text: String? = nil) {
            self.base = base
            self.text = text
        }

        /// The manifest is invalid.
        public static let invalidManifest = Code(.invalidManifest)
        /// Another supervisor holds the state directory.
        public static let lockHeld = Code(.lockHeld)
        /// The table could not be opened.
        public static let table = Code(.table)
        /// A system call failed.
        public static let system = Code(.system)
        /// No such child, job or group.
        public static let notFound = Code(.notFound)
        /// The supervisor is stopping or has stopped.
        public static let shuttingDown = Code(.shuttingDown)
        /// More children in all than `SupervisorOptions.maxChildren`.
        public static let tooManyChildren = Code(.tooManyChildren)
        /// `run()` was called on a supervisor that runs or ran already.
        public static let alreadyRunning = Code(.alreadyRunning)
        /// The tree stopped because the root failed (`RootPolicy.onFailure == .exit`).
        public static let treeFailed = Code(.treeFailed)

        /// Any other refusal, with the control protocol's code (`already_present`,
        /// `not_running`...).
        public static func refused(_ code: String) -> Code { Code(.refused, text: code) }

        /// The code as text (`invalid_manifest`, `not_found`, ...).
        public var description: String {
            switch base {
            case .invalidManifest: "invalid_manifest"
            case .lockHeld: "lock_held"
            case .table: "table"
            case .system: "system"
            case .notFound: "not_found"
            case .shuttingDown: "shutting_down"
            case .tooManyChildren: "too_many_children"
            case .alreadyRunning: "already_running"
            case .treeFailed: "tree_failed"
            case .refused: text ?? "refused"
            }
        }

        /// The code for a control protocol code.
        static func from(control code: String) -> Code {
            switch code {
            case "invalid_manifest": .invalidManifest
            case "not_found": .notFound
            case "shutting_down": .shuttingDown
            case "too_many_children": .tooManyChildren
            default: .refused(code)
            }
        }
    }

    /// The kind of failure.
    public var code: Code
    /// For people.
    public var message: String

    /// Creates an error.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// `message`.
    public var description: String { message }
}
