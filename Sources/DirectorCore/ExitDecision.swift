import DirectorManifest

/// What the engine does with a child whose process ended on its own: the first `on_exit`
/// rule that matches decides; without a match the job's restart type does (OTP's meaning).
///
/// A pure function of the job, the exit and the restart count, so it is tested on its own.
public struct ExitDecision: Sendable, Hashable {
    /// The action to take.
    public var action: ExitAction
    /// The index of the rule in `on_exit` that decided, or nil for the restart-type default.
    public var ruleIndex: Int?
    /// The deciding rule's `after`, overriding delay and backoff for a restart.
    public var after: Duration?
    /// The deciding rule's `log` switch (true when no rule decided).
    public var log: Bool

    /// Creates a decision.
    public init(action: ExitAction, ruleIndex: Int? = nil, after: Duration? = nil, log: Bool = true) {
        self.action = action
        self.ruleIndex = ruleIndex
        self.after = after
        self.log = log
    }

    /// Decides the exit `status` of a child of `job` that has been restarted `restarts` times;
    /// `cause` is the status's own (`exit`, `signal`) unless the engine stopped the child for a
    /// reason of its own (`ready_timeout`).
    public static func decide(job: JobSpec, status: ChildExitStatus, restarts: Int, cause: ExitCause? = nil) -> ExitDecision {
        let cause = cause ?? status.cause
        for (index, rule) in job.onExit.enumerated() where rule.when.matches(status, restarts: restarts, cause: cause) {
            return ExitDecision(action: rule.action, ruleIndex: index, after: rule.after, log: rule.log)
        }
        return ExitDecision(action: defaultAction(for: job.restart, status: status))
    }

    /// The restart type's answer when no rule matched.
    public static func defaultAction(for type: RestartType, status: ChildExitStatus) -> ExitAction {
        switch type {
        case .permanent: return .restart
        case .transient: return status == .code(0) ? .wait : .restart
        case .temporary: return .delete
        }
    }
}

extension ExitCondition {
    /// True when every present field holds. `codes` and `signals` together match an exit
    /// that is either one.
    public func matches(_ status: ChildExitStatus, restarts: Int, cause: ExitCause? = nil) -> Bool {
        if let minRestarts, restarts < minRestarts { return false }
        if let causes, !causes.contains((cause ?? status.cause).rawValue) { return false }
        if codes == nil && signals == nil { return true }
        switch status {
        case .code(let c): return codes?.contains(c) ?? false
        case .signal(let s): return signals?.contains(s) ?? false
        }
    }
}
