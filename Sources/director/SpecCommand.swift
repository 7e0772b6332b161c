import ArgumentParser

/// `director spec`: OTP's get_childspec.
struct SpecCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "spec",
        abstract: "Print the job spec a child runs under (OTP get_childspec).",
        discussion: Manual.spec
    )

    @Argument(help: ArgumentHelp("A child id or a job.", valueName: "id"))
    var id: String

    @OptionGroup var stateOptions: StateOptions

    @Flag(name: .long, help: "Print JSON instead of YAML.")
    var json = false

    func run() throws {
        try printSpec()
    }
}
