import ArgumentParser
import DirectorManifest

/// `director run`: the foreground daemon.
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run the supervisor in the foreground.",
        discussion: Manual.run
    )

    @Option(name: .long, help: ArgumentHelp("The jobs directory (default: $DIRECTOR_JOBS, else jobs).", valueName: "dir"))
    var jobs: String = EnvironmentDefaults.jobs

    @OptionGroup var stateOptions: StateOptions

    @Option(name: .long, help: ArgumentHelp(
        "A state table to share with other daemons (each with its own --state); default: <state>/table.", valueName: "dir"))
    var table: String?

    @Option(name: .long, help: ArgumentHelp(
        "This daemon's node name on a shared table (default with --table: the host name).", valueName: "name"))
    var node: String?

    @OptionGroup var clusterOptions: ClusterOptions

    @Option(name: .long, help: ArgumentHelp(
        "With --cluster: how long this node may miss heartbeats before it is shown down, e.g. 10s (heartbeats every third of it).",
        valueName: "duration"))
    var lease = "10s"

    @Option(name: .long, help: ArgumentHelp("Daemon log format: text or json.", valueName: "format"))
    var logFormat: LogFormatOption = .text

    @Option(name: .long, help: ArgumentHelp(
        "Colour children's ids on stdout: auto (when stdout is a terminal and NO_COLOR is unset), always or never.",
        valueName: "when"))
    var color: ColorOption = .auto

    @Flag(name: .long, help: "Print every engine transition: event, state before and after, effects.")
    var trace = false

    @Option(name: .long, help: ArgumentHelp("Root restart intensity (default 3).", valueName: "n"))
    var intensity: Int?

    @Option(name: .long, help: ArgumentHelp("Root restart period, e.g. 60s (default 60s).", valueName: "duration"))
    var period: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "When a group fails more often than the root allows: give-up (stop that group only) or exit (stop the tree, exit 1).",
            valueName: "policy"))
    var rootFailure: RootFailureOption = .giveUp

    @Option(name: .long, help: ArgumentHelp("Quiet time before a manifest change is applied, e.g. 200ms.", valueName: "duration"))
    var reloadDebounce: String = "200ms"

    @Flag(name: .long, help: "Do not watch the jobs directory for changes (SIGHUP and `director reload` still work).")
    var noWatch = false

    @Option(name: .long, help: ArgumentHelp(
        "The most children in all (default 100000): manifests over it are refused at start and at every reload, and so is a scale past it.",
        valueName: "n"))
    var maxChildren: Int = ManifestLoader.defaultMaxChildren

    func run() throws {
        try runDaemon()
    }
}

/// `--root-failure`.
enum RootFailureOption: String, ExpressibleByArgument, CaseIterable {
    case giveUp = "give-up"
    case exit
}

/// `--log-format`.
/// `--color`.
enum ColorOption: String, ExpressibleByArgument, CaseIterable {
    case auto, always, never
}

enum LogFormatOption: String, ExpressibleByArgument, CaseIterable {
    case text, json
}
