import DirectorCore
import DirectorManifest
import DirectorTable

// Engine snapshots → table records. The engine speaks monotonic instants; the table speaks
// wall-clock milliseconds.
extension SupervisorRuntime {
    func record(of s: ChildSnapshot) -> ChildRecord {
        let live = s.pid != nil
        return ChildRecord(
            id: s.id.description, group: s.id.group, job: s.id.job, instance: s.id.instance,
            state: ChildRecord.State(rawValue: s.state.rawValue) ?? .stopped,
            pid: s.pid, pgid: s.pid,
            startTicks: live ? startTicks[s.id] : nil,
            startedAt: s.startedAt.map(wall),
            restarts: s.restarts,
            lastExit: s.lastExit.map {
                ChildRecord.LastExit(Self.reason($0.status), at: wall($0.at), cause: ChildRecord.ExitCause(rawValue: $0.cause.rawValue))
            },
            nextRestartAt: s.nextRestartAt.map(wall),
            specHash: s.specHash,
            updatedAt: SystemClock.wallMilliseconds(), node: node, ready: s.ready, status: s.status)
    }

    func record(of g: GroupSnapshot) -> GroupRecord {
        GroupRecord(
            path: g.path, strategy: GroupRecord.Strategy(rawValue: g.strategy.rawValue) ?? .oneForOne,
            intensity: g.intensity, periodMillis: g.period.nanosecondsClamped / 1_000_000,
            restartsInPeriod: g.restartsInPeriod,
            state: GroupRecord.State(rawValue: g.state.rawValue) ?? .running, node: node)
    }

    static func reason(_ status: ChildExitStatus) -> ChildRecord.ExitReason {
        switch status {
        case .code(let c): .code(c)
        case .signal(let s): .signal(s.name)
        }
    }

    /// The `specs` rows for a manifest change: every job of `new` whose spec differs from
    /// `old` is written, every job of `old` that is gone is deleted.
    func specChanges(old: Manifest?, new: Manifest) -> [TableChange] {
        var previous: [String: JobSpec] = [:]
        for (key, job) in old?.jobsByKey ?? [] { previous[key] = job }
        var changes: [TableChange] = []
        for (key, job) in new.jobsByKey {
            if previous.removeValue(forKey: key) != job { changes.append(.putSpec(jobKey: key, spec: job.json)) }
        }
        for key in previous.keys.sorted() { changes.append(.deleteSpec(jobKey: key)) }
        return changes
    }
}
