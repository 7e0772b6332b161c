#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import DirectorManifest
import DirectorRuntime
import DirectorTable

// The commands that read the state table directly, with or without a daemon.

/// Opens the table read-only, turning its errors into one-line user errors.
func openTable(_ state: String) throws -> TableReader {
    do { return try TableReader(stateDirectory: state) } catch { throw UserError(error.message) }
}

/// Runs a table read, turning its errors into one-line user errors.
func reading<R>(_ body: () throws -> R) throws -> R {
    do { return try body() } catch let error as TableError { throw UserError(error.message) }
}

/// Children in tree-ish order: group path, job, then instance by number (`api/10` after `api/9`).
func sortedChildren(_ rows: [ChildRecord]) -> [ChildRecord] {
    // Parse each id once: parsing inside the comparator (twice per comparison) was half the
    // time of `director ps` over 10 000 children.
    let keyed = rows.map { (id: ChildID($0.id), row: $0) }
    return keyed.sorted { a, b in
        switch (a.id, b.id) {
        case (let x?, let y?): x < y
        default: a.row.id < b.row.id
        }
    }.map(\.row)
}

extension PsCommand {
    func listChildren() throws {
        let table = try openTable(stateOptions.state)
        let rows = sortedChildren(try reading { try table.children(prefix: prefix) })
        if json {
            print(ChildListing.json(children: rows))
        } else {
            print(ChildListing.render(children: rows, now: SystemClock.wallMilliseconds()), terminator: "")
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
    func printEvents() throws {
        let table = try openTable(stateOptions.state)
        let show = { (e: EventEntry) in
            writeAll(fd: 1, (json ? EventListing.jsonLine(e) : EventListing.line(e)) + "\n")
        }
        let start = since ?? 0
        if follow {
            // Until interrupted: SIGINT/SIGTERM end the process, as an operator expects. Lines
            // are written unbuffered, so a pipe or a file has every event up to that moment.
            try reading { try table.followEvents(since: start, until: { false }, { show($0) }) }
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
