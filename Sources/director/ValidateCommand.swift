import ArgumentParser
import DirectorManifest
import Glibc

/// `director validate`: load and check a jobs directory without running anything.
struct ValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check the manifests of a jobs directory.",
        discussion: Manual.validate
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
