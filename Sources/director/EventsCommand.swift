import ArgumentParser

/// `director events`: the lifecycle history, read from the table.
struct EventsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "events",
        abstract: "Print recorded lifecycle events.",
        discussion: """
            The table keeps the newest 10 000 events, each with a sequence number that is never \
            reused, not even across daemon restarts. With --follow, waits for new events until \
            interrupted.
            """
    )

    @OptionGroup var stateOptions: StateOptions
    @OptionGroup var sharedTable: SharedTableOptions
    @OptionGroup var clusterOptions: ClusterOptions

    @Option(name: .long, help: ArgumentHelp("Only the events of this node (on a shared table).", valueName: "name"))
    var node: String?

    @Flag(name: .long, help: "One JSON object per line.")
    var json = false

    @Option(name: .long, help: ArgumentHelp("Only events after this sequence number.", valueName: "seq"))
    var since: UInt64?

    @Flag(name: .long, help: "Keep printing new events as they are recorded.")
    var follow = false

    func run() throws {
        if let location = try clusterOptions.location() { return try printCluster(location) }
        try printEvents()
    }
}
