/// Loads and validates manifests: a whole jobs directory (each `*.yaml`/`*.yml` file is one
/// group, in byte-wise file-name order) or one file's text.
///
/// Every problem of every file is collected and thrown together as ``ManifestErrors``; a
/// file with YAML-level problems (syntax, duplicate keys, aliases) is not checked further.
/// An empty directory is valid and yields a manifest with no groups.
public enum ManifestLoader {
    /// The most children a jobs directory may declare in all (DESIGN §2), unless
    /// `director run --max-children N` says otherwise: 100 000.
    public static let defaultMaxChildren = 100_000

    /// Loads every manifest file of `directory`. Relative `cwd`s resolve against the
    /// directory (made absolute), which is also the default `cwd`.
    ///
    /// - Parameter maxChildren: the most children the directory may declare in all (the sum
    ///   of every job's `instances`, nested groups included). The job that crosses it is a
    ///   ``ManifestError/Code/tooManyChildren`` error at its `instances`; the sum is checked
    ///   while decoding, so nothing is ever sized by a manifest over the limit.
    public static func load(directory: String, maxChildren: Int = defaultMaxChildren) throws(ManifestErrors) -> Manifest {
        let here = SourceLocation(file: directory, line: 1, column: 1)
        guard FileSystem.isDirectory(directory) else {
            throw ManifestErrors([ManifestError(.unreadable, at: here, "jobs directory not found or not a directory")])
        }
        let names: [FileSystem.ManifestName]
        do {
            names = try FileSystem.manifestFiles(in: directory)
        } catch {
            throw ManifestErrors([ManifestError(.unreadable, at: here, "cannot list the jobs directory: \(error.message)")])
        }
        let absoluteDirectory = FileSystem.absolute(directory)
        var groups: [GroupSpec] = []
        var errors: [ManifestError] = []
        var tally = ChildTally(maximum: maxChildren)
        func inDirectory(_ name: String) -> String { directory.hasSuffix("/") ? directory + name : directory + "/" + name }
        for entry in names {
            let name: String
            switch entry {
            case .text(let text): name = text
            case .notUTF8(let escaped):
                // Skipping it would run a directory without a group its owner wrote; it
                // cannot be loaded either: a group name (the default) and every error line
                // are text. Named with its bytes escaped so the owner can find and rename it.
                errors.append(ManifestError(.invalidFileName, at: SourceLocation(file: inDirectory(escaped), line: 1, column: 1),
                    "the file name is not valid UTF-8; rename the file"))
                continue
            }
            let path = inDirectory(name)
            do {
                let bytes = try FileSystem.read(path, limit: YAMLParser.maxBytes)
                groups.append(try loadGroup(bytes: bytes, file: path, jobsDirectory: absoluteDirectory, tally: &tally))
            } catch let failure as FileSystem.Failure {
                let kind: ManifestError.Code = failure.isTooLarge ? .tooLarge : .unreadable
                errors.append(ManifestError(kind, at: SourceLocation(file: path, line: 1, column: 1), failure.message))
            } catch let failure as ManifestErrors {
                errors += failure.errors
            } catch {
                errors.append(ManifestError(.unreadable, at: SourceLocation(file: path, line: 1, column: 1), "\(error)"))
            }
        }
        errors += duplicateGroupErrors(groups)
        guard errors.isEmpty else { throw ManifestErrors(errors) }
        return Manifest(groups: groups)
    }

    /// Loads one file's text as one group (for tests and tools). `file` names the file in
    /// errors and gives the default group name; `jobsDirectory` (default: the file's
    /// directory, made absolute) resolves relative `cwd`s.
    /// `maxChildren` limits the file's children as ``load(directory:maxChildren:)`` does.
    public static func load(
        yaml: String, file: String, jobsDirectory: String? = nil, maxChildren: Int = defaultMaxChildren
    ) throws(ManifestErrors) -> GroupSpec {
        try load(bytes: Array(yaml.utf8), file: file, jobsDirectory: jobsDirectory, maxChildren: maxChildren)
    }

    /// Like ``load(yaml:file:jobsDirectory:maxChildren:)`` for raw bytes, which need not be valid UTF-8.
    public static func load(
        bytes: [UInt8], file: String, jobsDirectory: String? = nil, maxChildren: Int = defaultMaxChildren
    ) throws(ManifestErrors) -> GroupSpec {
        let directory = FileSystem.absolute(jobsDirectory ?? PathText.directoryName(file))
        var tally = ChildTally(maximum: maxChildren)
        return try loadGroup(bytes: bytes, file: file, jobsDirectory: directory, tally: &tally)
    }

    /// One file as one group; `tally` carries the count of children over the files of a
    /// directory, so the limit is on their sum.
    private static func loadGroup(
        bytes: [UInt8], file: String, jobsDirectory: String, tally: inout ChildTally
    ) throws(ManifestErrors) -> GroupSpec {
        let root = try YAMLParser.parse(bytes, file: file)
        var decoder = GroupDecoder(jobsDirectory: jobsDirectory, tally: tally)
        let group = decoder.fileGroup(root, file: file, defaultName: defaultGroupName(file))
        tally = decoder.tally
        let errors = decoder.sink.errors.enumerated().sorted { a, b in
            let (x, y) = (a.element.location, b.element.location)
            return (x.line, x.column, a.offset) < (y.line, y.column, b.offset)
        }.map(\.element)
        guard errors.isEmpty, let group else {
            throw ManifestErrors(errors.isEmpty ? [ManifestError(.invalidValue, at: root.location, "invalid group")] : errors)
        }
        return group
    }

    /// The file name without its `.yaml`/`.yml` extension.
    static func defaultGroupName(_ file: String) -> String {
        let base = PathText.baseName(file)
        for ext in [".yaml", ".yml"] where base.hasSuffix(ext) { return String(base.dropLast(ext.count)) }
        return base
    }

    /// Top-level group names must be unique across files; the later one is the error.
    private static func duplicateGroupErrors(_ groups: [GroupSpec]) -> [ManifestError] {
        var seen: [String: SourceLocation] = [:]
        var errors: [ManifestError] = []
        for group in groups {
            let here = group.location ?? SourceLocation(file: group.file ?? "?", line: 1, column: 1)
            if let first = seen[group.name] {
                errors.append(ManifestError(.duplicateName, at: here, keyPath: "group",
                    "group `\(group.name)` is already defined at \(first)"))
            } else {
                seen[group.name] = here
            }
        }
        return errors
    }
}
