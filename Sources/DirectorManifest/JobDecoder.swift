/// The job half of ``GroupDecoder``: one `jobs[i]` mapping → ``JobSpec``.
extension GroupDecoder {
    /// A job, or nil when any of its keys is wrong (every wrong key is reported).
    mutating func job(_ node: YAMLNode, path: String) -> JobSpec? {
        guard let e = sink.mapping(node, path, allowed: Self.jobKeys, required: ["name", "command"]) else { return nil }
        func at(_ key: String) -> String { KeyPath.child(path, key) }
        var ok = true
        let name = field(e, "name", path, &ok) { $0.sink.name($1, $2) }
        let command = field(e, "command", path, &ok) { $0.command($1, $2) }
        let instances = field(e, "instances", path, &ok) { $0.sink.int($1, $2, in: 0...Int.max) }
        countChildren(e, node: node, path: path, instances: instances)
        let cwd = field(e, "cwd", path, &ok) { $0.cwd($1, $2) }
        let env = field(e, "env", path, &ok) { $0.env($1, $2) }
        let restart = field(e, "restart", path, &ok) { $0.sink.choice($1, $2, RestartType.self) }
        let delay = field(e, "delay", path, &ok) { $0.sink.duration($1, $2) }
        let backoff = field(e, "backoff", path, &ok) { $0.backoff($1, $2) }
        let resetAfter = field(e, "reset_after", path, &ok) { $0.sink.positiveDuration($1, $2) }
        let onExit = field(e, "on_exit", path, &ok) { $0.exitRules($1, $2) }
        let shutdown = field(e, "shutdown", path, &ok) { $0.shutdown($1, $2) }
        let log = field(e, "log", path, &ok) { $0.logPolicy($1, $2) }
        let envFile = field(e, "env_file", path, &ok) { $0.envFile($1, $2) }
        let ready = field(e, "ready", path, &ok) { $0.readiness($1, $2) }
        let update = field(e, "update", path, &ok) { $0.updatePolicy($1, $2) }
        let limits = field(e, "limits", path, &ok) { $0.cgroupLimits($1, $2) }
        let health = field(e, "health", path, &ok) { $0.health($1, $2) }
        let watchdog = field(e, "watchdog", path, &ok) { $0.sink.positiveDuration($1, $2) }
        let identity = identity(e, path: path)
        if identity == nil { ok = false }
        if let d = e["delay"], e["backoff"] != nil {
            sink.report(.invalidValue, d.key, at("delay"), "`delay` and `backoff` cannot both be set; `backoff` replaces `delay`")
            ok = false
        }
        guard ok, let name, let command else { return nil }
        return JobSpec(
            name: name, command: command, instances: instances ?? 1, cwd: cwd ?? jobsDirectory, env: env ?? [],
            restart: restart ?? .permanent, delay: delay ?? .zero, backoff: backoff,
            resetAfter: resetAfter ?? Defaults.resetAfter, onExit: onExit ?? [], shutdown: shutdown ?? Shutdown(),
            log: log ?? LogPolicy(), location: e["name"]?.value.location, identity: identity ?? ProcessIdentity(),
            envFile: envFile, ready: ready, health: health, watchdog: watchdog, update: update ?? UpdatePolicy(),
            limits: limits ?? CgroupLimits())
    }

    /// Adds the job's instances to the tally and reports the job that takes the directory over
    /// the limit: at its `instances` value, or at the job itself when it has the default 1.
    /// An `instances` that did not read counts as none (its own error is reported).
    private mutating func countChildren(_ e: [String: YAMLNode.Pair], node: YAMLNode, path: String, instances: Int?) {
        let written = e["instances"]
        guard let total = tally.add(written == nil ? 1 : instances ?? 0) else { return }
        let message = tally.message(total: total, instances: written == nil ? nil : instances)
        if let written {
            sink.report(.tooManyChildren, written.value, KeyPath.child(path, "instances"), message)
        } else {
            sink.report(.tooManyChildren, node, path, message)
        }
    }

