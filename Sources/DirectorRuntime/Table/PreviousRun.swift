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

    /// Reads everything at start, before anything writes the table (so the separate reads
    /// agree with one another); an unreadable table means a fresh start. Any table will do
    /// (it only reads, so a reader is all it asks for): one that keeps nothing across runs
    /// (`InMemoryTable`) simply has no previous run.
    ///
    /// On a table several daemons share (DESIGN §4.1) only this node's rows are its previous
    /// run: the rows of `node`, rows without a node (the single-daemon layout's, adopted), and
    /// the rows under `claiming` (this manifest's top-level groups: no live node owns them, the
    /// start checked, so a dead node's processes in them are this daemon's to terminate).
    /// Specs carry no node: a spec is this node's when its job's group is. Without a node
    /// every row is this daemon's, as before nodes existed.
    static func read(from table: any ChildTableReader, node: String? = nil, claiming: Set<String> = []) -> PreviousRun {
        var run = PreviousRun()
        func isMine(_ rowNode: String?, _ path: String) -> Bool {
            guard let node, let rowNode else { return true }
            return rowNode == node || path.split(separator: "/", maxSplits: 1).first.map { claiming.contains(String($0)) } == true
        }
        run.children = ((try? table.children()) ?? []).filter { isMine($0.node, $0.group) }
        run.groups = ((try? table.groups()) ?? []).filter { isMine($0.node, $0.path) }
        let ownGroups = Set(run.groups.map(\.path))
        for key in (try? table.specKeys()) ?? [] {
            if node != nil {
                guard let slash = key.lastIndex(of: "/"), ownGroups.contains(String(key[..<slash])) else { continue }
            }
            if let spec = try? table.spec(jobKey: key) { run.specs[key] = spec }
        }
        if let value = try? table.meta(.decisions) { run.decisions = OperatorDecisions(json: value) }
        run.reloadGeneration = (try? table.reloadInfo())?.generation ?? 0
        return run
    }

    /// The engine's view: the decisions the previous engine carried over (`Engine.carryOver`,
    /// stored as `meta.decisions`; the engine honours those whose job hash still matches),
    /// plus the rows' restart counters and last exits (with their causes). `instant` maps the table's wall-clock
    /// times onto this run's monotonic clock.
    func restoredState(instant: (UnixMillis) -> Instant) -> RestoredState {
        func ids(_ texts: [String: String]) -> [ChildID: String] {
            var result: [ChildID: String] = [:]
            for (text, hash) in texts { if let id = ChildID(text) { result[id] = hash } }
            return result
        }
        var scaled: [String: RestoredState.ScaledPool] = [:]
        for (job, s) in decisions.scaled { scaled[job] = .init(instances: s.instances, specHash: s.specHash) }
        var restarts: [ChildID: Int] = [:]
        var lastExits: [ChildID: RestoredState.LastExit] = [:]
        for row in children {
            guard let id = ChildID(row.id) else { continue }
            if row.restarts > 0 { restarts[id] = row.restarts }
            if let exit = row.lastExit {
                let status: ChildExitStatus
                switch exit.reason {
                case .code(let c): status = .code(c)
                case .signal(let name): status = .signal(ProcessSignal(name: name) ?? .kill)
                }
                // A word this version does not know (a newer daemon's) is as good as none.
                lastExits[id] = .init(status: status, at: instant(exit.at), cause: exit.cause.flatMap { ExitCause(rawValue: $0.rawValue) })
            }
        }
        return RestoredState(
            stopped: ids(decisions.stopped), waiting: ids(decisions.waiting), scaled: scaled, restarts: restarts,
            lastExits: lastExits)
    }

    /// Deletions for rows the new tree does not have (removed jobs, shrunk pools, old groups).
    func staleRows(children live: Set<String>, groups liveGroups: Set<String>) -> [TableChange] {
        children.filter { !live.contains($0.id) }.map { .deleteChild(id: $0.id) }
            + groups.filter { !liveGroups.contains($0.path) }.map { .deleteGroup(path: $0.path) }
    }
}

extension OperatorDecisions {
    /// The engine's carry-over (`Engine.carryOver`) as stored in `meta.decisions`.
    init(_ carried: RestoredState) {
        var stopped: [String: String] = [:]
        for (id, hash) in carried.stopped { stopped[id.description] = hash }
        var waiting: [String: String] = [:]
        for (id, hash) in carried.waiting { waiting[id.description] = hash }
        var scaled: [String: Scale] = [:]
        for (job, pool) in carried.scaled { scaled[job] = Scale(instances: pool.instances, specHash: pool.specHash) }
        self.init(stopped: stopped, waiting: waiting, scaled: scaled)
    }
}
