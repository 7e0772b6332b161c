import DirectorCore
import DirectorManifest
import DirectorRuntime
import DirectorTable

/// Drives a running ``Supervisor`` from any task or thread: OTP's and the Erlang library
/// Director's API as async methods.
///
/// Each call travels to the supervisor's thread as a value (a locked queue and an eventfd
/// that wakes its loop) and is answered there between two engine steps, so calls from many
/// tasks at once are simply handled in turn. Calls made before ``Supervisor/run()`` wait for
/// it; calls made after the tree stopped fail with `SupervisorError.Code.shuttingDown`.
///
/// Child arguments are child ids (`web/api/0`) or prefixes of whole path segments (`web/api`
/// means every instance, `web` the whole group), as on the command line.
public struct SupervisorHandle: Sendable {
    let inbox: LoopInbox<LoopRequest>
    let hub: EventHub

    // MARK: Children

    /// Adds a job that is in no manifest to `group` (a top-level group's name, or a path such
    /// as `web/cache`) and starts its instances (Director's `start_child`). Checked with the
    /// manifest's rules first. A reload of the jobs directory keeps it; ``deleteChild(_:)`` of
    /// its key removes it. Returns the ids started.
    @discardableResult
    public func startChild(_ spec: JobSpec, in group: String) async throws(SupervisorError) -> [ChildID] {
        let errors = ManifestValidator.check([spec])
        guard errors.isEmpty else {
            throw SupervisorError(.invalidManifest, errors.map(\.description).joined(separator: "\n"))
        }
        let path = group.split(separator: "/").map(String.init)
        _ = try await ask { .startJob(spec, group: path, reply: $0) }
        let key = (path + [spec.name]).joined(separator: "/")
        return await whichChildren().map(\.id).filter { $0.description.hasPrefix(key + "/") }
    }

    /// Starts a stopped or waiting child again, or restarts a running one (OTP's
    /// `restart_child`; here it also restarts a running child, as `director restart` does).
    @discardableResult
    public func restartChild(_ id: String) async throws(SupervisorError) -> [ChildID] {
        try await ids(ask { .control(.restart(ids: [id]), reply: $0) })
    }

    /// Restarts the running instances selected by `prefix` one at a time per job (`director
    /// restart --rolling`): a spare instance numbered after the pool starts, and only once a
    /// new process is ready does an old one stop, within the job's `update.maxSurge` and
    /// `update.maxUnavailable`. Returns when the roll has begun; its `roll_done` or
    /// `roll_stopped` event says how it ended.
    @discardableResult
    public func rollingRestart(_ prefix: String) async throws(SupervisorError) -> [ChildID] {
        try await ids(ask { .control(.rollingRestart(ids: [prefix]), reply: $0) })
    }

    /// Stops children; they stay in the tree, stopped, until restarted (OTP's
    /// `terminate_child`).
    @discardableResult
    public func terminateChild(_ id: String) async throws(SupervisorError) -> [ChildID] {
        try await ids(ask { .control(.stop(ids: [id]), reply: $0) })
    }

    /// Removes stopped or waiting children from the tree (OTP's `delete_child`). For the key
    /// of a job added with ``startChild(_:in:)`` (`group/job`), stops its children and removes
    /// the job (Director's `terminate_and_delete_child`).
    @discardableResult
    public func deleteChild(_ id: String) async throws(SupervisorError) -> [ChildID] {
        let view = await treeView()
        if view.dynamicJobKeys.contains(id) {
            let before = view.children.map(\.id).filter { $0.description.hasPrefix(id + "/") }
            _ = try await ask { .removeJob(id, reply: $0) }
            return before
        }
        return try await ids(ask { .control(.delete(ids: [id]), reply: $0) })
    }

    /// Every child, in tree order, with its state, pid, restart count and last exit (OTP's
    /// `which_children`).
    public func whichChildren() async -> [ChildSnapshot] {
        await treeView().children
    }

