import DirectorCore
import DirectorManifest
import DirectorTable

// What the engine decides and the daemon only carries out: the carry-over it stores, the
// warnings it logs, the structured fields of its log lines. (Kept out of Supervisor.swift,
// whose event loop changes for other reasons.)
extension SupervisorRuntime {
    /// Writes the engine's carry-over (what survives a daemon restart) when it changed: the
    /// engine decides what it holds, the runtime only stores it.
    func saveCarryOver(force: Bool = false) {
        guard force || engine.carryOverRevision != savedCarryOver else { return }
        savedCarryOver = engine.carryOverRevision
        let decisions = OperatorDecisions(engine.carryOver)
        guard node != nil else {
            pendingChanges.append(.setMeta(.decisions, decisions.json))
            return
        }
        // On a shared table the other nodes' decisions stay: only the entries under this
        // node's groups (now, or in its previous run) are replaced, at commit time.
        ownedGroups.formUnion(manifest.groups.map(\.name))
        pendingChanges.append(.mergeMeta(.decisions, .decisions(decisions, groups: ownedGroups.sorted())))
    }

    /// Logs what would fail at once (a missing program or cwd), as `validate` reports it.
    func logWarnings(_ warnings: [ManifestWarning], context: String) {
        for w in warnings { log.log(.warning, id: w.job, "\(context)\(w.location.map { "\($0): " } ?? "")\(w.message)") }
    }
}

extension EventWording {
    /// An event's structured fields for JSON log lines (`kind` first; absent fields left out).
    static func fields(_ event: EventRecord) -> [(String, JSONValue)] {
        let f = event.fields
        var out: [(String, JSONValue)] = [("kind", .string(event.kind.rawValue))]
        if let pid = f.pid { out.append(("pid", .int(Int64(pid)))) }
        switch f.status {
        case .code(let c)?: out.append(("code", .int(Int64(c))))
        case .signal(let s)?: out.append(("signal", .string(s.name)))
        case nil: break
        }
        if let cause = f.cause { out.append(("cause", .string(cause.rawValue))) }
        if let requested = f.requested { out.append(("requested", .bool(requested))) }
        if let restarts = f.restarts { out.append(("restarts", .int(Int64(restarts)))) }
        if let delay = f.delay { out.append(("delay_ms", .int(delay.nanosecondsClamped / 1_000_000))) }
        if let rule = f.ruleIndex { out.append(("rule", .int(Int64(rule)))) }
        if let signal = f.signal { out.append(("sent_signal", .string(signal.name))) }
        if let reason = f.reason { out.append(("reason", .string(reason))) }
        return out
    }
}
