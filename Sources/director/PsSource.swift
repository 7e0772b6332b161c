import DirectorRuntime
import DirectorTable

/// One `director ps` frame: what the table says, whether a daemon keeps it, and what /proc
/// says of each child's processes at that moment.
struct PsFrame {
    /// The selected children, in the tree's order (`childIDOrder`).
    var children: [ChildRecord]
    /// Show the NODE column (a shared table, or rows of several nodes).
    var showingNodes: Bool
    /// The lines about given-up groups under the table (each ending in a newline).
    var failedGroups: String
    /// The `daemon not running …` line, or "" while a daemon holds the lock (or on a shared
    /// table, whose many daemons it cannot speak for).
    var daemonLine: String
    /// Children whose recorded process no longer exists.
    var gone: Set<String>
    /// CPU and memory by child id, for those with a live process (when sampled).
    var usage: [String: ProcessUsage]
    /// The records as the table stores them, for `--json` without --sort and --only (passed
    /// on undecoded, as `ps --json` always did; nil when not read).
    var storedJSON: String?
    /// The wall clock when the frame was read, ms since the epoch.
    var now: Int64
    /// Nodes whose children are shown as `unknown` (a cluster listing's down nodes).
    var unknownNodes: Set<String> = []
}

/// Reads frames for `director ps`: the table (`--state` or `--table`), the daemon's presence,
/// and, when asked, each child's CPU and memory. The source of a cluster listing can be put
/// beside this one: `PsView` needs only a `PsFrame`.
struct PsSource {
    var state: String
    var sharedTable: SharedTableOptions
    var node: String?
    /// nil for every child (`all` is turned into nil by the command).
    var prefix: String?

    /// Reads one frame. A prefix that matches nothing (no child, no given-up group) is a user
    /// error, as for every command that selects children. `sampling` reads /proc for CPU and
    /// MEM; `storedJSON` keeps the table's own record text.
    func read(sampling: Bool, storedJSON: Bool = false) throws -> PsFrame {
        let table = try openTable(state, shared: sharedTable)
        let now = SystemClock.wallMilliseconds()
        var records = try reading { try table.children(prefix: prefix) }
        let showingNodes = sharedTable.table != nil || ChildListing.hasSeveralNodes(records)
        if let node { records = records.filter { $0.node == node } }
        records = childIDOrder(records.map(\.id)).map { records[$0] }
        let failed = try reading { try ChildListing.failedGroupLines(table, prefix: prefix, node: node) }
        if let prefix, records.isEmpty, failed.isEmpty { throw UserError("no child matches \(prefix)") }

        var daemonLine = ""
        // A shared table has many daemons; the line is about this state directory's one.
        if node == nil, sharedTable.table == nil, case .notRunning(let lastSeen) = DaemonPresence.probe(stateDirectory: state) {
            daemonLine = PsCommand.notRunningLine(pid: try? reading { try table.daemonInfo()?.pid }, lastSeen: lastSeen, now: now)
        }
        let gone = Set(records.filter(PsCommand.processGone).map(\.id))
        var usage: [String: ProcessUsage] = [:]
        if sampling {
            let live = records.filter { $0.pid != nil && !gone.contains($0.id) }
            let sampled = ProcessUsageSampler.sample(live.map {
                ProcessUsageSampler.Leader(pid: $0.pid!, pgid: $0.pgid ?? $0.pid!, startTicks: $0.startTicks)
            })
            for child in live { usage[child.id] = sampled[child.pid!] }
        }
        var json: String?
        if storedJSON && node == nil {
            json = try reading { try ChildListing.json(from: table, prefix: prefix, order: childIDOrder) }
        }
        return PsFrame(
            children: records, showingNodes: showingNodes, failedGroups: failed, daemonLine: daemonLine, gone: gone,
            usage: usage, storedJSON: json, now: now)
    }
}

extension PsCommand {
    /// `daemon not running (pid N, last seen TIME, 3m ago): ...`, the line above a table that
    /// no daemon keeps up to date.
    static func notRunningLine(pid: Int32??, lastSeen: Int64?, now: Int64) -> String {
        var facts: [String] = []
        if let pid = pid ?? nil { facts.append("pid \(pid)") }
        if let lastSeen { facts.append("last seen \(RFC3339.format(lastSeen)), \(Elapsed.short(now - lastSeen)) ago") }
        let detail = facts.isEmpty ? "" : " (" + facts.joined(separator: ", ") + ")"
        return "daemon not running\(detail): the rows are its last view, not the present\n"
    }

    /// True when the row's process no longer exists: its pid is gone or a zombie, or now names
    /// another process (a different start time).
    static func processGone(_ child: ChildRecord) -> Bool {
        guard let pid = child.pid else { return false }
        guard ProcStat.isRunning(pid: pid) else { return true }
        if let recorded = child.startTicks, let now = ProcStat.startTicks(pid: pid), now != recorded { return true }
        return false
    }
}
