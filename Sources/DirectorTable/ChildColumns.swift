// The columns of `director ps` and `ps --wide`, and what a reader adds to a record to fill
// them (whether its process is gone, its CPU and memory: read from /proc by the CLI, which
// this library does not do).

/// One column of `director ps`.
public enum ChildColumn: String, Sendable, Hashable, CaseIterable {
    /// The daemon (node) of the row, on a shared table.
    case node
    /// The child id.
    case id
    /// The lifecycle state.
    case state
    /// The readiness fact a reader supplies (`ChildRowFacts.ready`), `-` when none.
    case ready
    /// The readiness status text a reader supplies (`ChildRowFacts.status`), `-` when none.
    case status
    /// The pid, `123 (gone)` when the process no longer exists.
    case pid
    /// The process group.
    case pgid
    /// How long the current process has run.
    case uptime
    /// CPU, percent of one core (`ChildRowFacts.usage`).
    case cpu
    /// Resident memory (`ChildRowFacts.usage`).
    case mem
    /// The restart count.
    case restarts
    /// How the previous process ended, and how long ago.
    case lastExit
    /// When a scheduled restart is due (state `backoff`), from now.
    case nextRestart

    /// The header text.
    public var title: String {
        switch self {
        case .lastExit: "LAST EXIT"
        case .nextRestart: "NEXT RESTART"
        default: rawValue.uppercased()
        }
    }
}

extension ChildRecord {
    /// True when the record names a process that runs (`running` or `stopping`, with a pid):
    /// the process UPTIME and READY describe.
    public var hasLiveProcess: Bool { pid != nil && (state == .running || state == .stopping) }

    /// READY as `ps` shows it: `yes` or `no` for a live process that has readiness, nil
    /// (`-`) for a row without a live process or without `ready:`.
    public var readyCell: String? { hasLiveProcess ? ready.map { $0 ? "yes" : "no" } : nil }
}

/// What a reader knows of a child beyond its record.
public struct ChildRowFacts: Sendable, Hashable {
    /// The recorded process no longer exists (see `ChildListing.render(children:now:isGone:)`).
    public var gone: Bool
    /// CPU as a percentage of one core, nil when unknown (no process, or not sampled).
    public var cpuPercent: Double?
    /// Resident memory in bytes, nil when unknown.
    public var residentBytes: UInt64?
    /// READY: `yes`/`no` for a child whose job waits for readiness, nil for `-`.
    public var ready: String?
    /// STATUS: the child's last status text, nil for `-`.
    public var status: String?
    /// The record may no longer be true (its node is down, in a cluster listing): STATE shows
    /// `unknown` and UPTIME `-`, never the recorded state as if it were current.
    public var unknown: Bool

    /// Creates facts; everything unknown by default.
    public init(
        gone: Bool = false, cpuPercent: Double? = nil, residentBytes: UInt64? = nil, ready: String? = nil, status: String? = nil,
        unknown: Bool = false
    ) {
        self.unknown = unknown
        self.gone = gone
        self.cpuPercent = cpuPercent
        self.residentBytes = residentBytes
        self.ready = ready
        self.status = status
    }
}

extension ChildListing {
    /// `director ps`: `ID STATE READY PID UPTIME CPU MEM RESTARTS LAST EXIT` (DESIGN §3);
    /// the CLI adds STATUS at the end when a listed child has one.
    public static let standardColumns: [ChildColumn] = [.id, .state, .ready, .pid, .uptime, .cpu, .mem, .restarts, .lastExit]

    /// `director ps --wide`: the standard columns plus PGID, NEXT RESTART and STATUS.
    public static let wideColumns: [ChildColumn] = [
        .id, .state, .ready, .pid, .pgid, .uptime, .cpu, .mem, .restarts, .lastExit, .nextRestart, .status,
    ]

