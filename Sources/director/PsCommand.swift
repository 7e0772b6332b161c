import ArgumentParser

/// `director ps`: the children, read from the table.
struct PsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ps",
        abstract: "List children and their state.",
        discussion: """
            Reads <state>/table directly (read-only), so it works while the daemon runs, after it \
            stopped and after it was killed. PREFIX selects whole path segments: `web` lists the \
            group web, `web/api` every instance of the job api.
            """
    )

    @OptionGroup var stateOptions: StateOptions
    @OptionGroup var sharedTable: SharedTableOptions
    @OptionGroup var clusterOptions: ClusterOptions

    @Option(name: .long, help: ArgumentHelp("Only the children of this node (on a shared table).", valueName: "name"))
    var node: String?

    @Flag(name: .long, help: "Print the child records as a JSON array.")
    var json = false

    @Argument(help: ArgumentHelp("Only children under this group or job.", valueName: "prefix"))
    var prefix: String?

    func run() throws {
        if let location = try clusterOptions.location() { return try listCluster(location) }
        try listChildren()
    }
}
