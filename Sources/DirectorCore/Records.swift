import DirectorManifest

/// Why the engine asked a child to stop, i.e. what happens once its process has exited.
enum StopIntent: Sendable, Hashable {
    /// An operator stop: the child stays `stopped`.
    case park
    /// Start again at once (operator restart, or a reload that changed the process).
    case restart(resetCount: Bool)
    /// Leave the table (scale-down, job or group removed by a reload).
    case remove
    /// Part of the restart plan of the group with this key (strategy or group restart).
    case plan(String)
    /// The tree is shutting down.
    case shutdown
    /// The root gave the child's group up: the child stays `stopped` until the group is
    /// started again.
    case giveUp
    /// The engine stops it for a failure of its own (not ready in time): the exit is decided
    /// by `on_exit` like a crash, with this cause.
    case failed(ExitCause)
}

/// An operator-visible decision about a child that outlives the daemon (see
/// `Engine.carryOver`).
enum Remembered: Sendable, Hashable {
    /// An operator stopped it.
    case stopped
    /// It waits for an operator.
    case waiting
}

/// One job's spec and its hash, held once and shared by reference by the job's record and
/// every instance's record. A `JobSpec` is ~300 bytes inline: stored by value in each
/// `ChildRecord` it cost that much again per child in the `childRecords` dictionary (whose
/// storage has up to twice as many slots as children), 10 000 copies of one spec.
final class SharedSpec: Sendable {
    let spec: JobSpec
    let hash: String

    init(_ spec: JobSpec, hash: String) {
        self.spec = spec
        self.hash = hash
    }

    convenience init(_ spec: JobSpec) { self.init(spec, hash: spec.stableHash) }
}

/// Everything the engine knows about one child (one instance of a job).
struct ChildRecord: Sendable {
    let id: ChildID
    /// The key of the group that supervises the child.
    let groupKey: String
    /// The job as currently configured (kept per child so removed jobs can still finish);
    /// shared with the job's record and its other instances.
    private(set) var shared: SharedSpec
    var spec: JobSpec { shared.spec }
    var specHash: String { shared.hash }

    var state: ChildState = .stopped
    var pid: Int32?
    var startedAt: Instant?
    var restarts = 0
    var lastExit: (status: ChildExitStatus, at: Instant, cause: ExitCause)?
    var nextRestartAt: Instant?
    /// Set when the engine wants the current process gone (possibly before it has started).
    var stopIntent: StopIntent?
    /// Set for a child that has exited and waits for a group's restart plan to start it.
    var heldBy: String?
    /// Whether a `resetRestarts` timer is armed, so the exit path only cancels real timers.
    var resetTimerArmed = false
    /// Whether a `shutdownTimeout` timer is armed.
    var shutdownTimerArmed = false
    /// The current process is ready (`ready:` answered, or no `ready:` and running).
    var ready = false
    /// Whether a `readyTimeout` timer is armed.
    var readyTimerArmed = false
    /// Stopped because the root gave its group up: starting the group starts it again
    /// (children an operator stopped, or left waiting, stay as they are).
    var givenUp = false
    /// The decision about it that `Engine.carryOver` holds, if any (a flag, so the hot
    /// spawn path only touches the carry-over when there is something to forget).
    var remembered: Remembered?

    init(id: ChildID, groupKey: String, shared: SharedSpec) {
        self.id = id
        self.groupKey = groupKey
        self.shared = shared
    }

    /// Switches to another spec (a reload).
    mutating func setSpec(_ shared: SharedSpec) { self.shared = shared }

    /// The resolved launch spec, built at each spawn: stored per child it was ~100 bytes in
    /// the dictionary plus an env array of its own, for a few hundred nanoseconds a spawn.
    var launch: LaunchSpec { LaunchSpec(job: shared.spec, id: id) }

    /// Has (or is about to have) a process.
    var isLive: Bool { state == .starting || state == .running || state == .stopping }

    /// The row the table stores.
    var snapshot: ChildSnapshot {
        ChildSnapshot(
            id: id, state: state, pid: pid, startedAt: startedAt, restarts: restarts, lastExit: lastExit,
            nextRestartAt: nextRestartAt, specHash: specHash, ready: ready)
    }
}

/// A job inside its group: the spec and the pool's current size.
struct JobRecord: Sendable {
    /// The spec, shared with the job's child records.
    var shared: SharedSpec
    var spec: JobSpec { shared.spec }
    var specHash: String { shared.hash }
    /// The pool size wanted now (manifest or operator).
    var size: Int
    /// Instances `0 ..< slots` may exist in the table (scaled-down ones linger until exited).
    var slots: Int
}

/// One entry of a group in declaration order.
enum GroupEntry: Sendable, Hashable {
    case job(String)
    case group(String)
}

/// A member of a group as strategies see it: each pool instance on its own, nested groups as
/// one unit.
enum Member: Sendable, Hashable {
    case child(ChildID)
    case group(String)
}

/// A supervisor: the root (key `""`) or a group (key `web` or `web/cache`).
struct GroupRecord: Sendable {
    let key: String
    let path: [String]
    var strategy: Strategy
    var window: RestartIntensity
    var entries: [GroupEntry]
    var state: GroupState = .running
    /// Members still to exit before the pending restart plan can start; nil without a plan.
    var planPending: Int?

    /// The key of a nested group or job named `name` below this group.
    func childKey(_ name: String) -> String { key.isEmpty ? name : key + "/" + name }

    /// The parent's key, or nil for the root.
    var parentKey: String? {
        if key.isEmpty { return nil }
        return path.dropLast().joined(separator: "/")
    }

    func snapshot(at now: Instant) -> GroupSnapshot {
        GroupSnapshot(
            path: key, strategy: strategy, intensity: window.intensity, period: window.period,
            restartsInPeriod: window.count(at: now), state: state)
    }
}

/// The engine's child records: stored densely in an array and found through an index by id.
///
/// A `[ChildID: ChildRecord]` dictionary keeps up to twice as many slots as children (its
/// storage is a power of two at most 3/4 full), and each slot is as large as a record
/// (~180 bytes). Here the index's spare slots hold only an `Int`, and the records array
/// grows by the usual doubling. Order is arbitrary, as a dictionary's was.
struct ChildRecordStore: Sendable, Sequence {
    private var records: [ChildRecord] = []
    private var index: [ChildID: Int] = [:]

    var count: Int { records.count }

    subscript(id: ChildID) -> ChildRecord? {
        get { index[id].map { records[$0] } }
        set {
            if let newValue {
                if let i = index[id] {
                    records[i] = newValue
                } else {
                    index[id] = records.count
                    records.append(newValue)
                }
            } else if let i = index.removeValue(forKey: id) {
                let last = records.count - 1
                if i != last {
                    records.swapAt(i, last)
                    index[records[i].id] = i
                }
                records.removeLast()
            }
        }
    }

    /// Iterates over a snapshot: the body may change the store.
    func makeIterator() -> AnyIterator<(key: ChildID, value: ChildRecord)> {
        var inner = records.makeIterator()
        return AnyIterator { inner.next().map { (key: $0.id, value: $0) } }
    }
}
