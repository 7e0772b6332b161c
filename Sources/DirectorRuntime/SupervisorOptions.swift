import DirectorCore
import DirectorManifest

/// How `director run` was asked to run.
public struct SupervisorOptions: Sendable {
    /// The jobs directory.
    public var jobsDirectory: String
    /// The state directory (table, control socket, lock).
    public var stateDirectory: String
    /// The daemon log format.
    public var logFormat: DaemonLog.Format
    /// Print every engine transition.
    public var trace: Bool
    /// The root supervisor's intensity and period.
    public var root: RootPolicy
    /// Quiet time before a manifest change is applied.
    public var reloadDebounce: Duration
    /// Watch the jobs directory with inotify.
    public var watch: Bool
    /// The seed of the engine's jitter (random unless given, for reproducible runs).
    public var seed: UInt64?
    /// The version recorded in `meta.daemon`.
    public var version: String
    /// The most children the tree may have in all (`--max-children`): manifests over it are
    /// refused at start and at every reload, and so is a `scale` that would cross it.
    public var maxChildren: Int
    /// A command that checks a table before the daemon maps it, given the table directory as
    /// its last argument: exit 0 when sound, 1 with one line on stderr when damaged (a death
    /// by signal counts as damaged). `director run` sets it to itself with the hidden
    /// `__check-table` subcommand; nil (an embedded supervisor) relies on the header check.
    public var tableCheckCommand: [String]? = nil

    /// Creates options with the documented defaults.
    public init(
        jobsDirectory: String = "jobs", stateDirectory: String = ".director", logFormat: DaemonLog.Format = .text,
        trace: Bool = false, root: RootPolicy = RootPolicy(), reloadDebounce: Duration = .milliseconds(200),
        watch: Bool = true, seed: UInt64? = nil, version: String = "0.1.0",
        maxChildren: Int = ManifestLoader.defaultMaxChildren
    ) {
        self.maxChildren = maxChildren
        self.jobsDirectory = jobsDirectory
        self.stateDirectory = stateDirectory
        self.logFormat = logFormat
        self.trace = trace
        self.root = root
        self.reloadDebounce = reloadDebounce
        self.watch = watch
        self.seed = seed
        self.version = version
    }
}

/// Why the supervisor could not start.
public struct SupervisorError: Error, Sendable, CustomStringConvertible {
    /// A stable code.
    public enum Code: String, Sendable {
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
    public var code: Code
    /// One line per problem.
    public var lines: [String]

    /// The lines joined.
    public var description: String { lines.joined(separator: "\n") }
}
