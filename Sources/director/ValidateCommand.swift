import ArgumentParser
import DirectorManifest
import Glibc

/// `director validate`: load and check a jobs directory without running anything.
struct ValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check the manifests of a jobs directory.",
        discussion: """
            Loads every *.yaml and *.yml file of the directory, in name order, exactly as `run` \
            and a reload would. Prints a one-line summary and exits 0 when the directory is valid; \
            otherwise prints every error as FILE:LINE:COL: key.path: message and exits 1. \
            The children of all jobs together may not exceed --max-children (default 100000, \
            as for `run`). \
            Warns (on stderr, still exit 0) about what would fail as soon as it runs: a program \
            not found on the PATH or not executable, a cwd that does not exist; --strict makes \
            those warnings errors (exit 1).
            """
    )

    @Option(name: .long, help: ArgumentHelp("The jobs directory (default: $DIRECTOR_JOBS, else jobs).", valueName: "dir"))
    var jobs: String = EnvironmentDefaults.jobs

    @Option(name: .long, help: ArgumentHelp(
        "The most children in all, as `director run --max-children` would allow (default 100000).", valueName: "n"))
    var maxChildren: Int = ManifestLoader.defaultMaxChildren

    @Flag(name: .long, help: "Treat warnings (missing program, missing cwd) as errors.")
    var strict = false

    func validate() throws {
        if maxChildren < 0 { throw ValidationError("--max-children must be 0 or more") }
    }

    func run() throws {
        let report = ValidationReport(
            directory: jobs, maxChildren: maxChildren, strict: strict, searchPath: getenv("PATH").map { String(cString: $0) })
        if report.exitStatus == 0 {
            writeStandardError(report.warnings.map { $0 + "\n" }.joined())
            print(report.lines.joined(separator: "\n"))
        } else {
            writeStandardError(report.lines.map { $0 + "\n" }.joined())
            throw ExitCode(report.exitStatus)
        }
    }
}
