/// The typed readers of the loader: each checks one YAML node against one expected type,
/// records a precise error when it does not fit and returns nil, so the caller can go on
/// and find more errors.
struct ErrorSink {
    /// Problems found so far, in the order found.
    var errors: [ManifestError] = []

    mutating func report(_ code: ManifestError.Code, _ node: YAMLNode, _ path: String, _ message: String) {
        errors.append(ManifestError(code, at: node.location, keyPath: path, message))
    }

    mutating func wrongType(_ node: YAMLNode, _ path: String, expected: String) {
        report(.wrongType, node, path, "expected \(expected), got \(node.kindDescription)")
    }

    /// The entries of a mapping with only `allowed` keys and every `required` key present.
    mutating func mapping(
        _ node: YAMLNode, _ path: String, allowed: [String], required: [String] = []
    ) -> [String: YAMLNode.Pair]? {
        guard case .mapping(let pairs) = node.content else {
            wrongType(node, path, expected: "a mapping")
            return nil
        }
        var entries: [String: YAMLNode.Pair] = [:]
        var suggested: Set<String> = []
        for pair in pairs {
            let key = pair.key.scalarText ?? ""
            guard allowed.contains(key) else {
                let suggestion = NameRules.suggestion(for: key, among: allowed)
                if let suggestion { suggested.insert(suggestion) }
                let hint = suggestion.map { "; did you mean `\($0)`?" }
                    ?? "; expected one of: \(allowed.joined(separator: ", "))"
                report(.unknownKey, pair.key, KeyPath.child(path, key), "unknown key `\(key)`\(hint)")
                continue
            }
            entries[key] = pair
        }
        // A misspelt required key is reported once, as the unknown key with its suggestion.
        for key in required where entries[key] == nil && !suggested.contains(key) {
            report(.missingKey, node, path.isEmpty ? key : KeyPath.child(path, key), "missing required key `\(key)`")
        }
        return entries
    }

    /// Any scalar that is a string: quoted, or plain text YAML would not read as null, bool or number.
    mutating func string(_ node: YAMLNode, _ path: String) -> String? {
        guard case .scalar(let text, let style) = node.content,
            style == .quoted || node.kindDescription == "a string"
        else {
            if case .scalar(let text, .plain) = node.content, !node.isNull {
                report(.wrongType, node, path, "expected a string, got \(node.kindDescription); quote it: \"\(text)\"")
            } else {
                wrongType(node, path, expected: "a string")
            }
            return nil
        }
        return text
    }

    /// A string checked for `[A-Za-z0-9_.-]+`.
    mutating func name(_ node: YAMLNode, _ path: String) -> String? {
        guard let text = string(node, path) else { return nil }
        guard NameRules.isValidName(text) else {
            report(.invalidValue, node, path, "invalid name `\(text)`: use letters, digits, `_`, `.` and `-`")
            return nil
        }
        return text
    }

    /// A plain decimal integer within `range`.
    mutating func int(_ node: YAMLNode, _ path: String, in range: ClosedRange<Int>) -> Int? {
        guard case .scalar(let text, .plain) = node.content, let value = PlainScalar.int(text) else {
            wrongType(node, path, expected: "an integer")
            return nil
        }
        guard range.contains(value) else {
            let bound = range.upperBound == Int.max ? "≥ \(range.lowerBound)" : "in \(range.lowerBound)...\(range.upperBound)"
            report(.invalidValue, node, path, "\(value) is out of range: must be \(bound)")
            return nil
        }
        return value
    }

    /// A plain finite number; `check` returns the reason when the value is out of range.
    mutating func number(_ node: YAMLNode, _ path: String, check: (Double) -> String?) -> Double? {
        guard case .scalar(let text, .plain) = node.content, let value = PlainScalar.double(text) else {
            wrongType(node, path, expected: "a number")
            return nil
        }
        if let problem = check(value) {
            report(.invalidValue, node, path, problem)
            return nil
        }
        return value
    }

    /// A size in bytes: `10M`, `512K`, `1G` (powers of 1024) or a plain number of bytes, at
    /// least 4 KiB (a smaller file would rotate at nearly every line).
    mutating func byteSize(_ node: YAMLNode, _ path: String) -> Int? {
        guard case .scalar(let text, _) = node.content, !node.isNull else {
            wrongType(node, path, expected: "a size such as `10M`")
            return nil
        }
        guard let bytes = ByteSizeText.parse(text) else {
            report(.invalidValue, node, path, "invalid size `\(text)`: write a number of bytes or one with K, M or G, e.g. `10M`")
            return nil
        }
        guard bytes >= 4096 else {
            report(.invalidValue, node, path, "size `\(text)` is too small: at least 4K")
            return nil
        }
        return bytes
    }

