#if canImport(Glibc)
import Glibc
#endif
import DirectorCore

/// Spawns held back because the daemon is out of file descriptors.
///
/// EMFILE or ENFILE from a spawn says nothing about the child: it is the daemon's own
/// resource fault. Reported to the engine as a spawn failure it would count against the
/// group's intensity, and a burst of them would take the tree down for a condition that
/// clears by itself (a child closes, an operator stops a pool). So such a spawn is held here,
/// the child stays `starting`, and the held spawns are retried oldest first with a backoff
/// (100 ms doubling to 5 s), logged once per burst. A child that was asked to stop meanwhile
/// (an operator stop, a shutdown, a strategy) gets its spawn failure after all, which applies
/// the stop without counting a restart.
struct HeldSpawns {
    var specs: [LaunchSpec] = []
    var since: Instant?
    var delay: Duration = HeldSpawns.firstDelay
    var started = 0

    static let firstDelay: Duration = .milliseconds(100)
    static let maxDelay: Duration = .seconds(5)
    static let timerKey = "director.held-spawns"
}

extension SupervisorRuntime {
    /// Holds `spec` back until descriptors are available (see `HeldSpawns`).
    func holdSpawn(_ spec: LaunchSpec, error: SpawnError) {
        held.specs.removeAll { $0.id == spec.id }
        held.specs.append(spec)
        if held.since == nil {
            held.since = SystemClock.monotonic()
            held.delay = HeldSpawns.firstDelay
            held.started = 0
            log.log(.error, "out of file descriptors (\(error.message), limit \(DescriptorLimit.current)): children wait to start and are retried; supervision goes on")
        }
        armHeldSpawnRetry()
    }

    private func armHeldSpawnRetry() {
        guard !loop.isTimerArmed(HeldSpawns.timerKey) else { return }
        loop.setTimer(HeldSpawns.timerKey, at: SystemClock.monotonic() + held.delay) { [unowned self] in
            self.retryHeldSpawns()
        }
    }

    /// Retries the held spawns, oldest first, until one still finds no descriptor.
    func retryHeldSpawns() {
        let waiting = held.specs
        held.specs = []
        // The next retry, if one is needed, waits longer (a spawn held again below re-arms).
        held.delay = min(held.delay * 2, HeldSpawns.maxDelay)
        var exhausted = false
        for spec in waiting {
            if !engine.awaitsSpawn(spec.id) {
                // Asked to stop while it waited: the stop applies now.
                queue.append(.spawnFailed(spec.id, reason: "not started: out of file descriptors"))
            } else if exhausted {
                held.specs.append(spec)
            } else {
                spawn(spec)
                exhausted = held.specs.contains { $0.id == spec.id }
                if !exhausted { held.started += 1 }
            }
        }
        drain()
        if held.specs.isEmpty {
            if let since = held.since {
                let seconds = Double((SystemClock.monotonic() - since).nanosecondsClamped) / 1e9
                log.log(.info, "file descriptors available again: \(held.started) held children started after \(Int(seconds * 10) / 10).\(Int(seconds * 10) % 10) s")
            }
            held = HeldSpawns()
        } else {
            armHeldSpawnRetry()
        }
    }

    /// After an engine command: children held back that are now asked to stop get their
    /// stop at once rather than at the next retry (a shutdown must not wait seconds for it).
    func releaseHeldSpawnsAskedToStop() {
        guard !held.specs.isEmpty else { return }
        let stopping = held.specs.filter { !engine.awaitsSpawn($0.id) }
        guard !stopping.isEmpty else { return }
        held.specs.removeAll { !engine.awaitsSpawn($0.id) }
        for spec in stopping { queue.append(.spawnFailed(spec.id, reason: "not started: out of file descriptors")) }
        drain()
        if held.specs.isEmpty {
            loop.cancelTimer(HeldSpawns.timerKey)
            held = HeldSpawns()
        }
    }
}
