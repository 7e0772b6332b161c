/// A job's `ready:` mapping (exactly one protocol and an optional `timeout`), its `health:`
/// mapping (one probe, `interval`, `timeout`, `failures`) and `watchdog:`.
extension GroupDecoder {
    /// The probe keys `ready:` and `health:` share.
    static let probeKeys = ["tcp", "http", "exec"]

    mutating func readiness(_ node: YAMLNode, _ path: String) -> ReadySpec? {
        guard let e = sink.mapping(node, path, allowed: ["notify", "fd", "timeout"] + Self.probeKeys) else { return nil }
        func at(_ key: String) -> String { KeyPath.child(path, key) }
        var ok = true
        var checks: [(YAMLNode, ReadySpec.Check)] = []
        if let v = e["notify"]?.value {
            if let b = sink.bool(v, at("notify")) {
                if b { checks.append((v, .notify)) } else {
                    sink.report(.invalidValue, v, at("notify"), "`notify: false` means no readiness; leave `ready` out")
                    ok = false
                }
            } else {
                ok = false
            }
        }
        if let v = e["fd"]?.value {
            // 0-2 are the child's stdin, stdout and stderr; 1023 keeps it below select()'s limit.
            if let n = sink.int(v, at("fd"), in: 3...1023) { checks.append((v, .fd(Int32(n)))) } else { ok = false }
        }
        for key in Self.probeKeys {
            guard let v = e[key]?.value else { continue }
            if let p = probe(key, v, at(key)) { checks.append((v, .probe(p))) } else { ok = false }
        }
        var timeout = ReadySpec.defaultTimeout
        if let v = e["timeout"]?.value {
            if let d = sink.positiveDuration(v, at("timeout")) { timeout = d } else { ok = false }
        }
        guard ok else { return nil }
        guard checks.count == 1 else {
            let message = checks.isEmpty
                ? "`ready` needs one of `notify: true`, `fd`, `tcp`, `http` or `exec`"
                : "`ready` takes one protocol"
            sink.report(.invalidValue, checks.last?.0 ?? node, path, message)
            return nil
        }
        return ReadySpec(checks[0].1, timeout: timeout)
    }

    mutating func health(_ node: YAMLNode, _ path: String) -> HealthSpec? {
        guard let e = sink.mapping(node, path, allowed: Self.probeKeys + ["interval", "timeout", "failures"]) else { return nil }
        func at(_ key: String) -> String { KeyPath.child(path, key) }
        var ok = true
        var probes: [(YAMLNode, Probe)] = []
        for key in Self.probeKeys {
            guard let v = e[key]?.value else { continue }
            if let p = probe(key, v, at(key)) { probes.append((v, p)) } else { ok = false }
        }
        var spec = HealthSpec(.tcp(port: 1))
        if let v = e["interval"]?.value {
            if let d = sink.positiveDuration(v, at("interval")) { spec.interval = d } else { ok = false }
        }
        if let v = e["timeout"]?.value {
            if let d = sink.positiveDuration(v, at("timeout")) { spec.timeout = d } else { ok = false }
        }
        if let v = e["failures"]?.value {
            if let n = sink.int(v, at("failures"), in: 1...1000) { spec.failures = n } else { ok = false }
        }
        guard ok else { return nil }
        guard probes.count == 1 else {
            let message = probes.isEmpty ? "`health` needs one of `tcp`, `http` or `exec`" : "`health` takes one probe"
            sink.report(.invalidValue, probes.last?.0 ?? node, path, message)
            return nil
        }
        spec.probe = probes[0].1
        return spec
    }

    /// `tcp: PORT`, `http: URL` or `exec: [argv]`.
    private mutating func probe(_ key: String, _ v: YAMLNode, _ path: String) -> Probe? {
        switch key {
        case "tcp":
            return sink.int(v, path, in: 1...65535).map { .tcp(port: $0) }
        case "http":
            guard let text = sink.string(v, path), sink.checkTemplates(text, v, path) else { return nil }
            guard let target = HTTPTarget(url: text) else {
                sink.report(.invalidValue, v, path,
                    "invalid probe URL `\(text)`: expected http://HOST[:PORT]/PATH where HOST is an IP address or localhost (a probe never waits for DNS; https is not supported)")
                return nil
            }
            return .http(target)
        default:
            guard case .sequence(let items) = v.content, !items.isEmpty else {
                if case .sequence = v.content {
                    sink.report(.invalidValue, v, path, "the probe command must not be empty")
                } else {
                    sink.wrongType(v, path, expected: "a list of strings (argv)")
                }
                return nil
            }
            var argv: [String] = []
            for (i, item) in items.enumerated() {
                guard let arg = sink.string(item, KeyPath.item(path, i)), sink.checkTemplates(arg, item, KeyPath.item(path, i)) else { return nil }
                argv.append(arg)
            }
            guard !argv[0].isEmpty else {
                sink.report(.invalidValue, items[0], KeyPath.item(path, 0), "the program name must not be empty")
                return nil
            }
            return .exec(argv)
        }
    }
}
