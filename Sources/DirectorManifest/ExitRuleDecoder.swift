/// The `on_exit` half of ``GroupDecoder``: ordered rules, first match wins.
extension GroupDecoder {
    mutating func exitRules(_ node: YAMLNode, _ path: String) -> [ExitRule]? {
        guard case .sequence(let items) = node.content else {
            sink.wrongType(node, path, expected: "a list of rules")
            return nil
        }
        var rules: [ExitRule] = []
        var ok = true
        for (i, item) in items.enumerated() {
            if let rule = exitRule(item, KeyPath.item(path, i)) { rules.append(rule) } else { ok = false }
        }
        return ok ? rules : nil
    }

    private mutating func exitRule(_ node: YAMLNode, _ path: String) -> ExitRule? {
        guard let e = sink.mapping(node, path, allowed: ["when", "do", "after", "log"], required: ["do"]) else { return nil }
        var ok = true
        var condition = ExitCondition()
        if let v = e["when"]?.value {
            if let c = exitCondition(v, KeyPath.child(path, "when")) { condition = c } else { ok = false }
        }
        let action = e["do"].flatMap { sink.choice($0.value, KeyPath.child(path, "do"), ExitAction.self) }
        if e["do"] != nil && action == nil { ok = false }
        var after: Duration?
        if let pair = e["after"] {
            after = sink.duration(pair.value, KeyPath.child(path, "after"))
            if after == nil { ok = false }
            if let action, action != .restart {
                sink.report(.invalidValue, pair.key, KeyPath.child(path, "after"),
                    "`after` only applies to `do: restart`, not `do: \(action.rawValue)`")
                ok = false
            }
        }
        var log = true
        if let v = e["log"]?.value {
            if let b = sink.bool(v, KeyPath.child(path, "log")) { log = b } else { ok = false }
        }
        guard ok, let action else { return nil }
        return ExitRule(when: condition, action: action, after: after, log: log, location: node.location)
    }

    /// `{code: 0 | [ints], signal: NAME | [NAMES], restarts: n, cause: NAME | [NAMES]}`; every
    /// field optional.
    private mutating func exitCondition(_ node: YAMLNode, _ path: String) -> ExitCondition? {
        guard let e = sink.mapping(node, path, allowed: ["code", "signal", "restarts", "cause"]) else { return nil }
        var ok = true
        var condition = ExitCondition()
        if let v = e["code"]?.value {
            let p = KeyPath.child(path, "code")
            let codes = sink.itemsOrSingle(v).map { item in
                sink.int(item.node, item.suffix.map { KeyPath.item(p, $0) } ?? p, in: 0...255).map { Int32($0) }
            }
            if codes.contains(nil) || codes.isEmpty {
                if codes.isEmpty { sink.report(.invalidValue, v, p, "list of codes must not be empty") }
                ok = false
            } else {
                condition.codes = codes.compactMap { $0 }
            }
        }
        if let v = e["signal"]?.value {
            let p = KeyPath.child(path, "signal")
            let signals = sink.itemsOrSingle(v).map { item in
                sink.signal(item.node, item.suffix.map { KeyPath.item(p, $0) } ?? p)
            }
            if signals.contains(nil) || signals.isEmpty {
                if signals.isEmpty { sink.report(.invalidValue, v, p, "list of signals must not be empty") }
                ok = false
            } else {
                condition.signals = signals.compactMap { $0 }
            }
        }
        if let v = e["cause"]?.value {
            let p = KeyPath.child(path, "cause")
            let causes = sink.itemsOrSingle(v).map { item -> String? in
                let ip = item.suffix.map { KeyPath.item(p, $0) } ?? p
                guard let text = sink.string(item.node, ip) else { return nil }
                guard ExitCondition.knownCauses.contains(text) else {
                    sink.report(.invalidValue, item.node, ip,
                        "unknown cause `\(text)`; expected one of: \(ExitCondition.knownCauses.joined(separator: ", "))")
                    return nil
                }
                return text
            }
            if causes.contains(nil) || causes.isEmpty {
                if causes.isEmpty { sink.report(.invalidValue, v, p, "list of causes must not be empty") }
                ok = false
            } else {
                condition.causes = causes.compactMap { $0 }
            }
        }
        if let v = e["restarts"]?.value {
            if let n = sink.int(v, KeyPath.child(path, "restarts"), in: 0...Int.max) { condition.minRestarts = n } else { ok = false }
        }
        return ok ? condition : nil
    }
}
