import ArgumentParser
import DirectorManifest
import DirectorTable

/// `director ps`: the children, read from the table. `PsSource` reads a frame (table, daemon
/// presence, /proc), `PsView` turns it into text, `PsWatch` repeats that.
struct PsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ps",
        abstract: "List children and their state.",
        discussion: Manual.ps
    )

    @OptionGroup var stateOptions: StateOptions
    @OptionGroup var sharedTable: SharedTableOptions
    @OptionGroup var clusterOptions: ClusterOptions

    @Option(name: .long, help: ArgumentHelp("Only the children of this node (on a shared table).", valueName: "name"))
    var node: String?

    @Flag(name: .long, help: "Print the child records as a JSON array.")
    var json = false

    @Flag(name: .long, help: "More columns: PGID, NEXT RESTART and STATUS.")
    var wide = false

    @Flag(name: [.customShort("w"), .long], help: "Refresh every --interval until Ctrl-C: in place on a terminal, one listing after another otherwise.")
    var watch = false

    @Option(name: .long, help: ArgumentHelp("The refresh interval of --watch (default 2s).", valueName: "duration"))
    var interval: String = "2s"

    @Option(name: .long, help: ArgumentHelp("Order: name (the tree's order), state, cpu, mem or restarts (the largest first).", valueName: "key"))
    var sort: PsSort = .name

    @Option(name: .long, help: ArgumentHelp(
        "Only children in these states, comma-separated: starting, running, stopping, backoff, waiting, stopped.",
        valueName: "states"))
    var only: String?

    @Option(name: .long, help: ArgumentHelp(
        "Colour the STATE column: auto (on a terminal, unless NO_COLOR is set), always or never.", valueName: "when"))
    var color: ColorOption = .auto

    @Argument(help: ArgumentHelp("Only children under this group or job.", valueName: "prefix"))
    var prefix: String?

    func validate() throws {
        _ = try states()
        if watch, intervalMilliseconds == nil {
            throw ValidationError("--interval needs a duration with a unit, at least 100ms (2s, 500ms)")
        }
    }

    /// `--only`, parsed; nil without it.
    func states() throws -> Set<ChildRecord.State>? {
        guard let only else { return nil }
        var set = Set<ChildRecord.State>()
        for word in only.split(separator: ",", omittingEmptySubsequences: false) {
            let name = word.trimmingCharacters(in: " ")
            guard let state = ChildRecord.State(rawValue: name) else {
                let names = ChildRecord.State.allCases.map(\.rawValue)
                let hint = NameRules.suggestion(for: name, among: names).map { "; did you mean `\($0)`?" } ?? ""
                throw ValidationError("--only: `\(name)` is not a state (\(names.joined(separator: ", ")))\(hint)")
            }
            set.insert(state)
        }
        return set
    }

    /// `--interval` in ms (at least 100), or nil when it is not a duration.
    var intervalMilliseconds: Int64? {
        guard case .success(let d) = DurationText.parse(interval) else { return nil }
        let (s, a) = d.components
        let ms = s * 1000 + a / 1_000_000_000_000_000
        return ms >= 100 ? ms : nil
    }

    func run() throws {
        if let location = try clusterOptions.location() { return try listCluster(location) }
        let source = PsSource(
            state: stateOptions.state, sharedTable: sharedTable, node: node, prefix: prefix == "all" ? nil : prefix)
        let view = PsView(
            columns: wide ? ChildListing.wideColumns : ChildListing.standardColumns, sort: sort, states: try states(),
            json: json, colour: !json && ColorChoice.colours(color, fd: 1))
        if watch {
            try PsWatch(source: source, view: view, intervalMilliseconds: intervalMilliseconds ?? 2000, arguments: Self.shownArguments())
                .run()
        } else {
            let frame = try source.read(sampling: !json)
            writeAll(fd: 1, view.render(frame, previous: nil))
        }
    }

    /// The command line as the watch header shows it (`director ps --watch web`).
    static func shownArguments() -> String {
        (["director"] + CommandLine.arguments.dropFirst()).joined(separator: " ")
    }
}

/// `--sort`.
enum PsSort: String, ExpressibleByArgument, CaseIterable {
    case name, state, cpu, mem, restarts
}

extension Substring {
    fileprivate func trimmingCharacters(in set: Character) -> String {
        String(drop { $0 == set }.reversed().drop { $0 == set }.reversed())
    }
}
