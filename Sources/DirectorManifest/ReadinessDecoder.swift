/// A job's `ready:` mapping: exactly one protocol and an optional `timeout`.
extension GroupDecoder {
    /// The probes DESIGN §2 names that this version does not run yet: refused with a located
    /// error rather than accepted and never checked.
    static let unsupportedReadyKeys = ["fd", "tcp", "http", "exec"]

    mutating func readiness(_ node: YAMLNode, _ path: String) -> ReadySpec? {
        guard let e = sink.mapping(node, path, allowed: ["notify", "timeout"] + Self.unsupportedReadyKeys) else { return nil }
        func at(_ key: String) -> String { KeyPath.child(path, key) }
        var ok = true
        for key in Self.unsupportedReadyKeys {
            guard let pair = e[key] else { continue }
            sink.report(.invalidValue, pair.key, at(key), "`ready.\(key)` is not supported yet; use `notify: true`")
            ok = false
        }
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
        var timeout = ReadySpec.defaultTimeout
        if let v = e["timeout"]?.value {
            if let d = sink.positiveDuration(v, at("timeout")) { timeout = d } else { ok = false }
        }
        guard ok else { return nil }
        guard checks.count == 1 else {
            let message = checks.isEmpty
                ? "`ready` needs `notify: true`"
                : "`ready` takes one protocol"
            sink.report(.invalidValue, checks.last?.0 ?? node, path, message)
            return nil
        }
        return ReadySpec(checks[0].1, timeout: timeout)
    }
}