    /// A plain `true` or `false`.
    mutating func bool(_ node: YAMLNode, _ path: String) -> Bool? {
        guard case .scalar(let text, .plain) = node.content, let value = PlainScalar.bool(text) else {
            wrongType(node, path, expected: "true or false")
            return nil
        }
        return value
    }

    /// A duration such as `250ms`, `1.5s`, `2m`, `1h` (see ``DurationText``).
    mutating func duration(_ node: YAMLNode, _ path: String) -> Duration? {
        guard case .scalar(let text, _) = node.content, !node.isNull else {
            wrongType(node, path, expected: "a duration such as `5s`")
            return nil
        }
        switch DurationText.parse(text) {
        case .success(let d): return d
        case .failure(.missingUnit):
            report(.invalidValue, node, path, "duration needs a unit (ms, s, m, h): write `\(text)s` or `\(text)ms`")
        case .failure(.negative):
            report(.invalidValue, node, path, "duration cannot be negative: `\(text)`")
        case .failure(.tooLarge):
            report(.invalidValue, node, path, "duration is too large: `\(text)`")
        case .failure(.malformed):
            report(.invalidValue, node, path, "invalid duration `\(text)`: expected a number and a unit (ms, s, m, h), e.g. `1.5s`")
        }
        return nil
    }

    /// A duration that must be greater than zero.
    mutating func positiveDuration(_ node: YAMLNode, _ path: String) -> Duration? {
        guard let d = duration(node, path) else { return nil }
        guard d > .zero else {
            report(.invalidValue, node, path, "must be greater than 0s")
            return nil
        }
        return d
    }

    /// A signal name in upper case, with or without `SIG`: `TERM`, `SIGKILL`.
    mutating func signal(_ node: YAMLNode, _ path: String) -> ProcessSignal? {
        if case .scalar(let text, .plain) = node.content, let number = PlainScalar.int(text) {
            let hint = ProcessSignal(number: Int32(truncatingIfNeeded: number)).name
            let example = hint == String(number) ? "`TERM`" : "`\(hint)`"
            report(.wrongType, node, path, "signals are given by name, e.g. \(example), not by number")
            return nil
        }
        guard let text = string(node, path) else { return nil }
        guard text == text.uppercased(), let signal = ProcessSignal(name: text) else {
            let upper = text.uppercased()
            let hint = ProcessSignal(name: upper) != nil ? "; signal names are upper case: `\(upper)`"
                : NameRules.suggestion(for: upper, among: ProcessSignal.knownNames).map { "; did you mean `\($0)`?" }
                    ?? "; known: \(ProcessSignal.knownNames.joined(separator: ", "))"
            report(.invalidValue, node, path, "unknown signal `\(text)`\(hint)")
            return nil
        }
        return signal
    }

    /// One of an enum's raw values.
    mutating func choice<T: RawRepresentable & CaseIterable>(_ node: YAMLNode, _ path: String, _: T.Type) -> T?
    where T.RawValue == String {
        guard let text = string(node, path) else { return nil }
        if let value = T(rawValue: text) { return value }
        let names = T.allCases.map(\.rawValue)
        let hint = NameRules.suggestion(for: text, among: names).map { "; did you mean `\($0)`?" } ?? ""
        report(.invalidValue, node, path, "`\(text)` is not one of \(names.joined(separator: ", "))\(hint)")
        return nil
    }

    /// Rejects `{{name}}` templates with names templates do not define.
    mutating func checkTemplates(_ text: String, _ node: YAMLNode, _ path: String) -> Bool {
        if let open = text.ranges(of: "{{").last, text[open.upperBound...].firstRange(of: "}}") == nil {
            report(.invalidValue, node, path, "unclosed template: `{{` without `}}`")
            return false
        }
        let unknown = Template.names(in: text).filter { !Template.variables.contains($0) }
        guard let first = unknown.first else { return true }
        let allowed = Template.variables.sorted().map { "{{\($0)}}" }.joined(separator: ", ")
        report(.unknownTemplateVariable, node, path, "unknown template variable `{{\(first)}}`; allowed: \(allowed)")
        return false
    }

    /// The items of a list, or of a single value written without brackets.
    func itemsOrSingle(_ node: YAMLNode) -> [(node: YAMLNode, suffix: Int?)] {
        if case .sequence(let items) = node.content { return items.enumerated().map { ($1, $0) } }
        return [(node, nil)]
    }
}
