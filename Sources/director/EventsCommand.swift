import ArgumentParser
import DirectorManifest
import DirectorTable

/// `director events`: the lifecycle history, read from the table.
struct EventsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "events",
        abstract: "Print recorded lifecycle events.",
        discussion: Manual.events
    )

    @Argument(help: ArgumentHelp("Child ids, prefixes or all.", valueName: "id"))
    var ids: [String] = []

    @OptionGroup var stateOptions: StateOptions
    @OptionGroup var sharedTable: SharedTableOptions
    @OptionGroup var clusterOptions: ClusterOptions

    @Option(name: .long, help: ArgumentHelp("Only the events of this node (on a shared table).", valueName: "name"))
    var node: String?

    @Option(name: .long, help: ArgumentHelp(
        "Only these kinds, comma-separated or repeated (start, exit, restart, stop, ...: an unknown kind is answered with the list).",
        valueName: "kind"))
    var kind: [String] = []

    @Option(name: [.customShort("n"), .long], help: ArgumentHelp("Only the last N of the selected events (then, with -f, the new ones).", valueName: "n"))
    var lines: Int?

    @Option(name: .long, help: ArgumentHelp(
        "Only events after a sequence number (42), since a duration ago (10m) or since a time (RFC 3339).", valueName: "when"))
    var since: String?

    @Flag(name: .long, help: "One JSON object per line; `detail` is an object of the detail's key=value facts.")
    var json = false

    @Flag(name: [.customShort("f"), .long], help: "Keep printing new events as they are recorded.")
    var follow = false

    func validate() throws {
        if let lines, lines < 0 { throw ValidationError("-n must be 0 or more") }
        if let since, EventsSince(since, now: 0) == nil {
            throw ValidationError("--since needs a sequence number (42), a duration with a unit (10m) or an RFC 3339 time")
        }
        _ = try selection(now: 0)
    }

    func run() throws {
        if let location = try clusterOptions.location() { return try printCluster(location) }
        try printEvents()
    }
}

/// `--since`: a sequence number, or a time (given, or now minus a duration).
enum EventsSince: Equatable {
    case sequence(UInt64)
    case time(Int64)

    init?(_ text: String, now: Int64) {
        if let seq = UInt64(text) {
            self = .sequence(seq)
        } else if let ms = LogsCommand.sinceMillis(text, now: now) {
            self = .time(ms)
        } else {
            return nil
        }
    }
}

/// Which events `director events` prints.
struct EventSelection {
    /// Normalized prefixes; empty for every event.
    var prefixes: [String]
    var kinds: Set<String>
    var node: String?
    var since: EventsSince?

    func matches(_ e: EventEntry) -> Bool {
        if let node, e.node != node { return false }
        if !kinds.isEmpty, !kinds.contains(e.kind) { return false }
        if case .time(let t) = since, e.at < t { return false }
        // The daemon's own events (id "") belong to no prefix.
        if !prefixes.isEmpty, !prefixes.contains(where: { TableKey.id(e.id, isUnder: $0) }) { return false }
        return true
    }
}

/// `detail` as data: the leading `key=value` words become members (numbers as numbers), and
/// whatever follows the first word that is not one is kept whole under `text`.
/// `pid=12 code=1` → `{"pid":12,"code":1}`; `failed errors=1: nothing changed` →
/// `{"text":"failed errors=1: nothing changed"}`.
enum EventDetail {
    static func structured(_ detail: String) -> JSONValue {
        var members: [(String, JSONValue)] = []
        var words = detail.split(separator: " ", omittingEmptySubsequences: false)[...]
        while let word = words.first, let eq = word.firstIndex(of: "="), eq != word.startIndex,
            word[..<eq].allSatisfy({ $0.isLetter || $0 == "_" || $0.isNumber }), !members.contains(where: { $0.0 == String(word[..<eq]) })
        {
            let value = String(word[word.index(after: eq)...])
            members.append((String(word[..<eq]), Int64(value).map(JSONValue.int) ?? .string(value)))
            words = words.dropFirst()
        }
        let rest = words.joined(separator: " ")
        if !rest.isEmpty { members.append(("text", .string(rest))) }
        return .object(members)
    }

    /// The event as `--json` prints it: the stored fields, `detail` as an object, and the
    /// stored text as `detail_text` (nothing is lost to the parse).
    static func jsonLine(_ e: EventEntry) -> String {
        var fields: [(String, JSONValue)] = [
            ("seq", .int(Int64(clamping: e.seq))), ("at", .string(RFC3339.format(e.at))), ("id", .string(e.id)),
            ("kind", .string(e.kind)), ("detail", structured(e.detail)), ("detail_text", .string(e.detail)),
        ]
        if let node = e.node { fields.append(("node", .string(node))) }
        return JSONValue.object(fields).serialized()
    }
}
