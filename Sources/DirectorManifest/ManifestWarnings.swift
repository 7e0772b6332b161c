import Glibc

/// Something in a valid manifest that will fail as soon as it runs: a program that is not on
/// the PATH or not executable, a working directory that does not exist. `director validate`
/// prints these (exit 0, or 1 with `--strict`); the daemon logs them at start and reload.
public struct ManifestWarning: Sendable, Hashable, CustomStringConvertible {
    /// Where the job is declared (its `name:`).
    public var location: SourceLocation?
    /// The job's key, `group/job`.
    public var job: String
    /// What will fail.
    public var message: String

    /// Creates a warning.
    public init(location: SourceLocation?, job: String, message: String) {
        self.location = location
        self.job = job
        self.message = message
    }

    /// `FILE:LINE:COL: warning: group/job: message`.
    public var description: String {
        "\(location.map { "\($0): " } ?? "")warning: \(job): \(message)"
    }
}

/// The checks behind `ManifestWarning`. They read the file system, so their answer is about
/// this machine now: a warning, never an error, unless `validate --strict` asks for it.
public enum ManifestWarnings {
    /// Checks every job of `manifest`. `searchPath` is the PATH the daemon would use (a job's
    /// own `env: {PATH: ...}` wins, as at spawn time); templates are expanded for instance 0.
    ///
    /// `limits`: the controllers the daemon's children's cgroups have; a `limits` key whose
    /// controller is missing is not applied, and each such key gets a warning naming it.
    public static func check(
        _ manifest: Manifest, searchPath: String?, limits: @autoclosure () -> LimitSupport = LimitSupport.probe()
    ) -> [ManifestWarning] {
        var support: LimitSupport?
        var warnings: [ManifestWarning] = []
        var jobs: [(String, JobSpec)] = []
        func walk(_ group: GroupSpec, _ path: [String]) {
            let here = path + [group.name]
            for child in group.children {
                switch child {
                case .job(let j): jobs.append(((here + [j.name]).joined(separator: "/"), j))
                case .group(let g): walk(g, here)
                }
            }
        }
        manifest.groups.forEach { walk($0, []) }
        for (key, job) in jobs {
            if !job.limits.isEmpty {
                if support == nil { support = limits() }
                for controller in job.limits.controllers where support?.available.contains(controller) == false {
                    warnings.append(ManifestWarning(location: job.location, job: key, message:
                        "limits.\(controller) is not applied: the \(controller) controller is not available (\(support?.reason ?? ""))"))
                }
            }
            guard let id = ChildID(key + "/0") else { continue }
            let cwd = Template.expand(job.cwd, for: id)
            let cwdProblem = directoryProblem(cwd)
            if let cwdProblem {
                warnings.append(ManifestWarning(location: job.location, job: key, message: "cwd \(cwd) \(cwdProblem)"))
            }
            guard case .argv(let argv) = job.command, let first = argv.first else { continue }
            let program = Template.expand(first, for: id)
            let path = job.env.last { $0.name == "PATH" }.map { Template.expand($0.value, for: id) }
                ?? searchPath ?? "/usr/local/bin:/usr/bin:/bin"
            if let problem = programProblem(program, searchPath: path, cwd: cwdProblem == nil ? cwd : nil) {
                warnings.append(ManifestWarning(location: job.location, job: key, message: problem))
            }
        }
        return warnings
    }

    /// Why `program` cannot be executed, or nil. A relative name with a slash is looked up
    /// from `cwd` (as execve would after the chdir); without a usable cwd it is not judged.
    static func programProblem(_ program: String, searchPath: String, cwd: String?) -> String? {
        if program.contains("/") {
            let path = program.hasPrefix("/") ? program : cwd.map { $0 + "/" + program }
            guard let path else { return nil }
            var st = stat()
            guard stat(path, &st) == 0 else { return "command \(program) does not exist" }
            if (st.st_mode & S_IFMT) == S_IFDIR { return "command \(program) is a directory" }
            return access(path, X_OK) == 0 ? nil : "command \(program) is not executable"
        }
        var sawDenied = false
        for dir in searchPath.split(separator: ":", omittingEmptySubsequences: false) {
            let candidate = (dir.isEmpty ? "." : String(dir)) + "/" + program
            var st = stat()
            guard stat(candidate, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { continue }
            if access(candidate, X_OK) == 0 { return nil }
            sawDenied = true
        }
        return sawDenied
            ? "command \(program) is on the PATH but not executable (PATH=\(searchPath))"
            : "command \(program) is not found on the PATH (PATH=\(searchPath))"
    }

    /// Why `cwd` cannot be a working directory, or nil.
    static func directoryProblem(_ cwd: String) -> String? {
        var st = stat()
        guard stat(cwd, &st) == 0 else { return "does not exist" }
        guard (st.st_mode & S_IFMT) == S_IFDIR else { return "is not a directory" }
        return access(cwd, X_OK) == 0 ? nil : "cannot be entered (permission denied)"
    }
}
