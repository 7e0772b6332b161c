/// Operator decisions that outlive the daemon (`meta["decisions"]`): children an operator
/// stopped, children left waiting for an operator, and pools an operator resized, each
/// remembered with the spec hash its job had at the time. A new daemon honours a decision only while the job's spec hash still matches, so
/// editing the job's manifest ends the decision.
public struct OperatorDecisions: Sendable, Hashable {
    /// A pool size chosen by `director scale`.
    public struct Scale: Sendable, Hashable {
        /// The chosen size.
        public var instances: Int
        /// The job's spec hash then.
        public var specHash: String

        /// Creates one.
        public init(instances: Int, specHash: String) {
            self.instances = instances
            self.specHash = specHash
        }
    }

    /// Child id → spec hash of its job when it was stopped.
    public var stopped: [String: String]
    /// Child id → spec hash of its job when it began to wait for an operator.
    public var waiting: [String: String]
    /// Job key (`group/job`) → chosen size.
    public var scaled: [String: Scale]

    /// Creates decisions; empty by default.
    public init(stopped: [String: String] = [:], waiting: [String: String] = [:], scaled: [String: Scale] = [:]) {
        self.stopped = stopped
        self.waiting = waiting
        self.scaled = scaled
    }

    /// `{"stopped": {id: hash}, "waiting": {id: hash}, "scaled": {job: {"instances": n,
    /// "spec_hash": hash}}}`, keys sorted.
    public var json: JSONValue {
        .object([
            ("stopped", .object(stopped.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) })),
            ("waiting", .object(waiting.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) })),
            ("scaled", .object(scaled.sorted { $0.key < $1.key }.map {
                ($0.key, .object([("instances", .int(Int64($0.value.instances))), ("spec_hash", .string($0.value.specHash))]))
            })),
        ])
    }

    /// Decodes `json`; malformed members are skipped rather than failing the daemon's start.
    public init(json: JSONValue) {
        var stopped: [String: String] = [:]
        if case .object(let members)? = json["stopped"] {
            for (id, hash) in members { if let h = hash.stringValue { stopped[id] = h } }
        }
        // Absent in tables written before waiting children were carried over.
        var waiting: [String: String] = [:]
        if case .object(let members)? = json["waiting"] {
            for (id, hash) in members { if let h = hash.stringValue { waiting[id] = h } }
        }
        var scaled: [String: Scale] = [:]
        if case .object(let members)? = json["scaled"] {
            for (job, value) in members {
                if let n = value["instances"]?.intValue, n >= 0, let h = value["spec_hash"]?.stringValue {
                    scaled[job] = Scale(instances: Int(n), specHash: h)
                }
            }
        }
        self.init(stopped: stopped, waiting: waiting, scaled: scaled)
    }
}
