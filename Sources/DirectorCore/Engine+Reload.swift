import DirectorManifest

// Hot reload: apply the minimal difference between the running manifest and a new one.
extension Engine {
    /// Applies a new, validated manifest: removed jobs and groups stop (reverse order) and
    /// leave the table, changed processes restart, changed pools scale, policy changes apply
    /// in place, new jobs and groups start (tree order). Untouched children are not touched.
    public mutating func reload(_ new: Manifest, at now: Instant) -> (ReloadSummary, [Effect]) {
        begin(now)
        var summary = ReloadSummary()
        guard shutdownStatus == nil else { return (summary, finish()) }
        let diff = ManifestDiff.between(manifest, new)

        // 1. Stop what is gone, in reverse tree order.
        for key in diff.removedGroups.reversed() where groupRecords[key] != nil {
            let ids = childIDs(inGroup: key)
            for id in ids.reversed() { retire(id) }
            summary.stopped += ids.count
            for sub in groupKeys(inSubtree: key).reversed() {
                dropJobs(ofGroup: sub)
                groupRecords[sub] = nil
                emit(.groupRemoved(sub))
            }
        }
        for jobKey in diff.removedJobs.reversed() {
            guard let job = jobRecords[jobKey], let groupPath = ChildID(jobKey + "/0")?.groupPath else { continue }
            let ids = (0..<job.slots).map { ChildID(groupPath: groupPath, job: job.spec.name, instance: $0) }
                .filter { childRecords[$0] != nil }
            jobRecords[jobKey] = nil
            rememberScale(jobKey, nil)
            for id in ids.reversed() { retire(id) }
            summary.stopped += ids.count
        }
        for key in diff.removedGroups {
            failedGroups.remove(key)
            rootWindows[key] = nil
        }

        // 2. Bring the tree's shape and policies up to date; collect what must start.
        var toStart: [ChildID] = []
        var newGroups: [String] = []
        groupRecords[""]?.entries = new.groups.map { .group($0.name) }
        for group in new.groups {
            apply(group, parentPath: [], summary: &summary, toStart: &toStart, newGroups: &newGroups)
        }
        summary.updatedInPlace += diff.updatedGroups.count
        for key in diff.updatedGroups { publishGroup(key) }

        // A group given up that this reload changes starts again, as a fresh supervisor.
        for key in failedGroups.filter({ !$0.contains("/") }).sorted() where diff.touches(key) {
            revive(key, why: "changed by reload")
        }

        // 3. Start what is new, in tree order.
        for key in newGroups { for sub in groupKeys(inSubtree: key) { publishGroup(sub) } }
        startInOrder(toStart)

        manifest = new
        // Not logged here: the runtime logs each reload once, with its trigger and generation.
        record(
            "", .reload,
            "started=\(summary.started) stopped=\(summary.stopped) restarted=\(summary.restarted) "
                + "scaled=\(summary.scaled) updated_in_place=\(summary.updatedInPlace) rolling=\(summary.rolling)", log: false)
        return (summary, finish())
    }

    private mutating func apply(
        _ spec: GroupSpec, parentPath: [String], summary: inout ReloadSummary, toStart: inout [ChildID],
        newGroups: inout [String]
    ) {
        let path = parentPath + [spec.name]
        let key = path.joined(separator: "/")
        guard groupRecords[key] != nil else {
            install(spec, parentPath: parentPath, useRestored: false)
            newGroups.append(key)
            let ids = childIDs(inGroup: key)
            summary.started += ids.count
            toStart += ids
            return
        }
        groupRecords[key]?.strategy = spec.strategy
        groupRecords[key]?.window.intensity = spec.intensity
        groupRecords[key]?.window.period = spec.period
        groupRecords[key]?.entries = spec.children.map { child in
            switch child {
            case .job(let j): .job(j.name)
            case .group(let g): .group(g.name)
            }
        }
        for child in spec.children {
            switch child {
            case .job(let job):
                let jobKey = key + "/" + job.name
                if jobRecords[jobKey] == nil {
                    installJob(job, groupPath: path, useRestored: false)
                    if let group = groupRecords[key] {
                        let ids = instanceIDs(group: group, job: job.name)
                        summary.started += ids.count
                        toStart += ids
                    }
                } else {
                    update(jobKey, to: job, groupPath: path, summary: &summary, toStart: &toStart)
                }
            case .group(let nested):
                apply(nested, parentPath: path, summary: &summary, toStart: &toStart, newGroups: &newGroups)
            }
        }
    }