    /// How many children there are, and in which states (OTP's `count_children`).
    public func countChildren() async -> ChildCounts {
        ChildCounts(await treeView().children)
    }

    /// The job spec of a child id or job key (OTP's `get_childspec`), or nil.
    public func childSpec(of id: String) async -> JobSpec? {
        let key = ChildID(id).map { ($0.groupPath + [$0.job]).joined(separator: "/") } ?? id
        return await treeView().manifest.jobsByKey.first { $0.key == key }?.job
    }

    /// The errors of job specs under the manifest's rules, without running anything (OTP's
    /// `check_childspecs`); empty when they are valid.
    public func checkChildSpecs(_ specs: [JobSpec]) -> [ManifestError] {
        ManifestValidator.check(specs)
    }

    /// Resizes a pool (`group/job`) to `instances`.
    @discardableResult
    public func scale(_ job: String, to instances: Int) async throws(SupervisorError) -> [ChildID] {
        try await ids(ask { .control(.scale(job: job, instances: instances), reply: $0) })
    }

    // MARK: The tree

    /// Replaces the tree with `manifest` (checked first), changing only what differs: as a
    /// hot reload, children of unchanged jobs keep running.
    public func reload(_ manifest: Manifest) async throws(SupervisorError) {
        let checked: Manifest
        do { checked = try ManifestValidator.validate(manifest) } catch {
            throw SupervisorError(.invalidManifest, error.errors.map(\.description).joined(separator: "\n"))
        }
        _ = try await ask { .replaceManifest(checked, reply: $0) }
    }

    /// Reads the jobs directory again and applies the difference (a supervisor built from
    /// a directory).
    public func reload() async throws(SupervisorError) {
        _ = try await ask { .control(.reload, reply: $0) }
    }

    /// Stops the tree in reverse order, each child with its job's `shutdown`; `run()` then
    /// returns. Returns once the stop has begun.
    public func shutdown() async throws(SupervisorError) {
        _ = try await ask { .control(.shutdown, reply: $0) }
    }

    /// Every event the supervisor records from now on (start, exit, restart, stop, ...), the
    /// same facts the table's `events` keeps. Each access is a new stream; it keeps at most
    /// the newest 10 000 events while its reader is slow, and ends when the tree has stopped.
    public var events: AsyncStream<SupervisorEvent> { hub.subscribe() }

    // MARK: -

    func treeView() async -> TreeView {
        await withCheckedContinuation { (continuation: CheckedContinuation<TreeView, Never>) in
            let posted = inbox.post(.view(reply: { continuation.resume(returning: $0) }))
            if !posted {
                continuation.resume(returning: TreeView(children: [], groups: [], manifest: Manifest(groups: []), dynamicJobKeys: []))
            }
        }
    }

    func ask(_ make: (@escaping @Sendable (ControlReply) -> Void) -> LoopRequest) async throws(SupervisorError) -> JSONValue {
        let reply = await withCheckedContinuation { (continuation: CheckedContinuation<ControlReply, Never>) in
            let posted = inbox.post(make { continuation.resume(returning: $0) })
            if !posted {
                continuation.resume(returning: .failure(ControlFailure(.shuttingDown, "the supervisor has stopped")))
            }
        }
        switch reply {
        case .ok(let result): return result
        case .failure(let failure): throw SupervisorError(.from(control: failure.code.rawValue), failure.message)
        }
    }

    func ids(_ result: JSONValue) -> [ChildID] {
        (result["ids"]?.arrayValue ?? []).compactMap { $0.stringValue.flatMap(ChildID.init) }
    }
}

/// How many children there are, and in which states (OTP's `count_children`).
public struct ChildCounts: Sendable, Hashable {
    /// Every child.
    public var total = 0
    /// Children with a live process (starting, running or stopping).
    public var active = 0
    /// By state.
    public var byState: [ChildState: Int] = [:]

    init(_ children: [ChildSnapshot]) {
        total = children.count
        for child in children {
            byState[child.state, default: 0] += 1
            if child.pid != nil { active += 1 }
        }
    }
}
