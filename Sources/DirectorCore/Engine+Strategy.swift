import DirectorManifest

// Strategies, restart plans, group failure and the tree's shutdown.
//
// A *restart plan* of group G is OTP's "terminate the affected siblings, then start them
// again in order": every affected live child is stopped with intent `.plan(G)`; when it
// exits it is *held* (state `backoff`, `heldBy = G`). `planPending` counts what must still
// happen (exits, and the trigger's own restart delay). At zero, the plan starts every
// child held by G in tree order.
extension Engine {
    /// Counts a restart decided in group `key`; true when its intensity is now exceeded.
    mutating func recordRestart(in key: String) -> Bool {
        guard var group = groupRecords[key] else { return false }
        let exceeded = group.window.record(at: now)
        groupRecords[key] = group
        publishGroup(key)
        return exceeded
    }

    /// The group fails: it is stopped whole and restarted whole by its parent, which counts
    /// the restart; the root failing stops the tree with status 1 (`RootFailurePolicy.exit`)
    /// or gives the top-level group up (`giveUp`).
    ///
    /// `below` lists the groups whose failure escalated to this one, innermost first: as in
    /// OTP, each of them stops its own children on its way out before the parent stops the
    /// siblings it covers.
    mutating func failGroup(_ key: String, reason: String, code: String, below: [String] = []) {
        guard shutdownStatus == nil else { return }
        record(key, .groupFailed, reason, severity: .error, fields: EventFields(reason: code))
        guard let parent = groupRecords[key]?.parentKey else {
            beginShutdown(status: 1, reason: "root supervisor failed: \(reason)", first: below)
            return
        }
        let chain = below + [key]
        if parent.isEmpty && rootPolicy.onFailure == .giveUp {
            _ = recordRestart(in: parent)  // the root's row still shows how busy it is
            var window = rootWindows[key] ?? RestartIntensity(intensity: rootPolicy.intensity, period: rootPolicy.period)
            let exceeded = window.record(at: now)
            rootWindows[key] = window
            if exceeded {
                giveUp(key, failures: window.count(at: now), below: below)
                return
            }
        } else if recordRestart(in: parent) {
            failGroup(parent, reason: "restart intensity exceeded", code: "intensity", below: chain)
            return
        }
        cover(parent, members: affectedMembers(of: parent, trigger: .group(key)), trigger: .group(key), failing: chain)
    }

    /// Puts `members` of group `key` into its restart plan: live ones are stopped, exited
    /// ones are held. Nested groups are covered whole and start afresh.
    ///
    /// Stop order is OTP's: the children of the groups in `failing` first (innermost group
    /// first, each in reverse order: a failing supervisor terminates its own children before
    /// it exits), then the members in reverse order. Temporary children that are members of
    /// `key` itself (other than the trigger) are stopped for good: OTP never restarts them.
    mutating func cover(_ key: String, members: [Member], trigger: Member, failing: [String] = []) {
        guard groupRecords[key] != nil else { return }
        if groupRecords[key]?.planPending == nil { groupRecords[key]?.planPending = 0 }
        for case .group(let nested) in members {
            for sub in groupKeys(inSubtree: nested) {
                // Plans below are absorbed by this one; the group starts with a fresh window.
                groupRecords[sub]?.planPending = nil
                groupRecords[sub]?.state = .restarting
                groupRecords[sub]?.window.reset()
            }
        }
        for group in failing where group != key {
            for id in childIDs(inGroup: group).reversed() { coverChild(id, plan: key, strategyMember: false) }
        }
        for member in members.reversed() {
            switch member {
            case .child(let id):
                coverChild(id, plan: key, strategyMember: member != trigger)
            case .group(let nested):
                for id in childIDs(inGroup: nested).reversed() { coverChild(id, plan: key, strategyMember: false) }
                for sub in groupKeys(inSubtree: nested) { publishGroup(sub) }
            }
        }
        notePlan(key)
    }

    /// `strategyMember`: the child is a direct member of the plan's group, stopped by its
    /// strategy (not the trigger, not inside a nested group restarted whole).
    private mutating func coverChild(_ id: ChildID, plan key: String, strategyMember: Bool) {
        guard var rec = childRecords[id] else { return }
        switch rec.state {
        case .starting, .running, .stopping:
            switch rec.stopIntent {
            case nil, .plan, .restart, .failed: requestStop(id, intent: .plan(key))
            case .park, .remove, .shutdown, .giveUp: break  // leaving anyway; not restarted
            }
        case .backoff:
            detachFromPlan(&rec)
            childRecords[id] = rec
            if strategyMember && rec.spec.restart == .temporary {
                // Between processes (a rule restarts it later): the strategy does not.
                let strategy = groupRecords[key]?.strategy.rawValue ?? "restart"
                record(
                    id.description, .delete, "temporary child stopped by the \(strategy) restart of \(key), not restarted",
                    log: rec.spec.log.events.stop, fields: EventFields(reason: "temporary"))
                removeChild(id)
                return
            }
            rec.heldBy = key
            childRecords[id] = rec
            publish(rec)
        case .waiting, .stopped:
            break  // an operator decides about these
        }
    }

    // MARK: Giving a group up (root policy `giveUp`)

