import DirectorRuntime
import DirectorTable

/// Turns a `PsFrame` into what `director ps` prints: the columns, `--only`, `--sort`, the
/// CPU percentage, colour.
///
/// CPU is a percentage of one core. Alone, `ps` shows the average since the child's process
/// started (as ps(1) does: CPU time of the processes alive now over the leader's age); each
/// `--watch` frame after the first shows the share over the last interval (as top(1) does),
/// and falls back to the average for a child whose process changed in between.
struct PsView {
    var columns: [ChildColumn]
    var sort: PsSort
    var states: Set<ChildRecord.State>?
    var json: Bool
    var colour: Bool

    /// The text of one frame. `previous` is the frame before, for the CPU over the interval.
    func render(_ frame: PsFrame, previous: PsFrame?) -> String {
        var rows = frame.children
        if let states { rows = rows.filter { states.contains($0.state) } }
        let cpu = cpuPercents(frame, previous: previous)
        rows = sorted(rows, frame: frame, cpu: cpu)
        if json {
            // As stored: the table's own text when nothing was filtered or reordered.
            if states == nil, sort == .name, let stored = frame.storedJSON { return stored + "\n" }
            return ChildListing.json(children: rows) + "\n"
        }
        let facts = { (child: ChildRecord) -> ChildRowFacts in
            // A down node's row is not known to be live: no readiness either.
            let unknown = !frame.unknownNodes.isEmpty && frame.unknownNodes.contains(child.node ?? "")
            return ChildRowFacts(
                gone: frame.gone.contains(child.id), cpuPercent: cpu[child.id], residentBytes: frame.usage[child.id]?.residentBytes,
                ready: unknown ? nil : child.readyCell, status: child.status, unknown: unknown)
        }
        var shown = (frame.showingNodes ? [ChildColumn.node] : []) + columns
        // STATUS (sd_notify STATUS=) only when some listed child has one, unless --wide.
        if !shown.contains(.status), rows.contains(where: { facts($0).status != nil }) { shown.append(.status) }
        let table = ChildListing.render(children: rows, columns: shown, now: frame.now, colour: colour, facts: facts)
        let daemon = colour && !frame.daemonLine.isEmpty ? Style.warning + frame.daemonLine.dropLast() + Style.reset + "\n" : frame.daemonLine
        return daemon + table + frame.failedGroups
    }

    /// CPU by child id: over the interval when the same process was sampled in `previous`,
    /// else since start.
    func cpuPercents(_ frame: PsFrame, previous: PsFrame?) -> [String: Double] {
        var out: [String: Double] = [:]
        let pids = Dictionary(frame.children.map { ($0.id, $0.pid) }, uniquingKeysWith: { a, _ in a })
        let pidsBefore = Dictionary((previous?.children ?? []).map { ($0.id, $0.pid) }, uniquingKeysWith: { a, _ in a })
        for (id, usage) in frame.usage {
            if let before = previous?.usage[id], pidsBefore[id] == pids[id], let p = usage.cpuPercent(since: before) {
                out[id] = p
            } else if let p = usage.cpuPercentSinceStart {
                out[id] = p
            }
        }
        return out
    }

    /// `rows` (in the tree's order) in `--sort` order; ties keep the tree's order.
    func sorted(_ rows: [ChildRecord], frame: PsFrame, cpu: [String: Double]) -> [ChildRecord] {
        let rank: (ChildRecord) -> Double
        switch sort {
        case .name: return rows
        case .state: rank = { Double(ChildRecord.State.allCases.firstIndex(of: $0.state) ?? 0) }
        case .cpu: rank = { -(cpu[$0.id] ?? -1) }
        // Unknown (no process) after every known value.
        case .mem: rank = { -(frame.usage[$0.id].map { Double($0.residentBytes) } ?? -1) }
        case .restarts: rank = { -Double($0.restarts) }
        }
        return rows.enumerated().sorted { (rank($0.element), $0.offset) < (rank($1.element), $1.offset) }.map(\.element)
    }
}

/// The few SGR sequences `ps` uses.
enum Style {
    static let warning = "\u{1B}[33m"
    static let reset = "\u{1B}[0m"
}
