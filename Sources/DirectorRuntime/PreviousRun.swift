import DirectorCore
import DirectorManifest
import DirectorTable

/// What a previous daemon left in the table, read once at start: the rows of its children
/// (to find leftover processes), the specs they ran under, operator decisions and the reload
/// generation.
struct PreviousRun {
    var children: [ChildRecord] = []
    var groups: [GroupRecord] = []
    var specs: [String: JSONValue] = [:]
    var decisions = OperatorDecisions()
    var reloadGeneration = 0

    /// Reads everything in one snapshot; an unreadable table means a fresh start.
    static func read(from table: LMDBTable) -> PreviousRun {
        var run = PreviousRun()
        run.children = (try? table.children()) ?? []
        run.groups = (try? table.groups()) ?? []
        for key in (try? table.specKeys()) ?? [] {
            if let spec = try? table.spec(jobKey: key) { run.specs[key] = spec }
        }
        if let value = try? table.meta(.decisions) { run.decisions = OperatorDecisions(json: value) }
        run.reloadGeneration = (try? table.reloadInfo())?.generation ?? 0
        return run
    }

    /// The engine's view: decisions whose job hash still matches are honoured (the engine
    /// checks the hash), restart counters carry over.
    func restoredState() -> RestoredState {
        var stopped: [ChildID: String] = [:]
        for (text, hash) in decisions.stopped {
            if let id = ChildID(text) { stopped[id] = hash }
        }
        var scaled: [String: RestoredState.ScaledPool] = [:]
        for (job, s) in decisions.scaled { scaled[job] = .init(instances: s.instances, specHash: s.specHash) }
        var restarts: [ChildID: Int] = [:]
        for row in children where row.restarts > 0 {
            if let id = ChildID(row.id) { restarts[id] = row.restarts }
        }
        return RestoredState(stopped: stopped, scaled: scaled, restarts: restarts)
    }

    /// Deletions for rows the new tree does not have (removed jobs, shrunk pools, old groups).
    func staleRows(children live: Set<String>, groups liveGroups: Set<String>) -> [TableChange] {
        children.filter { !live.contains($0.id) }.map { .deleteChild(id: $0.id) }
            + groups.filter { !liveGroups.contains($0.path) }.map { .deleteGroup(path: $0.path) }
    }
}

extension OperatorDecisions {
    /// Drops decisions about jobs whose spec changed or that are gone from `manifest`.
    mutating func prune(keeping manifest: Manifest) {
        var hashes: [String: String] = [:]
        for (key, job) in manifest.jobsByKey { hashes[key] = job.stableHash }
        stopped = stopped.filter { id, hash in ChildID(id).map { hashes[$0.jobKey] == hash } ?? false }
        scaled = scaled.filter { job, s in hashes[job] == s.specHash }
    }
}
