#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import DirectorManifest
import DirectorRuntime
import DirectorTable

// The commands that read the state table directly, with or without a daemon. Only
// `openTable` knows the table is LMDB; the commands read through `ChildTableReader`.

/// Opens the table read-only, turning its errors into one-line user errors.
///
/// The header of data.mdb is checked before LMDB maps it; a page damaged further in can still
/// send LMDB outside the file (SIGBUS) or the map (SIGSEGV), so from here on such a fault
/// prints one line naming the file and exits 1 instead of killing the reader.
func openTable(_ state: String) throws -> any ChildTableReader {
    let data = state + "/table/data.mdb"
    FaultExit.install(line: "director: the state table \(data) is damaged (reading it faulted); a new `director run` moves it aside")
    do { return try TableReader(stateDirectory: state) } catch { throw UserError(error.message) }
}

/// Runs a table read, turning its errors into one-line user errors.
func reading<R>(_ body: () throws -> R) throws -> R {
    do { return try body() } catch let error as TableError { throw UserError(error.message) }
}

/// `director __check-table DIR` (hidden): reads every page of the environment `DIR` and
/// exits 0 when it is sound or absent, 1 with one line when it is damaged. `director run`
/// runs it in a child process before it maps a table, so that a fault kills the check and
/// not the daemon.
struct CheckTableCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "__check-table", abstract: "Check every page of a state table (used by run).", shouldDisplay: false)

    @Argument(help: ArgumentHelp("The table directory (<state>/table).", valueName: "dir"))
    var table: String

    func run() throws {
        let data = table + "/data.mdb"
        FaultExit.install(line: "director: the state table \(data) is damaged (reading it faulted)")
        do {
            // Without the lock file: a check changes nothing, not even lock.mdb.
            try LMDBTable.verify(path: table)
        } catch where error.code == .notFound {
            return
        } catch where error.code == .damaged {
            throw UserError(error.message)
        } catch {
            // Not damage (permissions, memory...): status 2, and the daemon opens the table
            // as usual, where such an error is reported as it is.
            writeStandardError("director: cannot check the state table \(data): \(error.message)\n")
            throw ExitCode(2)
        }
    }
}

/// The positions of `ids` in tree-ish order: group path, job, then instance by number
/// (`api/10` after `api/9`); the table's own key order is byte order. Each id is parsed once:
/// parsing inside the comparator was half the time of `director ps` over 10 000 children.
func childIDOrder(_ ids: [String]) -> [Int] {
    let parsed = ids.map { ChildID($0) }
    return ids.indices.sorted { i, j in
        switch (parsed[i], parsed[j]) {
        case (let x?, let y?): x < y
        default: ids[i] < ids[j]
        }
    }
}

extension PsCommand {
    func listChildren() throws {
        let state = stateOptions.state
        let table = try openTable(state, shared: sharedTable)
        // `all` selects everything, as for the commands that talk to the daemon.
        let selected = prefix == "all" ? nil : prefix
        let byNode = node != nil || sharedTable.table != nil
        if json {
            let text: String
            if byNode {
                var records = try reading { try table.children(prefix: selected) }
                if let node { records = records.filter { $0.node == node } }
                let order = childIDOrder(records.map(\.id))
                text = ChildListing.json(children: order.map { records[$0] })
            } else {
                text = try reading { try ChildListing.json(from: table, prefix: selected, order: childIDOrder) }
            }
            if let selected, text == "[]" { throw UserError("no child matches \(selected)") }
            writeAll(fd: 1, text + "\n")
            return
        }
        let now = SystemClock.wallMilliseconds()
        // The NODE column with --table, or when the rows come from more than one node (DESIGN
        // §4.1); otherwise the listing is the single-daemon one.
        let text = try reading {
            try ChildListing.render(
                from: table, prefix: selected, now: now, order: childIDOrder, node: node,
                showingNodes: sharedTable.table != nil, isGone: Self.processGone)
        }
        // Only the header: nothing under the prefix, and no given-up group it concerns.
        if let selected, text.utf8.filter({ $0 == 0x0A }).count <= 1 { throw UserError("no child matches \(selected)") }
        var out = ""
        // A shared table has many daemons; the line is about this state directory's one.
        if !byNode, case .notRunning(let lastSeen) = DaemonPresence.probe(stateDirectory: state) {
            out = Self.notRunningLine(pid: try? reading { try table.daemonInfo()?.pid }, lastSeen: lastSeen, now: now)
        }
        writeAll(fd: 1, out + text)
    }

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

extension CountCommand {
    func countChildren() throws {
        let table = try openTable(stateOptions.state)
        let count = try reading { try table.count() }
        print(CountListing.render(count), terminator: "")
    }
}

extension EventsCommand {
    func printEvents() throws {
        let table = try openTable(stateOptions.state, shared: sharedTable)
        let showNode = sharedTable.table != nil
        let show = { [node] (e: EventEntry) in
            if let node, e.node != node { return }
            writeAll(fd: 1, (json ? EventListing.jsonLine(e) : EventListing.line(e, showingNode: showNode)) + "\n")
        }
        let start = since ?? 0
        if follow {
            // Until interrupted: SIGINT/SIGTERM end the process, as an operator expects. Lines
            // are written unbuffered, so a pipe or a file has every event up to that moment.
            _ = try reading { try table.followEvents(since: start, until: { false }, { show($0) }) }
        } else {
            for e in try reading({ try table.events(since: start) }) { show(e) }
        }
    }
}

extension SpecCommand {
    func printSpec() throws {
        let table = try openTable(stateOptions.state)
        // A child id names its job; a job key is taken as it is.
        let jobKey = ChildID(id)?.jobKey ?? id
        guard let spec = try reading({ try table.spec(jobKey: jobKey) }) else {
            throw UserError("no job \(jobKey) in the table at \(stateOptions.state)/table")
        }
        print(json ? spec.serialized() : YAMLText.render(spec), terminator: json ? "\n" : "")
    }
}
