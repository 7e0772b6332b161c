import ArgumentParser
import DirectorRuntime
import DirectorTable

// Several daemons on one table (DESIGN §4.1): reading the shared table, and sending an
// operator's command to the node that owns each id, through that node's control socket.

/// `--table DIR`: a table other than `<state>/table` (one several daemons share).
struct SharedTableOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "A state table several daemons share (run --table); default: <state>/table.", valueName: "dir"))
    var table: String?
}

/// Opens `--table DIR` when given, else the state directory's table.
func openTable(_ state: String, shared: SharedTableOptions) throws -> any ChildTableReader {
    guard let path = shared.table else { return try openTable(state) }
    FaultExit.install(line: "director: the state table \(path)/data.mdb is damaged (reading it faulted)")
    do { return try TableReader(path: path) } catch { throw UserError(error.message) }
}

/// Where an operator's command for `ids` goes on a shared table: the state directory of the
/// node that owns each id (a child's row, or a group's row for a group or a prefix of one),
/// in the order the ids came. Without `--table`, every id goes to `--state`.
func routes(_ ids: [String], state: String, shared: SharedTableOptions) throws -> [(state: String, ids: [String])] {
    guard shared.table != nil else { return [(state, ids)] }
    let table = try openTable(state, shared: shared)
    let nodes = NodeInfo.all(try reading { try table.meta(.nodes) })
    let children = try reading { try table.children() }
    let groups = try reading { try table.groups() }
    var out: [(state: String, ids: [String])] = []
    for id in ids {
        let wanted = TableKey.normalizedPrefix(id)
        // A child under the argument, or a group the argument lies in or under.
        let owner = children.first { TableKey.id($0.id, isUnder: wanted) }?.node
            ?? groups.first { !$0.path.isEmpty && (TableKey.id($0.path, isUnder: wanted) || TableKey.id(wanted, isUnder: $0.path)) }?.node
        guard let owner else { throw UserError("no node of the table \(shared.table ?? "") owns \(id)") }
        guard let info = nodes.first(where: { $0.node == owner }) else {
            throw UserError("\(id) belongs to node \(owner), which meta.nodes of \(shared.table ?? "") does not list")
        }
        if let i = out.firstIndex(where: { $0.state == info.stateDirectory }) {
            out[i].ids.append(id)
        } else {
            out.append((info.stateDirectory, [id]))
        }
    }
    return out
}

/// Sends `request(ids)` to each owning node in turn and prints what each one did.
func sendRouted(
    _ ids: [String], state: String, shared: SharedTableOptions, verb: String, already: String? = nil,
    _ request: ([String]) -> ControlRequest
) throws {
    for route in try routes(ids, state: state, shared: shared) {
        printIDs(try exchange(route.state, request(route.ids)), verb: verb, already: already)
    }
}
