/// Why a table operation failed. Match on `code`; show `message` to people.
public struct TableError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A stable, machine-matchable reason. Extensible: a later version may add codes, so a
    /// `switch` over it needs a `default` (as swift-service-lifecycle's error codes do).
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Sendable, Hashable {
            case notFound = "not_found", permissionDenied = "permission_denied", invalidKey = "invalid_key"
            case invalidRecord = "invalid_record", mapFull = "map_full", damaged = "damaged", storage = "storage"
        }

        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The code as text (`not_found`, `damaged`, ...), stable across versions.
        public var rawValue: String { base.rawValue }
        /// `rawValue`.
        public var description: String { base.rawValue }

        /// There is no table where one was expected.
        public static let notFound = Code(.notFound)
        /// The files exist but we may not open them.
        public static let permissionDenied = Code(.permissionDenied)
        /// A key is empty or longer than LMDB allows (511 bytes).
        public static let invalidKey = Code(.invalidKey)
        /// A stored value is not the JSON record it should be; the message names the field.
        public static let invalidRecord = Code(.invalidRecord)
        /// The map could not grow any further (disk full or the size limit reached).
        public static let mapFull = Code(.mapFull)
        /// The environment's files are damaged (truncated, corrupted pages, a wrong header)
        /// or are not what they must be (a symbolic link, another user's file); `message`
        /// names the file.
        public static let damaged = Code(.damaged)
        /// Any other LMDB or system failure; `message` carries LMDB's text.
        public static let storage = Code(.storage)
    }

    /// The reason.
    public var code: Code
    /// A one-line explanation for people.
    public var message: String

    /// Creates an error.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// `message`.
    public var description: String { message }
}
