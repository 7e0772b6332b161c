// Who a job's processes run as and with which limits: `user`, `group`, `umask`, `rlimits`,
// and the variables of its `env_file`. Applied by the runtime in the spawn path, before exec.

/// The identity and limits a job's processes get (`user`, `group`, `umask`, `rlimits`).
/// The default changes nothing: children run as the daemon, with its umask and limits.
public struct ProcessIdentity: Sendable, Hashable {
    /// A user name or a numeric uid to run as; nil: the daemon's user.
    public var user: String?
    /// A group name or a numeric gid; nil: the user's primary group (or the daemon's group
    /// when `user` is nil too). Supplementary groups come from the group database.
    public var group: String?
    /// The file mode creation mask (e.g. `0o027`); nil: the daemon's.
    public var umask: UInt32?
    /// Resource limits set with setrlimit in the child, in declaration order.
    public var rlimits: [ResourceLimit]

    /// Creates an identity; by default everything is inherited from the daemon.
    public init(user: String? = nil, group: String? = nil, umask: UInt32? = nil, rlimits: [ResourceLimit] = []) {
        self.user = user
        self.group = group
        self.umask = umask
        self.rlimits = rlimits
    }

    /// True when nothing is set (the spawn path then does no extra work).
    public var isInherited: Bool { user == nil && group == nil && umask == nil && rlimits.isEmpty }
}

/// One `rlimits` entry: a resource and its soft and hard limits.
public struct ResourceLimit: Sendable, Hashable {
    /// The resources `rlimits` may set, by their manifest names.
    public enum Resource: String, Sendable, Hashable, CaseIterable {
        /// RLIMIT_NOFILE: open file descriptors.
        case nofile
        /// RLIMIT_NPROC: processes of the user.
        case nproc
        /// RLIMIT_CORE: core file size, bytes.
        case core
        /// RLIMIT_AS: address space, bytes.
        case addressSpace = "as"
        /// RLIMIT_CPU: CPU time, seconds.
        case cpu
        /// RLIMIT_MEMLOCK: locked memory, bytes.
        case memlock
        /// RLIMIT_STACK: stack size, bytes.
        case stack
        /// RLIMIT_FSIZE: file size, bytes.
        case fsize

        /// The Linux RLIMIT_* number.
        public var number: Int32 {
            switch self {
            case .cpu: 0
            case .fsize: 1
            case .stack: 3
            case .core: 4
            case .nproc: 6
            case .nofile: 7
            case .memlock: 8
            case .addressSpace: 9
            }
        }

        /// True for limits counted in bytes (these accept `K`, `M`, `G` suffixes).
        public var isBytes: Bool {
            switch self {
            case .core, .addressSpace, .memlock, .stack, .fsize: true
            case .nofile, .nproc, .cpu: false
            }
        }
    }

    /// RLIM_INFINITY: `unlimited`.
    public static let unlimited = UInt64.max

    /// Which limit.
    public var resource: Resource
    /// The soft limit (``unlimited`` for none).
    public var soft: UInt64
    /// The hard limit (``unlimited`` for none), ≥ `soft`.
    public var hard: UInt64

    /// Creates a limit; `hard` defaults to `soft`.
    public init(_ resource: Resource, soft: UInt64, hard: UInt64? = nil) {
        self.resource = resource
        self.soft = soft
        self.hard = hard ?? soft
    }

    /// A value as the manifest writes it: a number, or `unlimited`.
    public static func text(_ value: UInt64) -> String { value == unlimited ? "unlimited" : String(value) }
}

/// A job's `env_file`: where it is, and the variables it held when the manifest was loaded.
/// The variables are part of the job (its hash, `processDiffers`), so a reload after the file
/// changed restarts the job's instances; the file is not read again at each spawn.
public struct EnvFile: Sendable, Hashable {
    /// The absolute path.
    public var path: String
    /// `KEY=VALUE` lines in file order (a later line of the same name wins at spawn).
    public var variables: [EnvVar]

    /// Creates an env file value.
    public init(path: String, variables: [EnvVar]) {
        self.path = path
        self.variables = variables
    }
}

/// A job's `ready:`: how a started child tells that it is ready, and how long it may take.
/// A child with `ready:` holds back the children after it in its top-level group, at the
/// first start and in restart plans (OTP's synchronous start); without it a child is ready
/// once spawned.
public struct ReadySpec: Sendable, Hashable {
    /// The protocol.
    public enum Check: Sendable, Hashable {
        /// sd_notify: `READY=1` on the datagram socket named by `$NOTIFY_SOCKET`.
        case notify
        /// s6: a newline written on this file descriptor of the child (≥ 3), the write end
        /// of a pipe the daemon reads.
        case fd(Int32)
        /// Polled by the daemon with a backoff until it succeeds or `timeout` passes.
        case probe(Probe)
    }

    /// The protocol.
    public var check: Check
    /// Not ready within this → stopped, exit cause `ready_timeout`.
    public var timeout: Duration

    /// The default `timeout`.
    public static let defaultTimeout: Duration = .seconds(30)

    /// Creates a readiness check.
    public init(_ check: Check, timeout: Duration = ReadySpec.defaultTimeout) {
        self.check = check
        self.timeout = timeout
    }
}
