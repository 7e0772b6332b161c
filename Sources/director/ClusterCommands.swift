import ArgumentParser
import DirectorCluster
import DirectorRuntime
import DirectorTable
import Foundation

// The cluster table on PostgreSQL (DESIGN §9): reading the fleet view, and sending an
// operator's command to a node through `director_commands`.

/// `--cluster URL` and `--cluster-env FILE`.
struct ClusterOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "The cluster table's PostgreSQL, postgresql://USER@HOST[:PORT]/DB or postgresql://USER@/DB?host=SOCKETDIR (run: default $DIRECTOR_CLUSTER). Put the password in PGPASSWORD, PGPASSFILE or --cluster-env, not here. TLS as libpq: ?sslmode=disable|prefer|require|verify-ca|verify-full (default prefer: TLS when the server offers it, unverified) and &sslrootcert=FILE (or system); verify-ca/verify-full check the server's certificate against it (default ~/.postgresql/root.crt). Never TLS over a Unix socket.",
        valueName: "url"))
    var cluster: String?

    @Option(name: .customLong("cluster-env"), help: ArgumentHelp(
        "A KEY=VALUE file read for DIRECTOR_CLUSTER and PGPASSWORD (keeps the password off the command line).", valueName: "file"))
    var clusterEnv: String?

    /// The environment with the env file's variables on top.
    func environment() throws -> [String: String] {
        var env = ProcessInfo.processInfo.environment
        guard let clusterEnv else { return env }
        guard let text = try? String(contentsOfFile: clusterEnv, encoding: .utf8) else {
            throw UserError("cannot read --cluster-env \(clusterEnv)")
        }
        for raw in text.split(separator: "\n") {
            var line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            if line.hasPrefix("export ") { line = String(line.dropFirst(7)) }
            guard let eq = line.firstIndex(of: "=") else { continue }
            var value = String(line[line.index(after: eq)...])
            if value.count >= 2, let q = value.first, q == "\"" || q == "'", value.last == q { value = String(value.dropFirst().dropLast()) }
            env[String(line[..<eq])] = value
        }
        return env
    }

    /// The location when `--cluster` (or, with `fromEnvironment`, `DIRECTOR_CLUSTER`) is set.
    func location(fromEnvironment: Bool = false) throws -> ClusterLocation? {
        let env = try environment()
        let url = cluster ?? (fromEnvironment || clusterEnv != nil ? env["DIRECTOR_CLUSTER"].flatMap { $0.isEmpty ? nil : $0 } : nil)
        guard let url else { return nil }
        do { return try ClusterLocation(url: url, environment: env) } catch { throw UserError(error.message) }
    }
}

/// Connects for a reading command, with the usual one-line error.
func openCluster(_ location: ClusterLocation) throws -> ClusterReader {
    do { return try ClusterReader(location) } catch { throw UserError("cluster \(location): \(error.message)") }
}

/// Runs a cluster call, turning its error into a user error.
func clustered<T>(_ body: () throws(ClusterError) -> T) throws -> T {
    do { return try body() } catch { throw UserError(error.message) }
}

