import ArgumentParser

/// `director count`: OTP's count_children.
struct CountCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "count",
        abstract: "Count specs, active children, supervisors and workers (OTP count_children).",
        discussion: Manual.count
    )

    @OptionGroup var stateOptions: StateOptions

    func run() throws {
        try countChildren()
    }
}
