#if canImport(Glibc)
import Glibc
#endif
import DirectorCore
import DirectorManifest
import DirectorTable
import Synchronization

/// A request from another thread (a `SupervisorHandle`), carried by the `LoopInbox`; its
/// answer goes back through the closure it holds, called once on the loop.
package enum LoopRequest: Sendable {
    /// What the control socket can ask (stop, start, restart, delete, scale, reload, shutdown):
    /// the handle and the socket share this one path from request to engine command.
    case control(ControlRequest, reply: @Sendable (ControlReply) -> Void)
    /// The tree as it is now (for `whichChildren`, `countChildren`, `childSpec`).
    case view(reply: @Sendable (TreeView) -> Void)
    /// A job in no manifest, added to `group` and started (the Erlang library's
    /// `start_child`).
    case startJob(JobSpec, group: [String], reply: @Sendable (ControlReply) -> Void)
    /// A job added by `startJob` removed: its children stop and leave the table.
    case removeJob(String, reply: @Sendable (ControlReply) -> Void)
    /// A new manifest built in code replaces the current one (children of unchanged jobs keep
    /// running, as with any reload).
    case replaceManifest(Manifest, reply: @Sendable (ControlReply) -> Void)
    /// Kill every child now and stop (the host cancelled the supervisor).
    case kill
}

/// The tree as the loop saw it when a `view` request was handled.
package struct TreeView: Sendable {
    package var children: [ChildSnapshot]
    package var groups: [GroupSnapshot]
    /// The manifest applied, with the jobs added through the handle.
    package var manifest: Manifest
    /// Keys (`group/job`) of the jobs added through the handle.
    package var dynamicJobKeys: Set<String>

    package init(children: [ChildSnapshot], groups: [GroupSnapshot], manifest: Manifest, dynamicJobKeys: Set<String>) {
        self.children = children
        self.groups = groups
        self.manifest = manifest
        self.dynamicJobKeys = dynamicJobKeys
    }
}

/// One event the supervisor recorded, as the handle's `events` delivers it.
public struct SupervisorEvent: Sendable, Hashable {
    /// Wall-clock time, milliseconds since the epoch.
    public var at: Int64
    /// The child id, group path, or empty for the supervisor.
    public var subject: String
    /// What happened.
    public var kind: EventKind
    /// The table's `detail` text.
    public var detail: String
    /// The same facts as data.
    public var fields: EventFields
    /// How much it matters.
    public var severity: Severity
}

/// Hands every recorded event to the current subscribers (each an `AsyncStream` that keeps
/// at most its newest `buffer` events when its reader is slow: memory stays bounded).
package final class EventHub: Sendable {
    private struct State {
        var next: UInt64 = 0
        var subscribers: [UInt64: AsyncStream<SupervisorEvent>.Continuation] = [:]
        var finished = false
    }

    private let state = Mutex(State())
    /// Read on every event without the lock: most supervisors have no subscriber.
    private let subscriberCount = Atomic<Int>(0)
    package let buffer: Int

    package init(buffer: Int = 10_000) { self.buffer = buffer }

    /// A new stream of every event from now on; it ends when the supervisor stops.
    package func subscribe() -> AsyncStream<SupervisorEvent> {
        let (stream, continuation) = AsyncStream.makeStream(of: SupervisorEvent.self, bufferingPolicy: .bufferingNewest(buffer))
        let key: UInt64? = state.withLock { state in
            guard !state.finished else { return nil }
            let key = state.next
            state.next += 1
            state.subscribers[key] = continuation
            subscriberCount.store(state.subscribers.count, ordering: .relaxed)
            return key
        }
        guard let key else {
            continuation.finish()
            return stream
        }
        continuation.onTermination = { [weak self] _ in
            guard let self else { return }
            self.state.withLock { state in
                state.subscribers[key] = nil
                self.subscriberCount.store(state.subscribers.count, ordering: .relaxed)
            }
        }
        return stream
    }

    /// True when someone listens (checked before an event is built).
    package var hasSubscribers: Bool { subscriberCount.load(ordering: .relaxed) > 0 }

    package func publish(_ event: SupervisorEvent) {
        let targets = state.withLock { Array($0.subscribers.values) }
        for continuation in targets { continuation.yield(event) }
    }

    /// Ends every stream; later subscribers get an empty one.
    package func finish() {
        let targets = state.withLock { state in
            state.finished = true
            let all = Array(state.subscribers.values)
            state.subscribers.removeAll()
            subscriberCount.store(0, ordering: .relaxed)
            return all
        }
        for continuation in targets { continuation.finish() }
    }
}

extension SupervisorRuntime {
    /// On the loop: answers everything the handles asked since the last turn, in order.
    func handleRequests() {
        guard let inbox else { return }
        for request in inbox.take() { handle(request) }
    }

    func handle(_ request: LoopRequest) {
        switch request {
        case .control(let control, let reply):
            reply(self.reply(to: control))
        case .view(let reply):
            reply(TreeView(
                children: engine.children, groups: engine.groups, manifest: manifest,
                dynamicJobKeys: Set(dynamicJobs.map { ($0.group + [$0.job.name]).joined(separator: "/") })))
        case .startJob(let job, let group, let reply):
            reply(startJob(job, in: group))
        case .removeJob(let key, let reply):
            reply(removeJob(key))
        case .replaceManifest(let new, let reply):
            reply(apply(manifest: new, trigger: "handle"))
        case .kill:
            killTree()
        }
    }