    /// Reads a key when present; a failed read clears `ok` so the job is dropped.
    private mutating func field<T>(
        _ entries: [String: YAMLNode.Pair], _ key: String, _ path: String, _ ok: inout Bool,
        _ read: (inout GroupDecoder, YAMLNode, String) -> T?
    ) -> T? {
        guard let pair = entries[key] else { return nil }
        let value = read(&self, pair.value, KeyPath.child(path, key))
        if value == nil { ok = false }
        return value
    }

    /// A non-empty string (run by `/bin/sh -c`) or a non-empty list of strings (argv).
    private mutating func command(_ node: YAMLNode, _ path: String) -> Command? {
        if case .sequence(let items) = node.content {
            guard !items.isEmpty else {
                sink.report(.invalidValue, node, path, "command must not be empty")
                return nil
            }
            var argv: [String] = []
            for (i, item) in items.enumerated() {
                guard let arg = sink.string(item, KeyPath.item(path, i)) else { return nil }
                guard sink.checkTemplates(arg, item, KeyPath.item(path, i)) else { return nil }
                argv.append(arg)
            }
            if argv[0].isEmpty {
                sink.report(.invalidValue, items[0], KeyPath.item(path, 0), "the program name must not be empty")
                return nil
            }
            return .argv(argv)
        }
        guard case .scalar = node.content else {
            sink.wrongType(node, path, expected: "a string or a list of strings")
            return nil
        }
        guard let text = sink.string(node, path) else { return nil }
        guard !text.allSatisfy(\.isWhitespace) else {
            sink.report(.invalidValue, node, path, "command must not be empty")
            return nil
        }
        return sink.checkTemplates(text, node, path) ? .shell(text) : nil
    }

    /// A directory; relative paths are resolved against the jobs directory.
    private mutating func cwd(_ node: YAMLNode, _ path: String) -> String? {
        guard let text = sink.string(node, path), sink.checkTemplates(text, node, path) else { return nil }
        guard !text.isEmpty else {
            sink.report(.invalidValue, node, path, "cwd must not be empty")
            return nil
        }
        return PathText.resolve(text, against: jobsDirectory)
    }

    /// `NAME: value` pairs in order; numbers and booleans are taken as written.
    private mutating func env(_ node: YAMLNode, _ path: String) -> [EnvVar]? {
        guard case .mapping(let pairs) = node.content else {
            sink.wrongType(node, path, expected: "a mapping of variable names to values")
            return nil
        }
        var vars: [EnvVar] = []
        var ok = true
        for pair in pairs {
            let name = pair.key.scalarText ?? ""
            let p = KeyPath.child(path, name)
            guard NameRules.isValidEnvName(name) else {
                sink.report(.invalidValue, pair.key, p, "invalid environment variable name `\(name)`")
                ok = false
                continue
            }
            guard case .scalar(let value, _) = pair.value.content, !pair.value.isNull else {
                sink.wrongType(pair.value, p, expected: "a string")
                ok = false
                continue
            }
            if !sink.checkTemplates(value, pair.value, p) { ok = false }
            vars.append(EnvVar(name: name, value: value))
        }
        return ok ? vars : nil
    }

    private mutating func backoff(_ node: YAMLNode, _ path: String) -> Backoff? {
        guard let e = sink.mapping(node, path, allowed: ["initial", "max", "factor", "jitter"], required: ["initial", "max"])
        else { return nil }
        let initial = e["initial"].flatMap { sink.positiveDuration($0.value, KeyPath.child(path, "initial")) }
        let max = e["max"].flatMap { sink.duration($0.value, KeyPath.child(path, "max")) }
        let factor = e["factor"].map {
            sink.number($0.value, KeyPath.child(path, "factor")) { $0 >= 1 ? nil : "factor must be ≥ 1" }
        }
        let jitter = e["jitter"].map {
            sink.number($0.value, KeyPath.child(path, "jitter")) { (0...1).contains($0) ? nil : "jitter must be in 0...1" }
        }
        guard let initial, let max, factor != .some(nil), jitter != .some(nil) else { return nil }
        guard max >= initial else {
            sink.report(.invalidValue, e["max"]!.value, KeyPath.child(path, "max"), "max must be ≥ initial")
            return nil
        }
        return Backoff(initial: initial, max: max, factor: (factor ?? 2) ?? 2, jitter: (jitter ?? 0) ?? 0)
    }

