/// What `director validate` prints for a valid directory: counts and one line of text.
public struct ValidationSummary: Sendable, Hashable, CustomStringConvertible {
    /// Groups, nested groups included.
    public var groups: Int
    /// Jobs (child specs), in nested groups too.
    public var jobs: Int
    /// Children: the sum of every job's `instances`.
    public var children: Int

    /// Counts a manifest.
    public init(_ manifest: Manifest) {
        var groups = 0
        var jobs = 0
        func visit(_ group: GroupSpec) {
            groups += 1
            for child in group.children {
                switch child {
                case .job: jobs += 1
                case .group(let nested): visit(nested)
                }
            }
        }
        manifest.groups.forEach(visit)
        self.groups = groups
        self.jobs = jobs
        self.children = manifest.childCount
    }

    /// `ok: 3 groups, 6 jobs, 11 children` (singular for 1).
    public var description: String {
        func count(_ n: Int, _ one: String, _ many: String) -> String { "\(n) \(n == 1 ? one : many)" }
        return "ok: \(count(groups, "group", "groups")), \(count(jobs, "job", "jobs")), \(count(children, "child", "children"))"
    }
}

/// The outcome of `director validate`: what to print and the exit status.
public struct ValidationReport: Sendable, Hashable {
    /// Output lines: the `ok: ...` summary, or one `FILE:LINE:COL: key.path: message` per error.
    public var lines: [String]
    /// `FILE:LINE:COL: warning: group/job: message` lines (`ManifestWarning`), for stderr.
    public var warnings: [String]
    /// 0 when valid (warnings allowed), 1 when not, or with `strict` and any warning.
    public var exitStatus: Int32

    /// Creates a report from its parts.
    public init(lines: [String], warnings: [String] = [], exitStatus: Int32) {
        self.lines = lines
        self.warnings = warnings
        self.exitStatus = exitStatus
    }

    /// Loads and validates `directory`, then checks what would fail at once
    /// (`ManifestWarnings`) against `searchPath`; `strict` turns warnings into errors. At most
    /// `maxChildren` children in all (as `director run --max-children` would run it).
    public init(
        directory: String, maxChildren: Int = ManifestLoader.defaultMaxChildren, strict: Bool = false,
        searchPath: String? = nil
    ) {
        do {
            let manifest = try ManifestLoader.load(directory: directory, maxChildren: maxChildren)
            let found = ManifestWarnings.check(manifest, searchPath: searchPath).map(\.description)
            if strict && !found.isEmpty {
                lines = found.map { $0.replacingFirst("warning: ", with: "error: ") }
                warnings = []
                exitStatus = 1
            } else {
                lines = [ValidationSummary(manifest).description]
                warnings = found
                exitStatus = 0
            }
        } catch {
            lines = error.errors.map(\.description)
            warnings = []
            exitStatus = 1
        }
    }
}

extension String {
    fileprivate func replacingFirst(_ target: String, with replacement: String) -> String {
        guard let range = firstRange(of: target) else { return self }
        return String(self[..<range.lowerBound]) + replacement + String(self[range.upperBound...])
    }
}