extension PsCommand {
    /// `director ps --cluster URL [--node NAME] [--json] [PREFIX]`.
    func listCluster(_ location: ClusterLocation) throws {
        let reader = try openCluster(location)
        let nodes = try clustered { () throws(ClusterError) in try reader.nodes() }
        var children = try clustered { () throws(ClusterError) in try reader.children(node: node) }
        let selected = prefix == "all" ? nil : prefix
        if let selected {
            let p = TableKey.normalizedPrefix(selected)
            children = children.filter { TableKey.id($0.record.id, isUnder: p) }
        }
        let stale = Dictionary(uniqueKeysWithValues: nodes.map { ($0.node, $0) })
        if json {
            let items = children.map { c -> JSONValue in
                let info = stale[c.node]
                var fields: [(String, JSONValue)] = [("node", .string(c.node)), ("node_status", .string(info.map(Self.status) ?? "unknown"))]
                if case .object(let record) = (try? JSONValue.parse(c.json)) ?? .null {
                    for (k, v) in record where k != "node" {
                        fields.append((k, k == "state" && info?.showsUnknown != false ? .string("unknown") : v))
                    }
                    if info?.showsUnknown != false { fields.append(("recorded_state", .string(c.record.state.rawValue))) }
                }
                return .object(fields)
            }
            writeAll(fd: 1, JSONValue.array(items).serialized() + "\n")
            return
        }
        var out = ""
        for n in nodes where n.isStale && (node == nil || n.node == node) {
            out += n.showsUnknown
                ? "node \(n.node) down: last heartbeat \(n.heartbeatAgeMillis / 1000) s ago (lease \(n.leaseMillis / 1000) s); its children are shown as unknown\n"
                : "node \(n.node) \(n.status): its daemon shut down \(n.heartbeatAgeMillis / 1000) s ago; the rows are its last view\n"
        }
        // `ps`'s own view, NODE first: the same columns, --wide, --only, --sort and colour.
        // CPU and MEM stay `-`: /proc of another host cannot be read from here.
        let unknown = Set(children.map(\.node).filter { stale[$0]?.showsUnknown ?? true })
        let frame = PsFrame(
            children: children.map { c in
                var r = c.record
                r.node = c.node
                return r
            },
            showingNodes: true, failedGroups: "", daemonLine: "", gone: [], usage: [:], storedJSON: nil,
            now: SystemClock.wallMilliseconds(), unknownNodes: unknown)
        let view = PsView(
            columns: wide ? ChildListing.wideColumns : ChildListing.standardColumns, sort: sort, states: try states(), json: false,
            colour: ColorChoice.colours(color, fd: 1))
        writeAll(fd: 1, out + view.render(frame, previous: nil))
    }

    static func status(_ n: ClusterReader.Node) -> String {
        n.status == "up" && n.isStale ? "down" : n.status
    }
}

extension EventsCommand {
    /// `director events --cluster URL [--node NAME] [-f] [--json]`: the whole fleet's events
    /// in the order they happened; with `-f`, woken by NOTIFY and caught up by sequence.
    func printCluster(_ location: ClusterLocation) throws {
        let reader = try openCluster(location)
        let wake = DispatchSemaphore(value: 0)
        if follow { try clustered { () throws(ClusterError) in try reader.listenForEvents { wake.signal() } } }
        // The same selection as on a node's own table: ids, --kind, --node, --since.
        let selection = try selection(now: SystemClock.wallMilliseconds())
        var cursor: [String: UInt64] = [:]
        var first = true
        while true {
            var events: [EventEntry]
            if first, case .sequence(let seq)? = selection.since {
                for n in try clustered({ () throws(ClusterError) in try reader.nodes() }) { cursor[n.node] = seq }
                events = try clustered { () throws(ClusterError) in try reader.events(after: cursor) }
            } else if first {
                events = try clustered { () throws(ClusterError) in try reader.lastEvents(10_000) }
            } else {
                events = try clustered { () throws(ClusterError) in try reader.events(after: cursor) }
            }
            first = false
            for e in events { cursor[e.node ?? ""] = max(cursor[e.node ?? ""] ?? 0, e.seq) }
            events = events.filter(selection.matches)
            var out = ""
            for e in events { out += json ? EventListing.jsonLine(e) + "\n" : EventListing.line(e, showingNode: true) + "\n" }
            if !out.isEmpty { writeAll(fd: 1, out) }
            guard follow else { return }
            // NOTIFY wakes us; the timeout is the catch-up for a notification lost meanwhile.
            _ = wake.wait(timeout: .now() + .seconds(1))
        }
    }
}

/// `director start|stop|restart ID --cluster URL --node NAME`: a command row the node
/// carries out, and its answer.
func sendClusterCommand(_ op: String, ids: [String], node: String?, location: ClusterLocation, verb: String, timeout: Double) throws {
    guard let node else { throw UserError("\(op) --cluster needs --node NAME: the node that runs \(ids.joined(separator: " "))") }
    let reader = try openCluster(location)
    let outcome = try clustered { () throws(ClusterError) in try reader.send(op, ids: ids, to: node, timeout: .milliseconds(Int64(timeout * 1000))) }
    guard outcome.ok else {
        throw UserError("node \(node): \(outcome.message ?? "failed")\(outcome.code.map { " (\($0))" } ?? "")")
    }
    for id in outcome.ids { print("\(node) \(id): \(verb)") }
}
