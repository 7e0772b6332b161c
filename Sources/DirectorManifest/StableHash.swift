extension JobSpec {
    /// A hash of everything that defines the job, stable across runs and machines (FNV-1a 64
    /// over a canonical text), as 16 hex digits. Source locations are left out: moving a job
    /// within its file is not a change. Stored in the table as `spec_hash`.
    public var stableHash: String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in canonicalText.utf8 {
            h ^= UInt64(byte)
            h = h &* 0x0000_0100_0000_01b3
        }
        let hex = String(h, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }

    /// One line per field; only used for hashing.
    var canonicalText: String {
        func d(_ x: Duration) -> String { String(x.nanosecondsForHash) }
        func list(_ xs: [String]) -> String { xs.map { "\($0.utf8.count):\($0)" }.joined(separator: ",") }
        var lines: [String] = []
        lines.append("name=\(name)")
        switch command {
        case .argv(let a): lines.append("argv=\(list(a))")
        case .shell(let s): lines.append("shell=\(list([s]))")
        }
        lines.append("instances=\(instances)")
        lines.append("cwd=\(list([cwd]))")
        lines.append("env=\(list(env.flatMap { [$0.name, $0.value] }))")
        lines.append("restart=\(restart.rawValue) delay=\(d(delay)) reset=\(d(resetAfter))")
        if let b = backoff { lines.append("backoff=\(d(b.initial)),\(d(b.max)),\(b.factor),\(b.jitter)") }
        for r in onExit {
            let codes = r.when.codes.map { $0.map(String.init).joined(separator: ",") } ?? "-"
            let sigs = r.when.signals.map { $0.map(\.name).joined(separator: ",") } ?? "-"
            let n = r.when.minRestarts.map(String.init) ?? "-"
            let causes = r.when.causes.map { ";cause=" + $0.joined(separator: ",") } ?? ""  // only when set: old hashes stay
            lines.append("rule=\(codes);\(sigs);\(n);\(r.action.rawValue);\(r.after.map(d) ?? "-");\(r.log)\(causes)")
        }
        switch shutdown.timeout {
        case .after(let t): lines.append("shutdown=\(shutdown.signal.name),\(d(t))")
        case .infinity: lines.append("shutdown=\(shutdown.signal.name),infinity")
        }
        // Only when not the default: the hashes of jobs that never mention the file keys stay
        // what they were before the keys existed (stored decisions hold them).
        if !log.file || log.maxSize != LogPolicy.defaultMaxSize || log.keep != LogPolicy.defaultKeep {
            lines.append("logfile=\(log.file),\(log.maxSize),\(log.keep)")
        }
        let e = log.events
        lines.append("events=\(e.start),\(e.exit),\(e.restart),\(e.stop)")
        for (n, f) in [("stdout", log.stdout), ("stderr", log.stderr)] {
            lines.append("\(n)+=\(list(f.include.map(\.source))) \(n)-=\(list(f.exclude.map(\.source)))")
        }
        // Only when not captured (the default's hash stays what it was): a change of it
        // changes the child's descriptors, so the child is restarted.
        if !log.capturesStdout || !log.capturesStderr { lines.append("captured=\(log.capturesStdout),\(log.capturesStderr)") }
        // Written only when set, so the hashes of jobs without these keys stay what they were
        // (the carry-over of stopped and waiting children is keyed by the hash).
        if let u = identity.user { lines.append("user=\(list([u]))") }
        if let g = identity.group { lines.append("group=\(list([g]))") }
        if let m = identity.umask { lines.append("umask=\(String(m, radix: 8))") }
        for l in identity.rlimits { lines.append("rlimit=\(l.resource.rawValue),\(l.soft),\(l.hard)") }
        if let f = envFile {
            lines.append("env_file=\(list([f.path])) \(list(f.variables.flatMap { [$0.name, $0.value] }))")
        }
        if let r = ready {
            switch r.check {
            case .notify: lines.append("ready=notify,\(d(r.timeout))")
            case .fd(let n): lines.append("ready=fd,\(n),\(d(r.timeout))")
            case .probe(let p): lines.append("ready=\(p.canonicalText),\(d(r.timeout))")
            }
        }
        if let h = health {
            lines.append("health=\(h.probe.canonicalText),\(d(h.interval)),\(d(h.timeout)),\(h.failures)")
        }
        if let w = watchdog { lines.append("watchdog=\(d(w))") }
        if update != UpdatePolicy() {
            lines.append("update=\(update.mode.rawValue),\(update.maxSurge),\(update.maxUnavailable)")
        }
        if let m = limits.memory { lines.append("limit.memory=\(m)") }
        if let c = limits.cpu { lines.append("limit.cpu=\(c)") }
        if let p = limits.pids { lines.append("limit.pids=\(p)") }
        return lines.joined(separator: "\n")
    }
}

extension Probe {
    /// `tcp:8080`, `http:<url>`, `exec:<argv>`: for the spec hash.
    fileprivate var canonicalText: String {
        switch self {
        case .tcp(let port): "tcp:\(port)"
        case .http(let t): "http:\(t.url.utf8.count):\(t.url)"
        case .exec(let argv): "exec:" + argv.map { "\($0.utf8.count):\($0)" }.joined(separator: ",")
        }
    }
}

extension Duration {
    fileprivate var nanosecondsForHash: Int64 {
        let (s, a) = components
        return s &* 1_000_000_000 &+ a / 1_000_000_000
    }
}
