/// Why a cluster operation failed. Match on `code`; show `message` to people.
public struct ClusterError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A stable, machine-matchable reason; extensible (a `switch` needs a `default`).
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        /// The code as text, stable across versions.
        public let rawValue: String
        private init(_ raw: String) { rawValue = raw }
        /// `rawValue`.
        public var description: String { rawValue }

        /// The cluster URL cannot be read.
        public static let badURL = Code("bad_url")
        /// PostgreSQL cannot be reached or refused the login.
        public static let unreachable = Code("unreachable")
        /// A statement failed.
        public static let query = Code("query")
        /// The node is down, or unknown to the cluster.
        public static let nodeDown = Code("node_down")
        /// The node took no command within the time allowed.
        public static let timeout = Code("timeout")
        /// A newer daemon of the same node took over (its epoch is higher).
        public static let fenced = Code("fenced")
    }

    /// The reason.
    public var code: Code
    /// One line for people.
    public var message: String

    /// An error with a code and a message.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// `message`.
    public var description: String { message }
}
