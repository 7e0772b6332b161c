/// A job's `update` and `limits` keys.
extension GroupDecoder {
    /// `update: rolling`, `update: restart`, or `update: {mode: rolling, max_surge: 2,
    /// max_unavailable: 0}`.
    mutating func updatePolicy(_ node: YAMLNode, _ path: String) -> UpdatePolicy? {
        if case .scalar = node.content {
            guard let mode = sink.choice(node, path, UpdatePolicy.Mode.self) else { return nil }
            return UpdatePolicy(mode)
        }
        guard let e = sink.mapping(node, path, allowed: ["mode", "max_surge", "max_unavailable"], required: ["mode"]) else {
            return nil
        }
        func at(_ key: String) -> String { KeyPath.child(path, key) }
        let mode = e["mode"].flatMap { sink.choice($0.value, at("mode"), UpdatePolicy.Mode.self) }
        let surge = e["max_surge"].map { sink.int($0.value, at("max_surge"), in: 0...1000) }
        let unavailable = e["max_unavailable"].map { sink.int($0.value, at("max_unavailable"), in: 0...1000) }
        guard let mode, surge != .some(nil), unavailable != .some(nil) else { return nil }
        let policy = UpdatePolicy(
            mode, maxSurge: (surge ?? nil) ?? UpdatePolicy.defaultMaxSurge,
            maxUnavailable: (unavailable ?? nil) ?? UpdatePolicy.defaultMaxUnavailable)
        if mode == .restart, let pair = e["max_surge"] ?? e["max_unavailable"] {
            let key = e["max_surge"] != nil ? "max_surge" : "max_unavailable"
            sink.report(.invalidValue, pair.key, at(key), "`\(key)` applies to `mode: rolling` only")
            return nil
        }
        if policy.maxSurge == 0 && policy.maxUnavailable == 0 {
            let pair = e["max_surge"] ?? e["max_unavailable"]!
            sink.report(.invalidValue, pair.value, at(e["max_surge"] != nil ? "max_surge" : "max_unavailable"),
                "`max_surge` and `max_unavailable` cannot both be 0: the roll could never stop an old instance")
            return nil
        }
        return policy
    }

    /// `limits: {memory: 512M, cpu: 1.5, pids: 256}`.
    mutating func cgroupLimits(_ node: YAMLNode, _ path: String) -> CgroupLimits? {
        guard let e = sink.mapping(node, path, allowed: ["memory", "cpu", "pids"]) else { return nil }
        func at(_ key: String) -> String { KeyPath.child(path, key) }
        var limits = CgroupLimits()
        var ok = true
        if let v = e["memory"]?.value {
            if case .scalar(let text, _) = v.content, !v.isNull, let bytes = ByteSizeText.parse(text) {
                // The kernel rounds memory.max down to pages; less than a few pages cannot
                // even exec a program.
                if bytes >= 1 << 20 { limits.memory = bytes } else {
                    sink.report(.invalidValue, v, at("memory"), "memory `\(text)` is too small: at least 1M")
                    ok = false
                }
            } else {
                sink.report(.invalidValue, v, at("memory"), "expected a size such as `512M` (K, M, G)")
                ok = false
            }
        }
        if let v = e["cpu"]?.value {
            let cpu = sink.number(v, at("cpu")) { $0 >= 0.01 && $0 <= 4096 ? nil : "cpu must be in 0.01...4096 (CPUs)" }
            if let cpu { limits.cpu = cpu } else { ok = false }
        }
        if let v = e["pids"]?.value {
            if let n = sink.int(v, at("pids"), in: 1...Int(Int32.max)) { limits.pids = n } else { ok = false }
        }
        return ok ? limits : nil
    }
}
