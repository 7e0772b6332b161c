#if canImport(Glibc)
import Glibc
#endif
import DirectorManifest
import DirectorTable

/// Who may start on a table several daemons share (DESIGN §4.1), decided at start before
/// anything is terminated or started: group names are unique across the live nodes of a
/// table, a node name is one daemon's, and a daemon without a node never writes a table that
/// live nodes share (it would take their rows for its own).
///
/// A node is live while a process holds the lock of the state directory `meta.nodes`
/// records for it; the kernel drops the lock when the daemon dies, so a node killed with -9
/// stops counting at once and its groups can be claimed again (by itself, restarted).
enum SharedTableClaim {
    /// Lines saying why this daemon must not start, or none.
    ///
    /// - node: this daemon's node, nil without one (the single-daemon layout).
    /// - stateDirectory: this daemon's state directory (absolute).
    /// - tablePath: the table's directory (absolute), to find a daemon of the single-daemon
    ///   layout whose own table it is; "" skips that check (a reload).
    /// - groups: the top-level groups of its manifest (at a reload: the ones it adds).
    static func refusals(
        table: any ChildTableReader, node: String?, stateDirectory: String, tablePath: String, groups: [String]
    ) -> [String] {
        let nodes = NodeInfo.all(try? table.meta(.nodes))
        let live = nodes.filter { $0.stateDirectory != stateDirectory && NodeLiveness.isLive(stateDirectory: $0.stateDirectory) }
        if node != nil, let owner = legacyOwner(tablePath: tablePath), owner != stateDirectory,
            !nodes.contains(where: { $0.stateDirectory == owner }), NodeLiveness.isLive(stateDirectory: owner) {
            return ["the state table \(tablePath) is the own table of the daemon running on \(owner) without a node: restart that daemon with --node NAME before others share its table"]
        }
        guard let node else {
            guard !live.isEmpty else { return [] }
            let names = live.map { "\($0.node) (pid \($0.pid))" }.joined(separator: ", ")
            return ["the state table is shared by live node(s) \(names): start this daemon with --node NAME (and --table) to join them"]
        }
        var lines: [String] = []
        if let other = live.first(where: { $0.node == node }) {
            lines.append("node \(node) is already running (pid \(other.pid), state directory \(other.stateDirectory)): give this daemon another --node")
        }
        let owners = Dictionary(live.map { ($0.node, $0) }, uniquingKeysWith: { a, _ in a })
        let mine = Set(groups)
        var claimed: [String: String] = [:]
        for row in (try? table.groups()) ?? [] {
            guard let owner = row.node, owner != node, owners[owner] != nil else { continue }
            let top = String(row.path.split(separator: "/", maxSplits: 1).first ?? "")
            if mine.contains(top) { claimed[top] = owner }
        }
        for (group, owner) in claimed.sorted(by: { $0.key < $1.key }) {
            let info = owners[owner]!
            lines.append("group \(group) is owned by live node \(owner) (pid \(info.pid), state directory \(info.stateDirectory)); node \(node) declares it too: group names must be unique across the daemons sharing a table")
        }
        return lines
    }

    /// The state directory whose own table `tablePath` is (`<state>/table`), if it is one.
    static func legacyOwner(tablePath: String) -> String? {
        var parent = tablePath
        while parent.hasSuffix("/") { parent.removeLast() }
        guard parent.hasSuffix("/table") else { return nil }
        parent.removeLast("/table".count)
        return parent.isEmpty ? "/" : parent
    }
}

/// Whether a daemon holds a state directory's lock, without disturbing it.
enum NodeLiveness {
    /// Tries a shared flock on `<state>/director.lock` without waiting: a daemon holds an
    /// exclusive one, so failing with EWOULDBLOCK means live. When nobody holds it the
    /// shared lock is let go at once. A daemon starting on that very directory in those
    /// microseconds retries for two seconds when the file names a dead pid (a killed daemon,
    /// `DaemonLock.takeLock`), but is refused when the file is empty (a daemon that stopped
    /// cleanly truncates it): a narrow window, left as it is.
    static func isLive(stateDirectory: String) -> Bool {
        let fd = open(DaemonLock.lockPath(stateDirectory: stateDirectory), O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        if flock(fd, LOCK_SH | LOCK_NB) == 0 {
            _ = flock(fd, LOCK_UN)
            return false
        }
        return errno == EWOULDBLOCK
    }
}

/// The host name, the default node name.
func hostName() -> String {
    var buffer = [CChar](repeating: 0, count: 256)
    guard gethostname(&buffer, buffer.count - 1) == 0 else { return "localhost" }
    let name = String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    return name.isEmpty ? "localhost" : name
}

extension SupervisorRuntime {
    /// The refusal of a reload that adds a group another live node of the shared table owns
    /// (DESIGN §4.1: group names are unique across the daemons sharing a table), located at
    /// the group's file; nil without a node or when no new group is claimed.
    func claimError(_ new: Manifest) -> ManifestError? {
        guard node != nil, let stateDirectory else { return nil }
        let current = Set(manifest.groups.map(\.name))
        let added = new.groups.filter { !current.contains($0.name) }
        guard !added.isEmpty else { return nil }
        let lines = SharedTableClaim.refusals(
            table: table, node: node, stateDirectory: absolutePath(stateDirectory.path), tablePath: "",
            groups: added.map(\.name))
        guard let line = lines.first(where: { $0.hasPrefix("group ") }) else { return nil }
        let name = line.dropFirst("group ".count).prefix { $0 != " " }
        let file = added.first { $0.name == name }?.file ?? jobsDirectory ?? "(in code)"
        return ManifestError(.duplicateName, at: SourceLocation(file: file, line: 1, column: 1), keyPath: "group", line)
    }
}