    /// A job present before and after: new spec in place; restart when the process changed
    /// (children in backoff or waiting start at once; with `update: rolling` the running ones
    /// roll, Engine+Rolling.swift); scale when `instances` changed.
    private mutating func update(
        _ jobKey: String, to new: JobSpec, groupPath: [String], summary: inout ReloadSummary, toStart: inout [ChildID]
    ) {
        guard var job = jobRecords[jobKey], job.spec != new else { return }
        let old = job.spec
        let processChanged = new.processDiffers(from: old)
        let rolling = processChanged && new.update.mode == .rolling
        if !rolls.isEmpty, rolls[jobKey] != nil {
            // A roll in progress: a new process or a new size ends it (its spares leave); a
            // policy change carries on with the new policy.
            if processChanged {
                stopRoll(jobKey, reason: "the job changed again (reload)", code: "replaced")
            } else if new.instances != old.instances {
                stopRoll(jobKey, reason: "the pool was resized by a reload", code: "scaled")
            }
        }
        job.shared = SharedSpec(new)
        jobRecords[jobKey] = job
        if !rolls.isEmpty { rolls[jobKey]?.target = job.shared }
        let stillOld = Set(rolls[jobKey]?.pending ?? [])
        // The job's manifest changed: decisions taken under the old one end.
        rememberScale(jobKey, nil)
        var toRoll: [Int] = []
        for i in 0..<job.slots {
            let id = ChildID(groupPath: groupPath, job: new.name, instance: i)
            guard var rec = childRecords[id] else { continue }
            forget(&rec)
            if rolling && rec.specHash == job.shared.hash {
                // It runs this very spec already (the manifest went back after a roll that
                // stopped): nothing to replace.
                rec.setSpec(job.shared)
                childRecords[id] = rec
                publish(rec)
                continue
            }
            if rolling && i < job.size && (rec.state == .starting || rec.state == .running) && rec.stopIntent == nil {
                // It keeps its old spec (policies included) until the roll replaces it.
                childRecords[id] = rec
                summary.restarted += 1
                toRoll.append(i)
                continue
            }
            if stillOld.contains(i) {
                // A policy change during a roll: the old process keeps its old spec until
                // its turn comes.
                childRecords[id] = rec
                continue
            }
            rec.setSpec(job.shared)
            guard processChanged else {
                childRecords[id] = rec
                // `health:` is policy: a ready child that had no checks gets them now (one
                // with checks reads the new spec at its next check).
                if new.health != nil, old.health == nil, rec.state == .running, rec.ready, rec.stopIntent == nil,
                    probes[id]?.timerArmed != true, probes[id]?.inFlight != true
                {
                    startHealth(rec)
                }
                publish(rec)
                continue
            }
            switch rec.state {
            case .starting, .running, .stopping:
                childRecords[id] = rec
                publish(rec)
                switch rec.stopIntent {
                case nil, .restart, .failed:
                    summary.restarted += 1
                    requestStop(id, intent: .restart(resetCount: false))
                case .plan, .park, .remove, .shutdown, .giveUp:
                    break  // it restarts with the new spec anyway, or is leaving
                }
            case .backoff where rec.heldBy == nil, .waiting:
                // Its job changed: the old process's delay or wait no longer applies, the new
                // process starts now (a child held by a restart plan waits for the plan).
                detachFromPlan(&rec)
                childRecords[id] = rec
                summary.restarted += 1
                record(id.description, .restart, "job changed by reload", log: new.log.events.restart)
                toStart.append(id)
            case .backoff, .stopped:
                childRecords[id] = rec
                publish(rec)
            }
        }
        if new.instances != old.instances {
            summary.scaled += 1
            toStart += resize(jobKey, to: new.instances).created
        }
        if rolling, let size = jobRecords[jobKey]?.size {
            // Instances a smaller pool no longer has are leaving (resize stopped them).
            let instances = toRoll.filter { $0 < size }
            summary.restarted -= toRoll.count - instances.count
            if !instances.isEmpty { summary.rolling += 1 }
            beginRoll(jobKey, instances: instances, target: job.shared, policy: new.update, resetCount: false, trigger: "reload")
        }
        var sameSize = old
        sameSize.instances = new.instances
        if sameSize.definitionDiffers(from: new) && !processChanged { summary.updatedInPlace += 1 }
    }

    /// Stops a child for good: it leaves the table once its process is gone.
    private mutating func retire(_ id: ChildID) {
        guard let rec = childRecords[id] else { return }
        if rec.isLive {
            if rec.stopIntent != .shutdown { requestStop(id, intent: .remove) }
        } else {
            removeChild(id)
        }
    }

    private mutating func dropJobs(ofGroup key: String) {
        guard let group = groupRecords[key] else { return }
        for case .job(let name) in group.entries { jobRecords[group.childKey(name)] = nil }
    }
}
