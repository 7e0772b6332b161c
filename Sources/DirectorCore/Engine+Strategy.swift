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
    /// the restart; the root failing stops the tree with status 1.
    mutating func failGroup(_ key: String, reason: String) {
        guard shutdownStatus == nil else { return }
        record(key, .groupFailed, reason)
        guard let parent = groupRecords[key]?.parentKey else {
            beginShutdown(status: 1, reason: "root supervisor failed: \(reason)")
            return
        }
        if recordRestart(in: parent) {
            failGroup(parent, reason: "restart intensity exceeded")
            return
        }
        cover(parent, members: affectedMembers(of: parent, trigger: .group(key)))
    }

    /// Puts `members` of group `key` into its restart plan: live ones are stopped (reverse
    /// order), exited ones are held. Nested groups are covered whole and start afresh.
    mutating func cover(_ key: String, members: [Member]) {
        guard groupRecords[key] != nil else { return }
        if groupRecords[key]?.planPending == nil { groupRecords[key]?.planPending = 0 }
        for member in members.reversed() {
            switch member {
            case .child(let id):
                coverChild(id, plan: key)
            case .group(let nested):
                for sub in groupKeys(inSubtree: nested) {
                    // Plans below are absorbed by this one.
                    groupRecords[sub]?.planPending = nil
                    groupRecords[sub]?.state = .restarting
                    groupRecords[sub]?.window.reset()
                }
                for id in childIDs(inGroup: nested).reversed() { coverChild(id, plan: key) }
                for sub in groupKeys(inSubtree: nested) { publishGroup(sub) }
            }
        }
        plansToCheck.insert(key)
    }

    private mutating func coverChild(_ id: ChildID, plan key: String) {
        guard var rec = childRecords[id] else { return }
        switch rec.state {
        case .starting, .running, .stopping:
            switch rec.stopIntent {
            case nil, .plan, .restart: requestStop(id, intent: .plan(key))
            case .park, .remove, .shutdown: break  // leaving anyway; not restarted
            }
        case .backoff:
            detachFromPlan(&rec)
            rec.heldBy = key
            childRecords[id] = rec
            publish(rec)
        case .waiting, .stopped:
            break  // an operator decides about these
        }
    }

    /// One pending step of group `key`'s plan is done.
    mutating func releasePlanSlot(_ key: String) {
        guard let pending = groupRecords[key]?.planPending else { return }
        groupRecords[key]?.planPending = max(0, pending - 1)
        plansToCheck.insert(key)
    }

    /// Runs every plan whose pending count reached zero (called before effects are returned,
    /// so a plan never starts halfway through covering its members).
    mutating func settlePlans() {
        while let key = plansToCheck.popFirst() {
            guard shutdownStatus == nil, groupRecords[key]?.planPending == 0 else { continue }
            runPlan(key)
        }
    }

    /// Starts, in tree order, every child held by the plan of group `key`.
    private mutating func runPlan(_ key: String) {
        groupRecords[key]?.planPending = nil
        for id in childIDs(inGroup: key) where childRecords[id]?.heldBy == key { spawn(id) }
        for sub in groupKeys(inSubtree: key) where sub != key && groupRecords[sub]?.state == .restarting {
            groupRecords[sub]?.state = .running
            publishGroup(sub)
        }
    }

    // MARK: Shutdown

    /// Stops every child in reverse tree order; `.exit(status:)` follows the last exit.
    mutating func beginShutdown(status: Int32, reason: String) {
        guard shutdownStatus == nil else { return }
        shutdownStatus = status
        record("", .shutdown, reason)
        var live = 0
        for id in childIDs(inGroup: "").reversed() {
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
