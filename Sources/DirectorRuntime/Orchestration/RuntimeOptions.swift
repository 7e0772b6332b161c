import DirectorCore
import DirectorManifest
import DirectorTable
import Logging

/// What a `SupervisorRuntime` is built from: the manifest and where it comes from, the table,
/// the logger, where children's lines go, the delegate's hooks, and which process-wide
/// behaviour it may take on. The public `Director.Supervisor` fills it in; so does
/// `director run` (through that same public type).
package struct RuntimeParts {
    /// The tree, already loaded and validated.
    package var manifest: Manifest
    /// The jobs directory it was loaded from (reloads read it again, the watcher watches it);
    /// nil for a manifest built in code (reloads then come only through the handle).
    package var jobsDirectory: String?
    /// The table; nil: the state directory's own LMDB table when there is a state directory,
    /// else an in-memory table.
    package var table: (any ChildTable)?
    /// Where the supervisor's own lines go.
    package var logger: Logger
    /// Where children's output lines go.
    package var childOutput: ChildOutputTarget = .discard
    /// The delegate, adapted to closures the loop calls (nil: the manifest's rules decide).
    package var hooks: DelegateHooks?
    /// Receives every event the supervisor records (the handle's `events`).
    package var events: EventHub?
    /// The requests of `SupervisorHandle`s.
    package var inbox: LoopInbox<LoopRequest>?
    package var options: RuntimeOptions

    package init(manifest: Manifest, jobsDirectory: String?, table: (any ChildTable)?, logger: Logger, options: RuntimeOptions) {
        self.manifest = manifest
        self.jobsDirectory = jobsDirectory
        self.table = table
        self.logger = logger
        self.options = options
    }
}

/// Where children's output lines go.
package enum ChildOutputTarget: Sendable {
    /// To `fd` (1 for the daemon) as `<id> <stream>: <line>`, through a bounded
    /// non-blocking buffer.
    case file(descriptor: Int32, format: ChildLineFormat = .plain)
    /// To a function, on the loop thread, one call per line that passed the job's filters.
    case lines(@Sendable (ChildOutputLine) -> Void)
    /// Read and dropped (a child never blocks on a full pipe).
    case discard
}

/// One line a child wrote, after the job's `log` filters.
public struct ChildOutputLine: Sendable, Hashable, CustomStringConvertible {
    /// The child.
    public var id: String
    /// stdout or stderr.
    public var stream: ChildStream
    /// The text, without the newline.
    public var text: String
    /// True when the line was cut at the length limit (64 KiB).
    public var cut: Bool

    /// Creates a line.
    public init(id: String, stream: ChildStream, text: String, cut: Bool) {
        self.id = id
        self.stream = stream
        self.text = text
        self.cut = cut
    }

    /// As the daemon writes it: `<id> <stream>: <text>`, with ` [cut]` for a cut line.
    public var description: String { "\(id) \(stream.rawValue): \(text)\(cut ? OutputPipe.cutMarker : "")" }
}

/// The plain settings of a runtime.
package struct RuntimeOptions: Sendable {
    /// The state directory (lock, control socket, table, the children's marker), or nil for
    /// an embedded supervisor that keeps nothing on disk.
    package var stateDirectory: String?
    /// Print every engine transition (at debug level).
    package var trace = false
    /// The root supervisor's intensity and period.
    package var root = RootPolicy()
    /// Quiet time before a manifest change is applied.
    package var reloadDebounce: Duration = .milliseconds(200)
    /// Watch the jobs directory with inotify.
    package var watch = true
    /// The seed of the engine's jitter (random unless given, for reproducible runs).
    package var seed: UInt64?
    /// The version recorded in `meta.daemon`.
    package var version = "0.1.0"
    /// The most children the tree may have in all (`--max-children`).
    package var maxChildren = ManifestLoader.defaultMaxChildren
    /// A command that checks a table before it is mapped (see `StateDirectory.openTable`).
    package var tableCheckCommand: [String]?
    /// The LMDB table's directory when it is not `<state>/table`: a table several daemons
    /// share (DESIGN §4.1). Nil: the state directory's own.
    package var tablePath: String?
    /// This daemon's node on a shared table (DESIGN §4.1): its rows, events and `meta.nodes`
    /// member carry it. Nil without `tablePath`: the single-daemon layout, no node anywhere;
    /// with `tablePath` and no name, the host name.
    package var node: String?
    /// Fed after each table commit (DESIGN §9, `director run --cluster`); nil: none.
    package var tableMirror: (any TableMirror)?
    /// Process-wide behaviour, each one off unless asked for.
    package var becomeSubreaper = false
    /// SIGTERM/SIGINT stop the tree, SIGHUP reloads (signalfd; the signals are blocked on the
    /// calling thread, so the loop must run on the main thread before others start).
    package var handleSignals = false
    /// Give free heap back after the first start (malloc_trim).
    package var trimHeap = false
    /// Raise the soft RLIMIT_NOFILE to the hard limit (children get the original back).
    package var raiseDescriptorLimit = false

    package init() {}
}

/// The delegate (the Erlang library's callback module) as closures the loop calls, on the
/// loop thread, between engine transitions, never inside one.
package struct DelegateHooks {
    /// The verdict on an exit nobody asked for.
    package var decideExit: ((ExitQuestion, JobSpec) -> ExitDecision)?
    /// A child started; false hides the `started` line.
    package var started: (ChildSnapshot, JobSpec) -> Bool
    /// A child stopped because something asked it to (operator, strategy, shutdown); false
    /// hides the exit line.
    package var terminated: (ChildSnapshot, JobSpec, ChildExitStatus) -> Bool
    /// A child left the tree: its per-child state goes with it.
    package var removed: (ChildID) -> Void
    /// The tree has stopped, with the runtime's exit status.
    package var finished: (Int32) -> Void

    package init(
        decideExit: ((ExitQuestion, JobSpec) -> ExitDecision)?, started: @escaping (ChildSnapshot, JobSpec) -> Bool,
        terminated: @escaping (ChildSnapshot, JobSpec, ChildExitStatus) -> Bool, removed: @escaping (ChildID) -> Void,
        finished: @escaping (Int32) -> Void
    ) {
        self.removed = removed
        self.decideExit = decideExit
        self.started = started
        self.terminated = terminated
        self.finished = finished
    }
}

/// Why the runtime could not start.
package struct RuntimeStartError: Error, Sendable, CustomStringConvertible {
    /// A stable code.
    package enum Code: String, Sendable {
        /// The manifests are invalid; `lines` holds the errors.
        case invalidManifest = "invalid_manifest"
        /// Another daemon holds the state directory.
        case lockHeld = "lock_held"
        /// The state table could not be opened.
        case table
        /// A system call failed at start.
        case system
    }

    /// What went wrong.
    package var code: Code
    /// One line per problem.
    package var lines: [String]

    /// The lines joined.
    package var description: String { lines.joined(separator: "\n") }
}
