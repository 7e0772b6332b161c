import ArgumentParser
import DirectorManifest

/// `director validate`: load and check a jobs directory without running anything.
struct ValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check the manifests of a jobs directory.",
        discussion: """
            Loads every *.yaml and *.yml file of the directory, in name order, exactly as `run` \
            and a reload would. Prints a one-line summary and exits 0 when the directory is valid; \
            otherwise prints every error as FILE:LINE:COL: key.path: message and exits 1.
            """
    )

    @Option(name: .long, help: ArgumentHelp("The jobs directory.", valueName: "dir"))
    var jobs: String = "jobs"

    func run() throws {
        let report = ValidationReport(directory: jobs)
        if report.exitStatus == 0 {
            print(report.lines.joined(separator: "\n"))
        } else {
            writeStandardError(report.lines.map { $0 + "\n" }.joined())
            throw ExitCode(report.exitStatus)
        }
    }
}