    /// An aligned table of `columns`, one line per child under a header line, ending in a
    /// newline; `facts` adds what the record cannot say. With `colour`, the STATE cells and a
    /// gone PID carry ANSI colours (alignment counts the visible characters only).
    public static func render(
        children: [ChildRecord], columns: [ChildColumn], now: UnixMillis, colour: Bool = false,
        facts: (ChildRecord) -> ChildRowFacts = { _ in ChildRowFacts() }
    ) -> String {
        var allFacts: [ChildRowFacts] = []
        allFacts.reserveCapacity(children.count)
        let rows = children.map { child in
            let f = facts(child)
            allFacts.append(f)
            return columns.map { cell($0, of: child, facts: f, now: now) }
        }
        guard colour else { return TextTable.render(header: columns.map(\.title), rows: rows) }
        return TextTable.render(header: columns.map(\.title), rows: rows) { row, column in
            switch columns[column] {
            case .state where allFacts[row].unknown: nil
            case .state: StateColour.sgr(children[row].state)
            case .pid where allFacts[row].gone: StateColour.red
            default: nil
            }
        }
    }

    /// One cell.
    public static func cell(_ column: ChildColumn, of c: ChildRecord, facts: ChildRowFacts, now: UnixMillis) -> String {
        let live = c.pid != nil && !facts.gone
        switch column {
        case .node: return c.node ?? "-"
        case .id: return c.id
        case .state: return facts.unknown ? "unknown" : c.state.rawValue
        case .ready: return facts.ready ?? "-"
        case .status: return facts.status ?? "-"
        case .pid: return c.pid.map { facts.gone ? "\($0) (gone)" : String($0) } ?? "-"
        case .pgid: return live ? c.pgid.map(String.init) ?? "-" : "-"
        case .uptime:
            guard !facts.unknown, let started = c.startedAt, c.hasLiveProcess else { return "-" }
            return Elapsed.short(now - started)
        case .cpu: return live ? facts.cpuPercent.map(Self.percent) ?? "-" : "-"
        case .mem: return live ? facts.residentBytes.map(ByteCount.short) ?? "-" : "-"
        case .restarts: return String(c.restarts)
        case .lastExit: return c.lastExit.map { "\($0.summary) \(Elapsed.short(now - $0.at)) ago" } ?? "-"
        case .nextRestart:
            guard c.state == .backoff, let due = c.nextRestartAt else { return "-" }
            return "in " + Elapsed.short(due - now)
        }
    }

    /// `0.0%`, `12.5%`, `250%`: one decimal under 100.
    static func percent(_ p: Double) -> String {
        let value = max(p, 0)
        if value >= 99.95 { return "\(Int(value.rounded()))%" }
        let tenths = Int((value * 10).rounded())
        return "\(tenths / 10).\(tenths % 10)%"
    }
}

/// The colours of `ps` on a terminal: green runs, yellow waits for a restart, red waits for
/// an operator, cyan is on its way, the rest (stopped) plain.
enum StateColour {
    static let red = "\u{1B}[31m"

    static func sgr(_ state: ChildRecord.State) -> String? {
        switch state {
        case .running: "\u{1B}[32m"
        case .starting, .stopping: "\u{1B}[36m"
        case .backoff: "\u{1B}[33m"
        case .waiting: red
        case .stopped: nil
        }
    }
}

/// Short byte counts, powers of 1024 as `ps`/`top` print them: `512B`, `4.0K`, `12.3M`, `1.5G`.
public enum ByteCount {
    /// `bytes` with one decimal in the largest unit that keeps it at 1 or more.
    public static func short(_ bytes: UInt64) -> String {
        let units = ["K", "M", "G", "T"]
        guard bytes >= 1024 else { return "\(bytes)B" }
        var value = Double(bytes) / 1024
        var unit = 0
        while value >= 1023.95 && unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        let tenths = Int((value * 10).rounded())
        return "\(tenths / 10).\(tenths % 10)\(units[unit])"
    }
}