    private mutating func shutdown(_ node: YAMLNode, _ path: String) -> Shutdown? {
        guard let e = sink.mapping(node, path, allowed: ["signal", "timeout"]) else { return nil }
        var shutdown = Shutdown(signal: .term, timeout: .after(Defaults.shutdownTimeout))
        var ok = true
        if let v = e["signal"]?.value {
            if let s = sink.signal(v, KeyPath.child(path, "signal")) { shutdown.signal = s } else { ok = false }
        }
        if let v = e["timeout"]?.value {
            if v.scalarText == "infinity" {
                shutdown.timeout = .infinity
            } else if let d = sink.duration(v, KeyPath.child(path, "timeout")) {
                shutdown.timeout = .after(d)
            } else {
                ok = false
            }
        }
        return ok ? shutdown : nil
    }

    private mutating func logPolicy(_ node: YAMLNode, _ path: String) -> LogPolicy? {
        guard let e = sink.mapping(node, path, allowed: ["events", "stdout", "stderr", "file", "max_size", "keep"]) else { return nil }
        var policy = LogPolicy()
        var ok = true
        if let v = e["file"]?.value {
            if let b = sink.bool(v, KeyPath.child(path, "file")) { policy.file = b } else { ok = false }
        }
        if let v = e["max_size"]?.value {
            if let n = sink.byteSize(v, KeyPath.child(path, "max_size")) { policy.maxSize = n } else { ok = false }
        }
        if let v = e["keep"]?.value {
            if let n = sink.int(v, KeyPath.child(path, "keep"), in: 0...1000) { policy.keep = n } else { ok = false }
        }
        if let v = e["events"]?.value {
            let p = KeyPath.child(path, "events")
            if let ev = sink.mapping(v, p, allowed: ["start", "exit", "restart", "stop"]) {
                func flag(_ key: String) -> Bool {
                    guard let n = ev[key]?.value else { return true }
                    guard let b = sink.bool(n, KeyPath.child(p, key)) else {
                        ok = false
                        return true
                    }
                    return b
                }
                policy.events = LogEvents(start: flag("start"), exit: flag("exit"), restart: flag("restart"), stop: flag("stop"))
            } else {
                ok = false
            }
        }
        for stream in ["stdout", "stderr"] {
            guard let v = e[stream]?.value else { continue }
            // `stdout: false`: not captured at all (the child writes to /dev/null); `true` is
            // the default, every line passes.
            if case .scalar(let text, let style) = v.content, !v.isNull {
                guard style == .plain, let captured = PlainScalar.bool(text) else {
                    sink.wrongType(v, KeyPath.child(path, stream), expected: "true, false or {include, exclude}")
                    ok = false
                    continue
                }
                if stream == "stdout" { policy.capturesStdout = captured } else { policy.capturesStderr = captured }
                continue
            }
            guard let filter = lineFilter(v, KeyPath.child(path, stream)) else {
                ok = false
                continue
            }
            if stream == "stdout" { policy.stdout = filter } else { policy.stderr = filter }
        }
        return ok ? policy : nil
    }

    private mutating func lineFilter(_ node: YAMLNode, _ path: String) -> LineFilter? {
        guard let e = sink.mapping(node, path, allowed: ["include", "exclude"]) else { return nil }
        var lists: [String: [LinePattern]] = [:]
        var ok = true
        for key in ["include", "exclude"] {
            guard let v = e[key]?.value else { continue }
            let p = KeyPath.child(path, key)
            guard case .sequence(let items) = v.content else {
                sink.wrongType(v, p, expected: "a list of regular expressions")
                ok = false
                continue
            }
            var patterns: [LinePattern] = []
            for (i, item) in items.enumerated() {
                guard let source = sink.string(item, KeyPath.item(p, i)) else {
                    ok = false
                    continue
                }
                do {
                    patterns.append(try LinePattern(source))
                } catch {
                    sink.report(.invalidValue, item, KeyPath.item(p, i), "invalid regular expression `\(source)`: \(error)")
                    ok = false
                }
            }
            lists[key] = patterns
        }
        return ok ? LineFilter(include: lists["include"] ?? [], exclude: lists["exclude"] ?? []) : nil
    }
}
