import DirectorManifest
import DirectorRuntime
import DirectorTable

/// Checks a tree built in code with exactly the loader's rules and messages.
///
/// How: each top-level group is written out as the manifest file it stands for (block YAML,
/// one key per line, named `(in code)/<group>.yaml`) and that text goes through
/// `ManifestLoader`, so there is one set of rules, not two that could drift apart. An error
/// names the key path and the line of that rendering, e.g.
/// `(in code)/web.yaml:7:15: jobs[0].instances: must be an integer ≥ 0`.
public enum ManifestValidator {
    /// The manifest as the loader makes it (working directories made absolute against the
    /// current directory, defaults filled in), or every error.
    public static func validate(
        _ manifest: Manifest, maxChildren: Int = ManifestLoader.defaultMaxChildren
    ) throws(ManifestErrors) -> Manifest {
        var errors: [ManifestError] = []
        var groups: [GroupSpec] = []
        var seen: Set<String> = []
        var children = 0
        for group in manifest.groups {
            let file = "(in code)/\(group.name.isEmpty ? "unnamed" : group.name).yaml"
            if !seen.insert(group.name).inserted {
                errors.append(ManifestError(
                    .duplicateName, at: SourceLocation(file: file, line: 1, column: 1), keyPath: "group",
                    "group \(group.name) is defined twice"))
                continue
            }
            do {
                let loaded = try ManifestLoader.load(
                    yaml: render(group), file: file, jobsDirectory: absolutePath("."),
                    maxChildren: max(0, maxChildren - children))
                children += Manifest(groups: [loaded]).childCount
                groups.append(loaded)
            } catch {
                errors += error.errors
            }
        }
        guard errors.isEmpty else { throw ManifestErrors(errors) }
        return Manifest(groups: groups)
    }

    /// The errors of one job as it would be checked inside a group (an empty list when it is
    /// valid): OTP's `check_childspecs`.
    public static func check(_ jobs: [JobSpec]) -> [ManifestError] {
        do {
            _ = try validate(Manifest(groups: [GroupSpec(name: "check", children: jobs.map { .job($0) })]))
            return []
        } catch {
            return error.errors
        }
    }

    /// The manifest file a group stands for.
    static func render(_ group: GroupSpec) -> String {
        YAMLText.render(.object([("group", .string(group.name))] + body(group)))
    }

    private static func body(_ group: GroupSpec) -> [(String, JSONValue)] {
        [
            ("strategy", .string(group.strategy.rawValue)),
            ("intensity", .int(Int64(group.intensity))),
            ("period", .string(DurationText.format(group.period))),
            ("jobs", .array(group.children.map { child in
                switch child {
                case .job(let job): jobJSON(job)
                case .group(let nested): .object([("group", .object([("name", .string(nested.name))] + body(nested)))])
                }
            })),
        ]
    }

    /// The job's manifest keys: the table's spec JSON without what the loader adds.
    private static func jobJSON(_ job: JobSpec) -> JSONValue {
        guard case .object(let members) = job.json else { return job.json }
        return .object(members.filter { $0.0 != "spec_hash" })
    }
}
