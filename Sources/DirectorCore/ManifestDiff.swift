import DirectorManifest

/// The difference between two manifests, as a hot reload applies it: what starts, what
/// stops, what restarts, what scales and what changes in place. Keys are group paths
/// (`web/cache`) and job keys (`web/api`), each list in tree order.
public struct ManifestDiff: Sendable, Hashable {
    /// Groups only in the new manifest (nested ones of a new group included).
    public var addedGroups: [String] = []
    /// Groups only in the old manifest (nested ones of a removed group included).
    public var removedGroups: [String] = []
    /// Groups in both whose strategy, intensity or period changed.
    public var updatedGroups: [String] = []
    /// Jobs only in the new manifest, in groups present in both.
    public var addedJobs: [String] = []
    /// Jobs only in the old manifest, in groups present in both.
    public var removedJobs: [String] = []
    /// Jobs whose process-defining keys changed (command, env, cwd, shutdown): they restart.
    public var restartedJobs: [String] = []
    /// Jobs whose `instances` changed: they scale.
    public var scaledJobs: [String] = []
    /// Jobs whose other keys changed: the change applies in place.
    public var updatedJobs: [String] = []

    /// Creates an empty diff.
    public init() {}

    /// True when the group `key` (or anything below it) is added, removed, updated, or has a
    /// job that is added, removed, restarted, scaled or updated.
    public func touches(_ key: String) -> Bool {
        let prefix = key + "/"
        let keys = [addedGroups, removedGroups, updatedGroups, addedJobs, removedJobs, restartedJobs, scaledJobs, updatedJobs]
        return keys.contains { list in list.contains { $0 == key || $0.hasPrefix(prefix) } }
    }

    /// True when nothing changed.
    public var isEmpty: Bool { self == ManifestDiff() }

    /// Compares `old` with `new`.
    public static func between(_ old: Manifest, _ new: Manifest) -> ManifestDiff {
        let before = Flat(old)
        let after = Flat(new)
        var diff = ManifestDiff()
        diff.addedGroups = after.groupOrder.filter { before.groups[$0] == nil }
        diff.removedGroups = before.groupOrder.filter { after.groups[$0] == nil }
        for key in after.groupOrder {
            guard let was = before.groups[key], let now = after.groups[key] else { continue }
            if was.strategy != now.strategy || was.intensity != now.intensity || was.period != now.period {
                diff.updatedGroups.append(key)
            }
        }
        for key in after.jobOrder {
            guard let now = after.jobs[key] else { continue }
            guard let was = before.jobs[key] else {
                if before.groups[after.groupOf[key] ?? ""] != nil { diff.addedJobs.append(key) }
                continue
            }
            if now.processDiffers(from: was) { diff.restartedJobs.append(key) }
            if now.instances != was.instances { diff.scaledJobs.append(key) }
            var sameSize = was
            sameSize.instances = now.instances
            if sameSize.definitionDiffers(from: now) && !now.processDiffers(from: was) { diff.updatedJobs.append(key) }
        }
        diff.removedJobs = before.jobOrder.filter { key in
            after.jobs[key] == nil && after.groups[before.groupOf[key] ?? ""] != nil
        }
        return diff
    }

    /// A manifest flattened into keyed tables.
    private struct Flat {
        var groups: [String: GroupSpec] = [:]
        var groupOrder: [String] = []
        var jobs: [String: JobSpec] = [:]
        var jobOrder: [String] = []
        var groupOf: [String: String] = [:]

        init(_ manifest: Manifest) {
            for group in manifest.groups { add(group, parent: "") }
        }

        private mutating func add(_ group: GroupSpec, parent: String) {
            let key = parent.isEmpty ? group.name : parent + "/" + group.name
            groups[key] = group
            groupOrder.append(key)
            for child in group.children {
                switch child {
                case .job(let job):
                    let jobKey = key + "/" + job.name
                    jobs[jobKey] = job
                    jobOrder.append(jobKey)
                    groupOf[jobKey] = key
                case .group(let nested):
                    add(nested, parent: key)
                }
            }
        }
    }
}

extension JobSpec {
    /// True when `other` differs in anything but its source location: a job that only moved
    /// (a line added above it, its file renamed) is not a change.
    func definitionDiffers(from other: JobSpec) -> Bool {
        var a = self, b = other
        a.location = nil
        b.location = nil
        return a != b
    }
}
