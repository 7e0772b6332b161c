/// Why a table operation failed. Match on `code`; show `message` to people.
public struct TableError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A stable, machine-matchable reason.
    public enum Code: String, Sendable, Hashable {
        /// There is no table where one was expected.
        case notFound = "not_found"
        /// The files exist but we may not open them.
        case permissionDenied = "permission_denied"
        /// A key is empty or longer than LMDB allows (511 bytes).
        case invalidKey = "invalid_key"
        /// A stored value is not the JSON record it should be; the message names the field.
        case invalidRecord = "invalid_record"
        /// The map could not grow any further (disk full or the size limit reached).
        case mapFull = "map_full"
        /// The environment's files are damaged (truncated, corrupted pages, a wrong header)
        /// or are not what they must be (a symbolic link, another user's file); `message`
        /// names the file.
        case damaged = "damaged"
        /// Any other LMDB or system failure; `message` carries LMDB's text.
        case storage = "storage"
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
