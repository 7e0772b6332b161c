/// One row of the `groups` database: a supervisor and its restart budget.
public struct GroupRecord: Sendable, Hashable {
    /// The OTP restart strategy.
    public enum Strategy: String, Sendable, Hashable, CaseIterable {
        /// Restart only the failed child.
        case oneForOne = "one_for_one"
        /// Restart every child of the group.
        case oneForAll = "one_for_all"
        /// Restart the failed child and every child declared after it.
        case restForOne = "rest_for_one"
    }

    /// The group's state; the same vocabulary as the engine's.
    public enum State: String, Sendable, Hashable, CaseIterable {
        /// Children are supervised.
        case running
        /// The group is stopping or restarting as a whole.
        case restarting
        /// Stopped.
        case stopped
        /// Given up by the root (`--root-failure give-up`): its children are stopped until an
        /// operator starts it again or a reload changes it.
        case failed
    }

    /// `web` or `web/cache`; the empty string is the root supervisor (stored under the key
    /// `GroupRecord.rootKey` because LMDB keys cannot be empty).
    public var path: String
    /// The strategy.
    public var strategy: Strategy
    /// Restarts allowed within `periodMillis`.
    public var intensity: Int
    /// The sliding window, in milliseconds (an integer in JSON: `"period": 30000`).
    public var periodMillis: Int64
    /// Restarts counted in the current window.
    public var restartsInPeriod: Int
    /// The state.
    public var state: State
    /// The daemon (node) that runs this group, on a table several daemons share (DESIGN
    /// §4.1); nil in tables written before nodes existed, and stored only when set.
    public var node: String?

    /// The key the root group (path `""`) is stored under.
    public static let rootKey = "/"

    /// The key this record is stored under. Every daemon sharing a table (DESIGN §4.1) has a
    /// root group: a node's root is stored under `/NODE`, so that each keeps its own row.
    public var key: String { path.isEmpty ? GroupRecord.rootKey + (node ?? "") : path }

    /// Creates a record.
    public init(path: String, strategy: Strategy, intensity: Int, periodMillis: Int64, restartsInPeriod: Int = 0, state: State, node: String? = nil) {
        self.path = path
        self.strategy = strategy
        self.intensity = intensity
        self.periodMillis = periodMillis
        self.restartsInPeriod = restartsInPeriod
        self.state = state
        self.node = node
    }

    /// The record as the table stores it.
    public var json: JSONValue {
        var fields: [(String, JSONValue)] = [
            ("path", .string(path)),
            ("strategy", .string(strategy.rawValue)),
            ("intensity", .int(Int64(intensity))),
            ("period", .int(periodMillis)),
            ("restarts_in_period", .int(Int64(restartsInPeriod))),
            ("state", .string(state.rawValue)),
        ]
        if let node { fields.append(("node", .string(node))) }
        return .object(fields)
    }

    /// Decodes a stored record; the error names the offending field.
    public init(json: JSONValue) throws(TableError) {
        let f = try RecordFields(json, record: "group")
        path = try f.string("path")
        strategy = try f.enumeration("strategy", Strategy.self)
        guard let i = Int(exactly: try f.int("intensity")), i >= 0 else { throw f.fail("intensity", "must be ≥ 0") }
        intensity = i
        periodMillis = try f.int("period")
        guard periodMillis >= 0 else { throw f.fail("period", "must be ≥ 0") }
        guard let r = Int(exactly: try f.int("restarts_in_period")), r >= 0 else {
            throw f.fail("restarts_in_period", "must be ≥ 0")
        }
        restartsInPeriod = r
        state = try f.enumeration("state", State.self)
        node = try f.optionalString("node")
    }
}
