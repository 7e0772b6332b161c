/// Builds typed groups and jobs from YAML nodes, checking every key of DESIGN.md §2 and
/// applying every default (`Defaults` and the model initialisers). Errors go to `sink`; a
/// decoder keeps going after an error so one run reports as much as it can.
struct GroupDecoder {
    init(jobsDirectory: String, tally: ChildTally) {
        self.jobsDirectory = jobsDirectory
        self.tally = tally
    }

    /// Relative `cwd` values are resolved against this absolute directory, also the default cwd.
    let jobsDirectory: String
    /// Problems found so far.
    var sink = ErrorSink()
    /// Children declared so far, in this file and the files loaded before it.
    var tally: ChildTally

    static let fileKeys = ["group", "strategy", "intensity", "period", "jobs"]
    static let nestedGroupKeys = ["name", "strategy", "intensity", "period", "jobs"]
    static let jobKeys = [
        "name", "command", "instances", "cwd", "env", "restart", "delay", "backoff", "reset_after",
        "on_exit", "shutdown", "log", "env_file", "user", "group", "umask", "rlimits", "ready",
        "update", "limits",
        "health", "watchdog",
    ]

    /// A whole file: one top-level group, named by `group:` or else `defaultName`.
    mutating func fileGroup(_ root: YAMLNode, file: String, defaultName: String) -> GroupSpec? {
        guard let entries = sink.mapping(root, "", allowed: Self.fileKeys, required: ["jobs"]) else { return nil }
        var name: String?
        var location = SourceLocation(file: file, line: 1, column: 1)
        if let pair = entries["group"] {
            name = sink.name(pair.value, "group")
            location = pair.value.location
        } else if NameRules.isValidName(defaultName) {
            name = defaultName
        } else {
            sink.report(.invalidValue, root, "",
                "the file name gives the invalid group name `\(defaultName)`; add `group: NAME` with letters, digits, `_`, `.` and `-`")
        }
        var group = groupBody(entries, path: "")
        group?.file = file
        group?.location = location
        guard let name, var group else { return nil }
        group.name = name
        return group
    }

    /// `- group: {name: ..., strategy: ..., jobs: [...]}` inside a `jobs` list.
    private mutating func nestedGroup(_ node: YAMLNode, path: String) -> GroupSpec? {
        guard let entries = sink.mapping(node, path, allowed: Self.nestedGroupKeys, required: ["name", "jobs"])
        else { return nil }
        let name = entries["name"].flatMap { sink.name($0.value, KeyPath.child(path, "name")) }
        var group = groupBody(entries, path: path)
        guard let name else { return nil }
        group?.name = name
        group?.location = entries["name"]?.value.location
        return group
    }

    /// strategy, intensity, period and jobs, shared by file and nested groups.
    private mutating func groupBody(_ entries: [String: YAMLNode.Pair], path: String) -> GroupSpec? {
        var group = GroupSpec(name: "")
        var ok = true
        if let v = entries["strategy"]?.value {
            if let s = sink.choice(v, KeyPath.child(path, "strategy"), Strategy.self) { group.strategy = s } else { ok = false }
        }
        if let v = entries["intensity"]?.value {
            if let n = sink.int(v, KeyPath.child(path, "intensity"), in: 0...Int.max) { group.intensity = n } else { ok = false }
        }
        if let v = entries["period"]?.value {
            if let d = sink.positiveDuration(v, KeyPath.child(path, "period")) { group.period = d } else { ok = false }
        }
        if let v = entries["jobs"]?.value {
            if let children = children(v, path: KeyPath.child(path, "jobs")) { group.children = children } else { ok = false }
        }
        return ok ? group : nil
    }

    /// The `jobs` list: jobs and nested groups, names unique among siblings.
    private mutating func children(_ node: YAMLNode, path: String) -> [GroupChild]? {
        guard case .sequence(let items) = node.content else {
            sink.wrongType(node, path, expected: "a list of jobs")
            return nil
        }
        var children: [GroupChild] = []
        var ok = true
        var seen: [String: SourceLocation] = [:]
        for (index, item) in items.enumerated() {
            let itemPath = KeyPath.item(path, index)
            let child: GroupChild?
            // `group` is also a job key (the job's Unix group, a string): an item is a nested
            // group when its `group` is a mapping, or when it has no `name` of its own.
            if case .mapping(let pairs) = item.content, let g = pairs.first(where: { $0.key.scalarText == "group" }),
                { if case .mapping = g.value.content { return true } else { return false } }()
                    || !pairs.contains(where: { $0.key.scalarText == "name" })
            {
                let entries = sink.mapping(item, itemPath, allowed: ["group"])
                child = entries?["group"].flatMap { nestedGroup($0.value, path: KeyPath.child(itemPath, "group")) }.map { .group($0) }
            } else {
                child = job(item, path: itemPath).map { .job($0) }
            }
            guard let child else {
                ok = false
                continue
            }
            let location = Self.location(of: child) ?? item.location
            if let first = seen[child.name] {
                sink.errors.append(ManifestError(.duplicateName, at: location, keyPath: Self.namePath(of: child, itemPath),
                    "`\(child.name)` is already used in this group at line \(first.line), column \(first.column)"))
                ok = false
                continue
            }
            seen[child.name] = location
            children.append(child)
        }
        return ok ? children : nil
    }

    private static func namePath(of child: GroupChild, _ itemPath: String) -> String {
        if case .group = child { return KeyPath.child(KeyPath.child(itemPath, "group"), "name") }
        return KeyPath.child(itemPath, "name")
    }

    private static func location(of child: GroupChild) -> SourceLocation? {
        switch child {
        case .job(let j): j.location
        case .group(let g): g.location
        }
    }
}
