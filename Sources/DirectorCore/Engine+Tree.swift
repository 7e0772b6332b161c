import DirectorManifest

// Building the tree from specs and walking it in declaration order.
extension Engine {
    /// Creates the records of `spec` (nested groups and jobs included) below `parentPath`.
    /// With `useRestored`, operator pool sizes and restart counts of the previous run apply.
    mutating func install(_ spec: GroupSpec, parentPath: [String], useRestored: Bool) {
        let path = parentPath + [spec.name]
        let key = path.joined(separator: "/")
        groupRecords[key] = GroupRecord(
            key: key, path: path, strategy: spec.strategy,
            window: RestartIntensity(intensity: spec.intensity, period: spec.period),
            entries: spec.children.map { child in
                switch child {
                case .job(let j): .job(j.name)
                case .group(let g): .group(g.name)
                }
            })
        for child in spec.children {
            switch child {
            case .job(let job): installJob(job, groupPath: path, useRestored: useRestored)
            case .group(let nested): install(nested, parentPath: path, useRestored: useRestored)
            }
        }
    }

    /// Creates a job record and its instances' child records (all `stopped`, unpublished).
    mutating func installJob(_ job: JobSpec, groupPath: [String], useRestored: Bool) {
        let jobKey = (groupPath + [job.name]).joined(separator: "/")
        let hash = job.stableHash
        var size = job.instances
        if useRestored, let scaled = restored.scaled[jobKey], scaled.specHash == hash {
            size = scaled.instances
            carryOver.scaled[jobKey] = scaled  // still the operator's decision
        }
        let shared = SharedSpec(job, hash: hash)
        jobRecords[jobKey] = JobRecord(shared: shared, size: size, slots: size)
        let groupKey = groupPath.joined(separator: "/")  // one string for all instances
        for i in 0..<size {
            let id = ChildID(groupPath: groupPath, job: job.name, instance: i)
            if var leaving = childRecords[id], leaving.isLive {
                // A reload brought back a job whose old process is still exiting: keep the
                // record and start the new spec once the old process is gone.
                leaving.setSpec(shared)
                childRecords[id] = leaving
                requestStop(id, intent: .restart(resetCount: false))
                continue
            }
            var rec = ChildRecord(id: id, groupKey: groupKey, shared: shared)
            if useRestored { rec.restarts = restored.restarts[id] ?? 0 }
            childRecords[id] = rec
        }
    }

    /// Child ids below the group `key` (nested groups included) in tree order.
    func childIDs(inGroup key: String) -> [ChildID] {
        var ids: [ChildID] = []
        collectChildIDs(inGroup: key, into: &ids)
        return ids
    }

    private func collectChildIDs(inGroup key: String, into ids: inout [ChildID]) {
        guard let group = groupRecords[key] else { return }
        for entry in group.entries {
            switch entry {
            case .job(let name): ids += instanceIDs(group: group, job: name)
            case .group(let name): collectChildIDs(inGroup: group.childKey(name), into: &ids)
            }
        }
    }

    /// The existing instances of one job of `group`, by number.
    func instanceIDs(group: GroupRecord, job name: String) -> [ChildID] {
        guard let job = jobRecords[group.childKey(name)] else { return [] }
        return (0..<job.slots).lazy
            .map { ChildID(groupPath: group.path, job: name, instance: $0) }
            .filter { childRecords[$0] != nil }
    }

    /// The group `key` and every group below it, parents first.
    func groupKeys(inSubtree key: String) -> [String] {
        guard let group = groupRecords[key] else { return [] }
        var keys = [key]
        for case .group(let name) in group.entries { keys += groupKeys(inSubtree: group.childKey(name)) }
        return keys
    }

    /// The members of a group as its strategy sees them: pool instances one by one, nested
    /// groups as units, in declaration order.
    func members(of key: String) -> [Member] {
        guard let group = groupRecords[key] else { return [] }
        var result: [Member] = []
        for entry in group.entries {
            switch entry {
            case .job(let name): result += instanceIDs(group: group, job: name).map(Member.child)
            case .group(let name): result.append(.group(group.childKey(name)))
            }
        }
        return result
    }

    /// The members a strategy restarts when `trigger` failed.
    func affectedMembers(of key: String, trigger: Member) -> [Member] {
        guard let group = groupRecords[key] else { return [] }
        switch group.strategy {
        case .oneForOne: return [trigger]
        case .oneForAll: return members(of: key)
        case .restForOne:
            let all = members(of: key)
            guard let index = all.firstIndex(of: trigger) else { return [trigger] }
            return Array(all[index...])
        }
    }
}
