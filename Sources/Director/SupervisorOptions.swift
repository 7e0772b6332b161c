import DirectorCore
import DirectorManifest
import DirectorTable

/// How a ``Supervisor`` runs. The defaults suit an embedded supervisor: nothing on disk, no
/// process-wide behaviour, children's output dropped.
public struct SupervisorOptions: Sendable {
    /// The root supervisor's restart intensity and period, and what a group that exceeds it
    /// does (give up that group, or stop the tree).
    public var root = RootPolicy()
    /// A state directory (lock, control socket, LMDB table, DESIGN §1 and §4): with one, the
    /// `director` CLI can inspect and command this supervisor (`director ps --state DIR`),
    /// and a second supervisor on the same directory is refused. Nil keeps nothing on disk.
    public var stateDirectory: String?
    /// With `ManifestSource.directory`: reload when a manifest file changes (inotify).
    public var watchesDirectory = true
    /// Quiet time after a change before the reload.
    public var reloadDebounce: Duration = .milliseconds(200)
    /// Where children's stdout and stderr lines go.
    public var childOutput: ChildOutput = .discard
    /// How `ChildOutput.standardOutput` writes a line: plain `<id> <stream>: <line>` by
    /// default; `director run` adds timestamps, JSON or colour.
    public var childLineFormat: ChildLineFormat = .plain
    /// Process-wide behaviour the supervisor may take on; none unless asked for.
    public var processWide: ProcessWideBehaviour = []
    /// The most children in all; manifests, reloads and scales over it are refused.
    public var maxChildren = ManifestLoader.defaultMaxChildren
    /// Log every engine transition at debug level.
    public var trace = false
    /// The seed of the restart jitter (random unless given, for reproducible runs).
    public var seed: UInt64?
    /// The version recorded in the table's `meta.daemon`.
    public var version = "0.1.0"
    /// A command that checks the state directory's table before it is mapped (the table
    /// directory is its last argument; exit 0 when sound, 1 with one line on stderr when
    /// damaged). `director run` uses itself (`__check-table`); nil relies on the header check.
    public var tableCheckCommand: [String]?
    /// The LMDB table's directory when it is not `<stateDirectory>/table`: a table that
    /// several supervisors, each with its own state directory, share (DESIGN §4.1; `director
    /// run --table`). Each writes only its own rows, marked with ``node``. Nil: the state
    /// directory's own table. Needs ``stateDirectory``.
    public var tablePath: String?
    /// This supervisor's node name on a shared table (`director run --node`): its rows,
    /// events and `meta.nodes` member carry it, and its groups may not be another live
    /// node's. Nil: the host name when ``tablePath`` is set, else no node at all (the
    /// single-daemon layout, unchanged).
    public var node: String?
    /// A copy of the table kept elsewhere, fed after each commit on the table writer's
    /// thread, never on the event loop (DESIGN §9: `director run --cluster` plugs
    /// `DirectorCluster`'s `ClusterMirror` in here). Nil: none.
    public var tableMirror: (any TableMirror)?

    /// The defaults.
    public init() {}
}

/// Where children's output lines go.
public enum ChildOutput: Sendable {
    /// Read and dropped: the pipes are drained, so a child never blocks on them.
    case discard
    /// To this process's stdout as `<id> <stream>: <line>`, through a bounded non-blocking
    /// buffer (a stalled reader costs dropped, counted lines, never supervision). What
    /// `director run` does.
    case standardOutput
    /// To a function, called on the supervisor's thread once per line that passed the job's
    /// `log` filters. Keep it short: the supervisor waits for it.
    case lines(@Sendable (ChildOutputLine) -> Void)
}

/// What a supervisor may do to the whole process. An embedded supervisor is a good
/// neighbour by default: it reaps only the processes it started (each through its pidfd),
/// claims no signal, writes nothing to fd 1 or 2 and leaves limits and the heap alone.
public struct ProcessWideBehaviour: OptionSet, Sendable, Hashable {
    /// The raw bits.
    public var rawValue: UInt8
    /// Creates a set from its bits.
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// Become a child subreaper (`PR_SET_CHILD_SUBREAPER`): descendants whose parent exits
    /// are re-parented to this process, and the supervisor reaps them and stops those that
    /// escaped their child's process group. Reaps on SIGCHLD, so only for a process whose
    /// other children the supervisor may see exit (the daemon).
    public static let subreaper = ProcessWideBehaviour(rawValue: 1 << 0)
    /// Handle SIGTERM and SIGINT (stop the tree; a second SIGINT kills it) and SIGHUP
    /// (reload), and ignore SIGPIPE. The signals are blocked on the calling thread and read
    /// through a signalfd: use it with ``Supervisor/runOnCurrentThread()`` on the main thread
    /// before other threads start.
    public static let signals = ProcessWideBehaviour(rawValue: 1 << 1)
    /// Give free heap memory back to the system after the first start (`malloc_trim`).
    public static let heapTrim = ProcessWideBehaviour(rawValue: 1 << 2)
    /// Raise the soft RLIMIT_NOFILE to the hard limit (children get the original back).
    public static let descriptorLimit = ProcessWideBehaviour(rawValue: 1 << 3)

    /// Everything: what `director run` asks for.
    public static let daemon: ProcessWideBehaviour = [.subreaper, .signals, .heapTrim, .descriptorLimit]
}
