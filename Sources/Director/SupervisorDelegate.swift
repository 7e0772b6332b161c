import DirectorCore
import DirectorManifest

/// The Erlang library Director's callback module: it decides, per child, what follows an
/// exit, and whether lifecycle lines are logged.
///
/// Called on the supervisor's thread, between two steps of the engine (never inside one), so
/// a callback sees a consistent tree and may take its time only at the cost of supervision:
/// keep them short. `State` is the delegate's own (Director's `State`), handed to every
/// callback and replaced by what it returns; `ChildState` is carried with each child
/// (Director's `child_state`), starting from ``initialChildState(for:job:)``.
///
/// Without a delegate the manifest's `on_exit` rules decide; with one, ``handleExit`` decides,
/// and the rules' decision is its default (``ExitVerdict/rules(state:childState:log:)``).
/// Exits something asked for (an operator's stop, a strategy's restart, a shutdown) are not
/// decided: they go to ``handleTerminate(child:reason:state:)``.
public protocol SupervisorDelegate: Sendable {
    /// The delegate's state across the whole tree.
    associatedtype State = Void
    /// The state carried with each child.
    associatedtype ChildState = Void

    /// A child as the callbacks see it.
    typealias Child = SupervisedChild<ChildState>
    /// What ``handleExit`` returns.
    typealias Verdict = ExitVerdict<State, ChildState>
    /// What ``handleStart`` and ``handleTerminate`` return.
    typealias Reply = DelegateReply<State, ChildState>

    /// The state before anything started (Director's `init/1`).
    func initialState() -> State
    /// A new child's state (the first time its id appears).
    func initialChildState(for id: ChildID, job: JobSpec) -> ChildState
    /// A child's process started (Director's `handle_start/4`).
    func handleStart(child: Child, state: State) -> Reply
    /// A child's process ended on its own, or could not be spawned (Director's
    /// `handle_exit/5`): what now? `restarts` is its restart count before this exit.
    func handleExit(child: Child, status: ChildExitStatus, restarts: Int, state: State) -> Verdict
    /// A child stopped because something asked it to (Director's `handle_terminate/5`).
    func handleTerminate(child: Child, reason: ChildExitStatus, state: State) -> Reply
    /// The tree has stopped (Director's `terminate/2`); `status` is 0 after a shutdown, 1
    /// when the root failed.
    func terminate(status: Int32, state: State)
}

extension SupervisorDelegate where State == Void {
    /// No state.
    public func initialState() {}
}

extension SupervisorDelegate where ChildState == Void {
    /// No per-child state.
    public func initialChildState(for id: ChildID, job: JobSpec) {}
}

extension SupervisorDelegate {
    /// Logs the start; state unchanged.
    public func handleStart(child: Child, state: State) -> Reply { Reply(state: state, childState: child.state) }
    /// Logs the stop; state unchanged.
    public func handleTerminate(child: Child, reason: ChildExitStatus, state: State) -> Reply {
        Reply(state: state, childState: child.state)
    }
    /// Nothing.
    public func terminate(status: Int32, state: State) {}
}

/// A child as a delegate sees it.
public struct SupervisedChild<ChildState> {
    /// Its id (`group/job/instance`).
    public var id: ChildID
    /// Its job's key (`group/job`).
    public var jobKey: String
    /// Its job.
    public var job: JobSpec
    /// Its process, when it has one (nil after an exit or a failed spawn).
    public var pid: Int32?
    /// What the manifest's `on_exit` rules, else the job's restart type, would do (set in
    /// ``SupervisorDelegate/handleExit(child:status:restarts:state:)``; `nil` elsewhere).
    public var proposed: ExitDecision?
    /// Its state, as the last callback left it.
    public var state: ChildState
}

/// What a delegate's `handleStart` or `handleTerminate` returns.
public struct DelegateReply<State, ChildState> {
    /// The delegate's new state.
    public var state: State
    /// The child's new state.
    public var childState: ChildState
    /// False hides the line from the log (the table still records the event): Director's
    /// `{log, false}`.
    public var log: Bool

    /// Creates a reply.
    public init(state: State, childState: ChildState, log: Bool = true) {
        self.state = state
        self.childState = childState
        self.log = log
    }
}

/// What a delegate decides about an exit: an action, whether the exit is logged, and the
/// new states.
public struct ExitVerdict<State, ChildState> {
    /// What to do with the child.
    public enum Action: Sendable, Hashable {
        /// Start it again, after the job's delay or backoff.
        case restart
        /// Start it again after exactly this long.
        case restartAfter(Duration)
        /// Keep it, stopped, until an operator (or `restartChild`) starts it.
        case wait
        /// Remove it from the tree.
        case delete
        /// Fail its group now (escalate to the parent, OTP's meaning).
        case stop
        /// Whatever the manifest's `on_exit` rules, else the job's restart type, say.
        case rules
    }

    /// What to do.
    public var action: Action
    /// False hides the exit from the log (the table still records it).
    public var log: Bool
    /// The delegate's new state.
    public var state: State
    /// The child's new state.
    public var childState: ChildState

    /// Creates a verdict.
    public init(_ action: Action, log: Bool = true, state: State, childState: ChildState) {
        self.action = action
        self.log = log
        self.state = state
        self.childState = childState
    }

    /// Do what the manifest says.
    public static func rules(state: State, childState: ChildState, log: Bool = true) -> ExitVerdict {
        ExitVerdict(.rules, log: log, state: state, childState: childState)
    }

    /// The engine's decision for this verdict, `proposed` being the rules' own.
    func decision(proposed: ExitDecision) -> ExitDecision {
        switch action {
        case .restart: ExitDecision(action: .restart, log: log)
        case .restartAfter(let delay): ExitDecision(action: .restart, after: delay, log: log)
        case .wait: ExitDecision(action: .wait, log: log)
        case .delete: ExitDecision(action: .delete, log: log)
        case .stop: ExitDecision(action: .stop, log: log)
        case .rules:
            ExitDecision(action: proposed.action, ruleIndex: proposed.ruleIndex, after: proposed.after, log: proposed.log && log)
        }
    }
}
