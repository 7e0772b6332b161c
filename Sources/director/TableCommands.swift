#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import DirectorCore
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

extension CountCommand {
    func countChildren() throws {
        let table = try openTable(stateOptions.state)
        let count = try reading { try table.count() }
        print(CountListing.render(count), terminator: "")
    }
}

extension EventsCommand {
    /// The selection from the arguments; an unknown `--kind` is a usage error naming the kinds.
    func selection(now: Int64) throws -> EventSelection {
        let known = EventKind.allCases.map(\.rawValue)
        var kinds = Set<String>()
        for word in kind.flatMap({ $0.split(separator: ",") }).map(String.init) {
            guard known.contains(word) else {
                let hint = NameRules.suggestion(for: word, among: known).map { "; did you mean `\($0)`?" } ?? ""
                throw ValidationError("--kind: `\(word)` is not an event kind (\(known.joined(separator: ", ")))\(hint)")
            }
            kinds.insert(word)
        }
        let prefixes = ids.contains("all") ? [] : ids.map { TableKey.normalizedPrefix($0) }
        return EventSelection(prefixes: prefixes, kinds: kinds, node: node, since: since.flatMap { EventsSince($0, now: now) })
    }

    func printEvents() throws {
        let selection = try selection(now: SystemClock.wallMilliseconds())
        let table = try openTable(stateOptions.state, shared: sharedTable)
        let showNode = sharedTable.table != nil
        let render = { [json] (e: EventEntry) in
            (json ? EventDetail.jsonLine(e) : EventListing.line(e, showingNode: showNode)) + "\n"
        }
        let start: UInt64 = if case .sequence(let seq) = selection.since { seq } else { 0 }
        let recorded = try reading { try table.events(since: start) }
        var kept = recorded.filter(selection.matches)
        // An id or prefix that no kept event and no child has is a mistake, as for `ps` and
        // `stop`: say so rather than print nothing (a child with no event yet prints nothing).
        for (id, prefix) in zip(ids, selection.prefixes) where !kept.contains(where: { TableKey.id($0.id, isUnder: prefix) }) {
            let known = try reading { try table.children(prefix: prefix) }
            let isGroup = try reading { try table.groups() }.contains { TableKey.id($0.path, isUnder: prefix) && !$0.path.isEmpty }
            if known.isEmpty && !isGroup { throw UserError("no child matches \(id)") }
        }
        if let lines { kept = Array(kept.suffix(lines)) }
        writeAll(fd: 1, kept.map(render).joined())
        guard follow else { return }
        // Until interrupted: SIGINT/SIGTERM end the process, as an operator expects. Lines
        // are written unbuffered, so a pipe or a file has every event up to that moment.
        LogsCommand.letInterruptsEnd()
        let from = recorded.last?.seq ?? start
        _ = try reading {
            try table.followEvents(since: from, until: { false }) { e in
                if selection.matches(e) { writeAll(fd: 1, render(e)) }
            }
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