    /// At the end of the run: requests still queued are refused, and the inbox takes no more
    /// (a handle then answers for itself).
    func finishRequests() {
        events?.finish()
        guard let inbox else { return }
        let failure = ControlReply.failure(ControlFailure(.shuttingDown, "the supervisor has stopped"))
        for request in inbox.close() {
            switch request {
            case .control(_, let reply), .startJob(_, _, let reply), .removeJob(_, let reply), .replaceManifest(_, let reply):
                reply(failure)
            case .view(let reply):
                reply(TreeView(children: engine.children, groups: engine.groups, manifest: manifest, dynamicJobKeys: []))
            case .kill:
                continue
            }
        }
    }

    // MARK: - Jobs in no manifest

    /// `manifest` with the jobs added through the handle put back into their groups (a reload
    /// of the jobs directory keeps them).
    func withDynamicJobs(_ base: Manifest) -> Manifest {
        var result = base
        for entry in dynamicJobs { _ = Self.insert(entry.job, at: entry.group, into: &result) }
        return result
    }

    /// Runs `edit` on the group at `path` (a top-level group's name, then nested ones) of
    /// `manifest`; false when there is no such group or `edit` says so.
    static func editGroup(at path: [String], in manifest: inout Manifest, _ edit: (inout GroupSpec) -> Bool) -> Bool {
        func descend(_ group: inout GroupSpec, _ rest: ArraySlice<String>) -> Bool {
            guard let next = rest.first else { return edit(&group) }
            for i in group.children.indices {
                if case .group(var nested) = group.children[i], nested.name == next {
                    let done = descend(&nested, rest.dropFirst())
                    group.children[i] = .group(nested)
                    return done
                }
            }
            return false
        }
        guard let first = path.first, let index = manifest.groups.firstIndex(where: { $0.name == first }) else { return false }
        return descend(&manifest.groups[index], path.dropFirst())
    }

    /// Adds `job` to the group at `path`; false when there is no such group or it has a child
    /// of that name.
    static func insert(_ job: JobSpec, at path: [String], into manifest: inout Manifest) -> Bool {
        editGroup(at: path, in: &manifest) { group in
            guard !group.children.contains(where: { $0.name == job.name }) else { return false }
            group.children.append(.job(job))
            return true
        }
    }

    func startJob(_ job: JobSpec, in group: [String]) -> ControlReply {
        let key = (group + [job.name]).joined(separator: "/")
        var candidate = manifest
        guard Self.insert(job, at: group, into: &candidate) else {
            let exists = manifest.groups.contains { $0.name == group.first }
            return .failure(ControlFailure(
                exists ? ControlFailure.Code(rawValue: "already_present") : .notFound,
                exists ? "\(key) already exists (or its group \(group.joined(separator: "/")) does not)" : "no group \(group.joined(separator: "/"))"))
        }
        dynamicJobs.append((group, job))
        let reply = apply(manifest: candidate, trigger: "start_child")
        if case .failure = reply { dynamicJobs.removeLast() }
        return reply
    }

    func removeJob(_ key: String) -> ControlReply {
        guard let index = dynamicJobs.firstIndex(where: { ($0.group + [$0.job.name]).joined(separator: "/") == key }) else {
            return .failure(ControlFailure(.notFound, "\(key) is not a job started through the handle"))
        }
        let entry = dynamicJobs.remove(at: index)
        var candidate = manifest
        Self.remove(entry.job.name, at: entry.group, from: &candidate)
        let reply = apply(manifest: candidate, trigger: "delete_child")
        if case .failure = reply { dynamicJobs.insert(entry, at: index) }
        return reply
    }

    /// Removes the job `name` from the group at `path`, if both are there.
    static func remove(_ name: String, at path: [String], from manifest: inout Manifest) {
        _ = editGroup(at: path, in: &manifest) { group in
            group.children.removeAll { if case .job(let j) = $0 { j.name == name } else { false } }
            return true
        }
    }

    /// Applies a manifest from code (checked by the caller) as a reload.
    func apply(manifest new: Manifest, trigger: String) -> ControlReply {
        switch applyReload(withDynamicJobs(new), trigger: trigger) {
        case .success(let summary): return .ok(Self.summaryJSON(summary, generation: reloadGeneration))
        case .failure(let errors):
            return .failure(ControlFailure(
                ControlFailure.Code(rawValue: "invalid_manifest"), errors.errors.map(\.description).joined(separator: "\n")))
        }
    }

    static func summaryJSON(_ summary: ReloadSummary, generation: Int) -> JSONValue {
        .object([
            ("generation", .int(Int64(generation))), ("started", .int(Int64(summary.started))),
            ("stopped", .int(Int64(summary.stopped))), ("restarted", .int(Int64(summary.restarted))),
            ("scaled", .int(Int64(summary.scaled))), ("updated_in_place", .int(Int64(summary.updatedInPlace))),
            ("rolling", .int(Int64(summary.rolling))),
        ])
    }
}
