import DirectorManifest
import DirectorTable

extension JobSpec {
    /// The job as stored in the table's `specs` database and printed by `director spec`: the
    /// manifest's own keys and spellings, with every default filled in, plus `spec_hash`.
    package var json: JSONValue {
        func d(_ x: Duration) -> JSONValue { .string(DurationText.format(x)) }
        func filter(_ f: LineFilter) -> JSONValue {
            .object([
                ("include", .array(f.include.map { .string($0.source) })),
                ("exclude", .array(f.exclude.map { .string($0.source) })),
            ])
        }
        var members: [(String, JSONValue)] = [("name", .string(name))]
        switch command {
        case .argv(let argv): members.append(("command", .array(argv.map(JSONValue.string))))
        case .shell(let text): members.append(("command", .string(text)))
        }
        members.append(("instances", .int(Int64(instances))))
        members.append(("cwd", .string(cwd)))
        members.append(("env", .object(env.map { ($0.name, .string($0.value)) })))
        members.append(("restart", .string(restart.rawValue)))
        if let b = backoff {
            members.append(("backoff", .object([
                ("initial", d(b.initial)), ("max", d(b.max)), ("factor", .double(b.factor)), ("jitter", .double(b.jitter)),
            ])))
        } else {
            members.append(("delay", d(delay)))
        }
        members.append(("reset_after", d(resetAfter)))
        members.append(("on_exit", .array(onExit.map { rule in
            var when: [(String, JSONValue)] = []
            if let codes = rule.when.codes { when.append(("code", .array(codes.map { .int(Int64($0)) }))) }
            if let signals = rule.when.signals { when.append(("signal", .array(signals.map { .string($0.name) }))) }
            if let n = rule.when.minRestarts { when.append(("restarts", .int(Int64(n)))) }
            if let causes = rule.when.causes { when.append(("cause", .array(causes.map(JSONValue.string)))) }
            var r: [(String, JSONValue)] = [("when", .object(when)), ("do", .string(rule.action.rawValue))]
            if let after = rule.after { r.append(("after", d(after))) }
            r.append(("log", .bool(rule.log)))
            return .object(r)
        })))
        let timeout: JSONValue
        switch shutdown.timeout {
        case .after(let t): timeout = d(t)
        case .infinity: timeout = .string("infinity")
        }
        members.append(("shutdown", .object([("signal", .string(shutdown.signal.name)), ("timeout", timeout)])))
        let e = log.events
        members.append(("log", .object([
            ("events", .object([("start", .bool(e.start)), ("exit", .bool(e.exit)), ("restart", .bool(e.restart)), ("stop", .bool(e.stop))])),
            ("stdout", filter(log.stdout)),
            ("stderr", filter(log.stderr)),
            ("file", .bool(log.file)), ("max_size", .int(Int64(log.maxSize))), ("keep", .int(Int64(log.keep))),
        ])))
        // Identity keys only when set: a job without them reads as before. This is also the
        // manifest text a tree built in code is checked as (`ManifestValidator`), so every key
        // keeps its manifest form. An env file often holds secrets kept out of the manifest
        // on purpose: only its path is written, never its values (`spec_hash` changes with them).
        if let f = envFile { members.append(("env_file", .string(f.path))) }
        if let u = identity.user { members.append(("user", .string(u))) }
        if let g = identity.group { members.append(("group", .string(g))) }
        if let m = identity.umask {
            let octal = String(m, radix: 8)
            members.append(("umask", .string(String(repeating: "0", count: max(0, 4 - octal.count)) + octal)))
        }
        if !identity.rlimits.isEmpty {
            members.append(("rlimits", .object(identity.rlimits.map { l in
                (l.resource.rawValue, .object([("soft", .string(ResourceLimit.text(l.soft))), ("hard", .string(ResourceLimit.text(l.hard)))]))
            })))
        }
        if let r = ready {
            let check: (String, JSONValue) =
                switch r.check {
                case .notify: ("notify", .bool(true))
                case .fd(let n): ("fd", .int(Int64(n)))
                case .probe(let p): p.jsonMember
                }
            members.append(("ready", .object([check, ("timeout", d(r.timeout))])))
        }
        if let h = health {
            members.append(("health", .object([
                h.probe.jsonMember, ("interval", d(h.interval)), ("timeout", d(h.timeout)), ("failures", .int(Int64(h.failures))),
            ])))
        }
        if let w = watchdog { members.append(("watchdog", d(w))) }
        if update != UpdatePolicy() {
            members.append(("update", .object([
                ("mode", .string(update.mode.rawValue)), ("max_surge", .int(Int64(update.maxSurge))),
                ("max_unavailable", .int(Int64(update.maxUnavailable))),
            ])))
        }
        if !limits.isEmpty {
            var l: [(String, JSONValue)] = []
            if let m = limits.memory { l.append(("memory", .int(Int64(m)))) }
            if let c = limits.cpu { l.append(("cpu", .double(c))) }
            if let p = limits.pids { l.append(("pids", .int(Int64(p)))) }
            members.append(("limits", .object(l)))
        }
        members.append(("spec_hash", .string(stableHash)))
        return .object(members)
    }
}

extension Probe {
    /// `tcp: PORT`, `http: URL` or `exec: [argv]`, as the manifest writes it.
    var jsonMember: (String, JSONValue) {
        switch self {
        case .tcp(let port): ("tcp", .int(Int64(port)))
        case .http(let target): ("http", .string(target.url))
        case .exec(let argv): ("exec", .array(argv.map(JSONValue.string)))
        }
    }
}

extension Manifest {
    /// Every job with its key (`group/job`, nested groups included), in tree order.
    package var jobsByKey: [(key: String, job: JobSpec)] {
        var out: [(String, JobSpec)] = []
        func walk(_ group: GroupSpec, _ path: [String]) {
            let here = path + [group.name]
            for child in group.children {
                switch child {
                case .job(let j): out.append(((here + [j.name]).joined(separator: "/"), j))
                case .group(let g): walk(g, here)
                }
            }
        }
        for g in groups { walk(g, []) }
        return out
    }
}
