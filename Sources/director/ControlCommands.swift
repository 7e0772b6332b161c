import ArgumentParser

/// `director stop ID|PREFIX...`.
struct StopCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stop",
        abstract: "Stop children; they stay in the table as stopped.",
        discussion: Manual.stop
    )
    @Argument(help: ArgumentHelp("Child ids or prefixes.", valueName: "id"))
    var ids: [String]
    @OptionGroup var stateOptions: StateOptions
    @OptionGroup var sharedTable: SharedTableOptions

    @OptionGroup var clusterOptions: ClusterOptions
    @Option(name: .long, help: ArgumentHelp("With --cluster: the node that runs the children.", valueName: "name"))
    var node: String?
    @Option(name: .long, help: ArgumentHelp("With --cluster: how long to wait for the node's answer, in seconds.", valueName: "seconds"))
    var timeout: Double = 10

    func run() throws {
        if let location = try clusterOptions.location() {
            return try sendClusterCommand("stop", ids: ids, node: node, location: location, verb: "stopping", timeout: timeout)
        }
        try sendStop()
    }
}

/// `director start ID|PREFIX...`.
struct StartCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "start",
        abstract: "Start children that are not running; start a group the root gave up again.",
        discussion: Manual.start
    )
    @Argument(help: ArgumentHelp("Child ids, prefixes or groups.", valueName: "id"))
    var ids: [String]
    @OptionGroup var stateOptions: StateOptions
    @OptionGroup var sharedTable: SharedTableOptions

    @OptionGroup var clusterOptions: ClusterOptions
    @Option(name: .long, help: ArgumentHelp("With --cluster: the node that runs the children.", valueName: "name"))
    var node: String?
    @Option(name: .long, help: ArgumentHelp("With --cluster: how long to wait for the node's answer, in seconds.", valueName: "seconds"))
    var timeout: Double = 10

    func run() throws {
        if let location = try clusterOptions.location() {
            return try sendClusterCommand("start", ids: ids, node: node, location: location, verb: "starting", timeout: timeout)
        }
        try sendStart()
    }
}

/// `director restart ID|PREFIX...`.
struct RestartCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restart",
        abstract: "Restart children (running ones are stopped first); resets their restart count.",
        discussion: Manual.restart
    )
    @Argument(help: ArgumentHelp("Child ids or prefixes.", valueName: "id"))
    var ids: [String]
    @Flag(name: .long, help: "Replace running instances one at a time, each new one ready before an old one stops.")
    var rolling = false
    @OptionGroup var stateOptions: StateOptions
    @OptionGroup var sharedTable: SharedTableOptions

    @OptionGroup var clusterOptions: ClusterOptions
    @Option(name: .long, help: ArgumentHelp("With --cluster: the node that runs the children.", valueName: "name"))
    var node: String?
    @Option(name: .long, help: ArgumentHelp("With --cluster: how long to wait for the node's answer, in seconds.", valueName: "seconds"))
    var timeout: Double = 10

    func run() throws {
        if let location = try clusterOptions.location() {
            return try sendClusterCommand("restart", ids: ids, node: node, location: location, verb: "restarting", timeout: timeout)
        }
        try sendRestart()
    }
}

/// `director delete ID|PREFIX...`.
struct DeleteCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delete",
        abstract: "Delete stopped or waiting children from the table.",
        discussion: Manual.delete
    )
    @Argument(help: ArgumentHelp("Child ids or prefixes.", valueName: "id"))
    var ids: [String]
    @OptionGroup var stateOptions: StateOptions

    func run() throws {
        try sendDelete()
    }
}

/// `director scale GROUP/JOB N`.
struct ScaleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scale",
        abstract: "Resize a job's pool.",
        discussion: Manual.scale
    )
    @Argument(help: ArgumentHelp("The job, as group/job.", valueName: "group/job"))
    var job: String
    @Argument(help: ArgumentHelp("The new number of instances.", valueName: "n"))
    var instances: Int
    @OptionGroup var stateOptions: StateOptions

    func validate() throws {
        guard instances >= 0 else { throw ValidationError("instances must be 0 or more") }
    }

    func run() throws {
        try sendScale()
    }
}

/// `director reload`.
struct ReloadCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reload",
        abstract: "Apply the jobs directory's current manifests to the running tree.",
        discussion: Manual.reload
    )
    @OptionGroup var stateOptions: StateOptions

    func run() throws {
        try sendReload()
    }
}

/// `director shutdown`.
struct ShutdownCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shutdown",
        abstract: "Stop the whole tree in reverse order and end the daemon (exit 0).",
        discussion: Manual.shutdown
    )
    @OptionGroup var stateOptions: StateOptions

    @Option(name: .long, help: ArgumentHelp("Seconds to wait for the daemon to exit.", valueName: "seconds"))
    var wait: Int = 120

    func run() throws {
        try sendShutdown()
    }
}
