#if canImport(Glibc)
import Glibc
#endif
import DirectorCore
import DirectorManifest
import DirectorTable

// Operator commands from the control socket, and reloads (socket, SIGHUP, inotify).
extension SupervisorRuntime {
    func onControl(_ request: ControlRequest, _ responder: ControlResponder) {
        responder.reply(reply(to: request))
    }

    func reply(to request: ControlRequest) -> ControlReply {
        let now = SystemClock.monotonic()
        switch request {
        case .stop(let texts), .restart(let texts), .delete(let texts), .start(let texts), .rollingRestart(let texts):
            let ids: [ChildID]
            switch resolve(texts) {
            case .success(let found): ids = found
            case .failure(let failure): return .failure(failure)
            }
            let command: OperatorCommand
            switch request {
            case .stop: command = .stop(ids)
            case .restart: command = .restart(ids)
            case .rollingRestart: command = .rollingRestart(ids)
            case .start: command = .start(ids)
            default: command = .delete(ids)
            }
            let already = alreadyThere(ids, for: request)
            // What survives a restart is the engine's carry-over, saved by `drain`.
            let (answer, effects) = engine.command(command, at: now)
            perform(effects)
            return controlReply(answer, already: already)
        case .scale(let job, let n):
            if let refusal = scaleRefusal(job: job, to: n) { return .failure(refusal) }
            let (answer, effects) = engine.command(.scale(job: job, instances: n), at: now)
            perform(effects)
            return controlReply(answer)
        case .reload:
            switch reload(trigger: "control") {
            case .success(let summary): return .ok(Self.summaryJSON(summary, generation: reloadGeneration))
            case .failure(let errors):
                return .failure(ControlFailure(
                    ControlFailure.Code(rawValue: "invalid_manifest"), errors.errors.map(\.description).joined(separator: "\n")))
            }
        case .shutdown:
            let (answer, effects) = engine.command(.shutdown, at: now)
            perform(effects)
            if case .error = answer { return controlReply(answer) }
            return .ok(.object([("pid", .int(Int64(getpid())))]))
        }
    }

    /// Child ids for the operator's texts: exact ids, prefixes of whole path segments, or
    /// `all` (every child; a group named `all` is still reached as `all/`). Every text must
    /// select something.
    func resolve(_ texts: [String]) -> Result<[ChildID], ControlFailure> {
        var ids: [ChildID] = []
        var seen = Set<ChildID>()
        for text in texts {
            let trimmed = text.hasSuffix("/") ? String(text.dropLast()) : text
            let found = text == "all" ? engine.children.map(\.id) : engine.ids(matching: trimmed)
            guard !found.isEmpty else { return .failure(ControlFailure(.notFound, "no child matches \(text)")) }
            for id in found where seen.insert(id).inserted { ids.append(id) }
        }
        return .success(ids)
    }

    /// The ids a `stop` or `start` finds already where it would put them (stopped; starting
    /// or running), read before the command: the reply names them so the operator hears that
    /// nothing happened to those.
    func alreadyThere(_ ids: [ChildID], for request: ControlRequest) -> [ChildID] {
        switch request {
        case .stop: ids.filter { engine.snapshot(of: $0)?.state == .stopped }
        case .start: ids.filter { [.starting, .running].contains(engine.snapshot(of: $0)?.state) }
        default: []
        }
    }

    func controlReply(_ answer: CommandReply, already: [ChildID] = []) -> ControlReply {
        switch answer {
        case .ok(let ids) where !already.isEmpty:
            .ok(.object([
                ("ids", .array(ids.map { .string($0.description) })),
                ("already", .array(already.map { .string($0.description) })),
            ]))
        case .ok(let ids): .ok(.object([("ids", .array(ids.map { .string($0.description) }))]))
        case .error(let code, let message): .failure(ControlFailure(ControlFailure.Code(rawValue: code), message))
        }
    }

    /// Loads the jobs directory and applies the difference. Any error leaves the running tree
    /// exactly as it was; the errors are logged and stored in `meta.reload`.
    func reload(trigger: String) -> Result<ReloadSummary, ManifestErrors> {
        let new: Manifest
        do { new = try loadForReload() } catch {
            refuseReload(error, trigger: trigger)
            return .failure(error)
        }
        return applyReload(withDynamicJobs(new), trigger: trigger)
    }

    func refuseReload(_ error: ManifestErrors, trigger: String) {
        let now = SystemClock.monotonic()
        for line in error.errors { log.log(.error, "reload (\(trigger)): \(line.description)") }
        // Rolls an earlier reload began go on: a refused reload does not hide them.
        let info = ReloadInfo(
            generation: reloadGeneration, at: wall(now), ok: false, errors: error.errors.map(\.description),
            rolls: lastReload?.rolls.filter { $0.state == "rolling" } ?? [])
        lastReload = info
        pendingChanges.append(.setReload(info))
        // The history shows refused reloads too; the errors themselves are in meta.reload.
        record(EventRecord(
            subject: "", kind: .reload, detail: "failed errors=\(error.errors.count): nothing changed", log: false))
        commitTable()
    }

    /// Applies a loaded (or built) manifest: the difference only.
    func applyReload(_ new: Manifest, trigger: String) -> Result<ReloadSummary, ManifestErrors> {
        let now = SystemClock.monotonic()
        if let error = keptScaleError(new) ?? totalError(new) ?? claimError(new) {
            refuseReload(ManifestErrors([error]), trigger: trigger)
            return .failure(ManifestErrors([error]))
        }
        logWarnings(ManifestWarnings.check(new, searchPath: environment.path, limits: limitSupport), context: "reload (\(trigger)): ")
        let (summary, effects) = engine.reload(new, at: now)
        pendingChanges += specChanges(old: manifest, new: new)
        manifest = new
        reloadGeneration += 1
        let info = ReloadInfo(
            generation: reloadGeneration, at: wall(now), ok: true, rolls: lastReload?.rolls.filter { $0.state == "rolling" } ?? [])
        lastReload = info
        pendingChanges.append(.setReload(info))
        perform(effects)
        // The reply to `director reload` promises the new state is in the table.
        commitTable()
        log.log(.info, "reload (\(trigger)) generation=\(reloadGeneration) started=\(summary.started) stopped=\(summary.stopped) restarted=\(summary.restarted) scaled=\(summary.scaled) updated_in_place=\(summary.updatedInPlace) rolling=\(summary.rolling)")
        return .success(summary)
    }

    /// A roll's event: `meta.reload.rolls` follows the rolls a reload began (a roll an
    /// operator began is in the events only).
    func noteRoll(_ event: EventRecord) {
        guard var info = lastReload else { return }
        let job = event.subject
        switch event.kind {
        case .roll:
            guard event.fields.reason == "reload" else { return }
            info.rolls.removeAll { $0.job == job }
            info.rolls.append(RollInfo(job: job, state: "rolling", detail: event.detail))
        case .rollDone, .rollStopped:
            guard let index = info.rolls.lastIndex(where: { $0.job == job && $0.state == "rolling" }) else { return }
            info.rolls[index].state = event.kind == .rollDone ? "done" : "stopped"
            info.rolls[index].detail = event.detail
        default:
            return
        }
        lastReload = info
        pendingChanges.append(.setReload(info))
    }
}