    /// The root gives the top-level group `key` up: plans in it are void, its children stop
    /// (reverse order) and stay `stopped`, its groups are `failed`. Nothing else changes.
    mutating func giveUp(_ key: String, failures: Int, below: [String] = []) {
        let period = DurationText.format(rootPolicy.period)
        record(
            key, .groupGivenUp,
            "group failed \(failures) times within \(period), more than the root allows (intensity "
                + "\(rootPolicy.intensity)); its children are stopped; `director start \(key)` starts it again",
            severity: .error, fields: EventFields(restarts: failures, reason: "root_intensity"))
        for sub in groupKeys(inSubtree: key) {
            groupRecords[sub]?.planPending = nil
            groupRecords[sub]?.state = .failed
            failedGroups.insert(sub)
        }
        // Failing nested groups stop their own children first (see `cover`).
        var order: [ChildID] = []
        for group in below { order += childIDs(inGroup: group).reversed() }
        order += childIDs(inGroup: key).reversed()
        var seen = Set<ChildID>()
        for id in order where seen.insert(id).inserted {
            guard var rec = childRecords[id] else { continue }
            switch rec.state {
            case .starting, .running, .stopping:
                switch rec.stopIntent {
                case nil, .plan, .restart, .failed: requestStop(id, intent: .giveUp)
                case .park, .remove, .shutdown, .giveUp: break
                }
            case .backoff:
                detachFromPlan(&rec)
                rec.state = .stopped
                rec.givenUp = true
                childRecords[id] = rec
                publish(rec)
            case .waiting, .stopped:
                break
            }
        }
        for sub in groupKeys(inSubtree: key) { publishGroup(sub) }
    }

    /// The top-level group of `key` (`web` for `web/cache`).
    func topLevelGroup(of key: String) -> String {
        key.split(separator: "/", maxSplits: 1).first.map(String.init) ?? key
    }

    /// Starts a group given up again, as a fresh supervisor: `running`, empty windows (its
    /// own and its count at the root), and every child the give-up stopped starts in tree
    /// order. Children an operator stopped, or left waiting, stay as they are.
    mutating func revive(_ key: String, why: String) {
        guard failedGroups.contains(key) else { return }
        for sub in groupKeys(inSubtree: key) {
            failedGroups.remove(sub)
            groupRecords[sub]?.state = .running
            groupRecords[sub]?.window.reset()
        }
        rootWindows[key] = nil
        record(key, .groupStarted, "\(why); fresh restart window", fields: EventFields(reason: "revived"))
        for sub in groupKeys(inSubtree: key) { publishGroup(sub) }
        for id in childIDs(inGroup: key) {
            guard let rec = childRecords[id] else { continue }
            if rec.isLive, rec.stopIntent == .giveUp {
                requestStop(id, intent: .restart(resetCount: true))  // still stopping: it comes back
            } else if rec.givenUp {
                childRecords[id]?.restarts = 0
                spawn(id)
            }
        }
    }

    /// One pending step of group `key`'s plan is done.
    mutating func releasePlanSlot(_ key: String) {
        guard let pending = groupRecords[key]?.planPending else { return }
        groupRecords[key]?.planPending = max(0, pending - 1)
        notePlan(key)
    }

    /// Notes that group `key`'s plan may be due, once.
    private mutating func notePlan(_ key: String) {
        if !plansToCheck.contains(key) { plansToCheck.append(key) }
    }

    /// Runs every plan whose pending count reached zero (called before effects are returned,
    /// so a plan never starts halfway through covering its members), in the order they were
    /// noted.
    mutating func settlePlans() {
        while !plansToCheck.isEmpty {
            let key = plansToCheck.removeFirst()
            guard shutdownStatus == nil, groupRecords[key]?.planPending == 0 else { continue }
            runPlan(key)
        }
    }

    /// Starts, in tree order, every child held by the plan of group `key`.
    private mutating func runPlan(_ key: String) {
        groupRecords[key]?.planPending = nil
        startInOrder(childIDs(inGroup: key).filter { childRecords[$0]?.heldBy == key })
        for sub in groupKeys(inSubtree: key) where sub != key && groupRecords[sub]?.state == .restarting {
            groupRecords[sub]?.state = .running
            publishGroup(sub)
        }
    }

    // MARK: Shutdown

    /// Stops every child in reverse tree order; `.exit(status:)` follows the last exit.
    /// `first`: failing groups whose children stop before the rest (innermost first), as a
    /// failing OTP supervisor terminates its own children before the root terminates others.
    mutating func beginShutdown(status: Int32, reason: String, first: [String] = []) {
        guard shutdownStatus == nil else { return }
        shutdownStatus = status
        record("", .shutdown, reason, severity: status == 0 ? .info : .error)
        var order: [ChildID] = []
        for group in first { order += childIDs(inGroup: group).reversed() }
        order += childIDs(inGroup: "").reversed()
        var seen = Set<ChildID>()
        var live = 0
        for id in order where seen.insert(id).inserted {
            guard var rec = childRecords[id] else { continue }
            if rec.isLive {
                live += 1
                rec.stopIntent = nil  // plans are void now; the shutdown intent takes over
                childRecords[id] = rec
                requestStop(id, intent: .shutdown)
            } else if rec.state == .backoff {
                detachFromPlan(&rec)
                rec.state = .stopped
                childRecords[id] = rec
                publish(rec)
            }
        }
        // Children of removed jobs are not in the walk above but may still be live.
        for (id, rec) in childRecords where rec.isLive && rec.stopIntent != .shutdown {
            live += 1
            childRecords[id]?.stopIntent = nil
            requestStop(id, intent: .shutdown)
        }
        for key in groupRecords.keys { groupRecords[key]?.planPending = nil }
        liveDuringShutdown = live
        if live == 0 { finishShutdown() }
    }

    mutating func finishShutdown() {
        guard !hasExited, let status = shutdownStatus else { return }
        for key in groupKeys(inSubtree: "") {
            groupRecords[key]?.state = .stopped
            publishGroup(key)
        }
        hasExited = true
        emit(.exit(status: status))
    }
}
