import Glibc

/// The identity keys of a job (`user`, `group`, `umask`, `rlimits`) and its `env_file`.
extension GroupDecoder {
    /// `user`, `group`, `umask` and `rlimits`; nil when one of them is wrong (reported).
    mutating func identity(_ e: [String: YAMLNode.Pair], path: String) -> ProcessIdentity? {
        var identity = ProcessIdentity()
        var ok = true
        func at(_ key: String) -> String { KeyPath.child(path, key) }
        if let v = e["user"]?.value {
            if let s = sink.string(v, at("user")), nonEmpty(s, v, at("user")) { identity.user = s } else { ok = false }
        }
        if let v = e["group"]?.value {
            if let s = sink.string(v, at("group")), nonEmpty(s, v, at("group")) { identity.group = s } else { ok = false }
        }
        if let v = e["umask"]?.value {
            if let m = umask(v, at("umask")) { identity.umask = m } else { ok = false }
        }
        if let v = e["rlimits"]?.value {
            if let l = rlimits(v, at("rlimits")) { identity.rlimits = l } else { ok = false }
        }
        guard ok else { return nil }
        return checkCredentials(identity, e, path: path) ? identity : nil
    }

    /// The user and group exist, and the daemon may take them: a daemon that cannot switch
    /// users (no CAP_SETUID/CAP_SETGID) can only run children as itself.
    private mutating func checkCredentials(_ identity: ProcessIdentity, _ e: [String: YAMLNode.Pair], path: String) -> Bool {
        let credentials: UserDatabase.Credentials?
        do {
            credentials = try UserDatabase.resolve(user: identity.user, group: identity.group)
        } catch {
            let node = e[error.key]!.value
            sink.report(.invalidValue, node, KeyPath.child(path, error.key), error.message)
            return false
        }
        guard let credentials, credentials.uid != geteuid() || credentials.gid != getegid(), !UserDatabase.canSwitchUsers else {
            return true
        }
        let key = credentials.uid != geteuid() ? "user" : "group"
        let node = (e[key] ?? e["user"] ?? e["group"])!.value
        sink.report(.invalidValue, node, KeyPath.child(path, key),
            "the daemon runs as uid \(geteuid()) gid \(getegid()) and cannot switch users (it lacks CAP_SETUID/CAP_SETGID); "
                + "run it as root or leave `\(key)` out")
        return false
    }

    private mutating func nonEmpty(_ s: String, _ node: YAMLNode, _ path: String) -> Bool {
        guard s.isEmpty else { return true }
        sink.report(.invalidValue, node, path, "must not be empty")
        return false
    }

    /// Octal digits, as `umask(1)` writes them: `0027`, `"027"`, `22`. YAML would read an
    /// unquoted `0027` as a number, so the text is taken whatever its style.
    private mutating func umask(_ node: YAMLNode, _ path: String) -> UInt32? {
        guard case .scalar(let text, _) = node.content, !node.isNull,
            (1...4).contains(text.count), text.allSatisfy({ ("0"..."7").contains($0) }), let value = UInt32(text, radix: 8),
            value <= 0o777
        else {
            sink.report(.invalidValue, node, path, "expected an octal umask such as \"0027\" (at most 0777)")
            return nil
        }
        return value
    }

    /// `{nofile: 65536, core: 0, as: unlimited, stack: {soft: 8M, hard: 64M}}`.
    private mutating func rlimits(_ node: YAMLNode, _ path: String) -> [ResourceLimit]? {
        let names = ResourceLimit.Resource.allCases.map(\.rawValue)
        guard let e = sink.mapping(node, path, allowed: names), case .mapping(let pairs) = node.content else { return nil }
        var limits: [ResourceLimit] = []
        var ok = true
        for pair in pairs {
            guard let key = pair.key.scalarText, let resource = ResourceLimit.Resource(rawValue: key), e[key] != nil else { continue }
            let p = KeyPath.child(path, key)
            if case .mapping = pair.value.content {
                guard let m = sink.mapping(pair.value, p, allowed: ["soft", "hard"], required: ["soft"]) else {
                    ok = false
                    continue
                }
                let soft = m["soft"].flatMap { limitValue($0.value, KeyPath.child(p, "soft"), resource) }
                let hard = m["hard"].map { limitValue($0.value, KeyPath.child(p, "hard"), resource) }
                guard let soft, hard != .some(nil) else {
                    ok = false
                    continue
                }
                let limit = ResourceLimit(resource, soft: soft, hard: hard ?? nil)
                guard limit.hard >= limit.soft else {
                    sink.report(.invalidValue, m["hard"]!.value, KeyPath.child(p, "hard"), "hard must be ≥ soft")
                    ok = false
                    continue
                }
                limits.append(limit)
            } else if let value = limitValue(pair.value, p, resource) {
                limits.append(ResourceLimit(resource, soft: value))
            } else {
                ok = false
            }
        }
        return ok ? limits : nil
    }

    /// A non-negative integer, `unlimited`, or for byte limits a number with `K`, `M` or `G`
    /// (powers of 1024).
    private mutating func limitValue(_ node: YAMLNode, _ path: String, _ resource: ResourceLimit.Resource) -> UInt64? {
        let expected = resource.isBytes
            ? "a non-negative integer, a size such as 64M (K, M, G), or unlimited" : "a non-negative integer or unlimited"
        guard case .scalar(let text, _) = node.content, !node.isNull else {
            sink.wrongType(node, path, expected: expected)
            return nil
        }
        if text == "unlimited" { return ResourceLimit.unlimited }
        var digits = Substring(text)
        var scale: UInt64 = 1
        if resource.isBytes, let last = text.last, let s = ["K": 1 << 10, "M": 1 << 20, "G": 1 << 30][String(last)] {
            scale = UInt64(s)
            digits = digits.dropLast()
        }
        guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }), let n = UInt64(digits) else {
            sink.report(.invalidValue, node, path, "expected \(expected), got `\(text)`")
            return nil
        }
        let (value, overflow) = n.multipliedReportingOverflow(by: scale)
        guard !overflow, value != ResourceLimit.unlimited else {
            sink.report(.invalidValue, node, path, "`\(text)` is too large; write unlimited")
            return nil
        }
        return value
    }

    /// `env_file: app.env`: read now, relative to the jobs directory. Its problems are
    /// reported at the env file's own line and column, with the job's key path.
    mutating func envFile(_ node: YAMLNode, _ path: String) -> EnvFile? {
        guard let text = sink.string(node, path) else { return nil }
        guard !text.isEmpty else {
            sink.report(.invalidValue, node, path, "env_file must not be empty")
            return nil
        }
        let file = PathText.resolve(text, against: jobsDirectory)
        let bytes: [UInt8]
        do {
            bytes = try FileSystem.read(file, limit: YAMLParser.maxBytes)
        } catch {
            sink.report(.unreadable, node, path, "cannot read env file \(file): \(error.message)")
            return nil
        }
        do {
            return EnvFile(path: file, variables: try DotEnv.parse(bytes))
        } catch {
            sink.errors.append(ManifestError(.invalidValue, at: SourceLocation(file: file, line: error.line, column: error.column),
                keyPath: path, error.message))
            return nil
        }
    }
}
