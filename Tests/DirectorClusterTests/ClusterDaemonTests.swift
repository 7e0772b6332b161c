import Foundation
import Testing

/// `director run --cluster` daemons against the tests' private PostgreSQL (DESIGN §9): the
/// fleet view agrees with each node's LMDB, a killed node shows down, an outage costs no
/// supervision and no rows, commands reach the right node, and a stale daemon is fenced.
@Suite(.serialized) struct ClusterDaemonTests {
    /// The server, or nil after printing why the tests skip.
    static func server() -> PrivatePostgres? {
        switch PrivatePostgres.shared {
        case .success(let s): return s
        case .failure(let why):
            print("ClusterDaemonTests: skipped: \(why)")
            return nil
        }
    }

    /// A node name no other test (or earlier run on the same server) uses.
    /// A group of three children crashing every 0.2 s (a small restart storm) and one that
    /// sleeps: what the outage and partition tests supervise while PostgreSQL goes away.
    static func stormManifest(_ group: String) -> String {
        """
        group: \(group)
        intensity: 100000
        period: 1s
        jobs:
          - name: crash
            command: [sh, "-c", "sleep 0.2; exit 1"]
            instances: 3
          - name: steady
            command: [sleep, "1000"]
        """
    }

    static func name(_ base: String) -> String { "\(base)-\(UUID().uuidString.prefix(8).lowercased())" }

    static func sleeper(group: String, instances: Int = 1) -> [String: String] {
        ["\(group).yaml": """
            group: \(group)
            jobs:
              - name: svc
                command: [sleep, "1000"]
                instances: \(instances)
            """]
    }

    /// Every id → (state, pid, restarts) of a `ps --json` listing.
    static func summary(_ rows: [String: [String: Any]]) -> [String: String] {
        rows.mapValues { "\($0["state"] ?? "-") \($0["pid"] as? Int ?? 0) \($0["restarts"] as? Int ?? 0)" }
    }

    @Test func threeNodesShowInTheClusterAsInTheirOwnTables() throws {
        guard let server = Self.server() else { return }
        let daemons = try ["a", "b", "c"].enumerated().map { i, base in
            try ClusterDaemon(node: Self.name(base), url: server.url, files: Self.sleeper(group: "g\(base)\(UUID().uuidString.prefix(4))", instances: i + 1))
        }
        defer { for d in daemons { d.cleanUp() } }
        for d in daemons { try d.start(["--lease", "3s"]) }
        for d in daemons {
            let agreed = eventually(timeout: 15) {
                let local = try d.localChildren()
                let remote = try d.clusterChildren()
                return local.count > 0 && local.values.allSatisfy { $0["state"] as? String == "running" }
                    && Self.summary(local) == Self.summary(remote)
            }
            #expect(agreed, "node \(d.node): LMDB \(Self.summary((try? d.localChildren()) ?? [:])) vs cluster \(Self.summary((try? d.clusterChildren()) ?? [:]))\n\(d.log)")
        }
        // The whole listing has each node's rows under its own name, and no others.
        let all = try Director.json(["ps", "--cluster", server.url, "--json"]) as? [[String: Any]] ?? []
        for (i, d) in daemons.enumerated() {
            #expect(all.filter { $0["node"] as? String == d.node }.count == i + 1)
        }
        let text = try Director.run(["ps", "--cluster", server.url, "--node", daemons[2].node])
        let lines = text.stdout.split(separator: "\n")
        #expect(text.status == 0 && lines.first?.hasPrefix("NODE") == true, "\(text.stdout)")
        #expect(lines.count == 4 && lines.dropFirst().allSatisfy { $0.hasPrefix(daemons[2].node + " ") }, "\(text.stdout)")
        // `ps`'s own columns, NODE first; the cells as the node's own `ps` shows them, but
        // CPU and MEM, which only the node's host can read from /proc.
        let local = try Director.run(["ps", "--state", daemons[2].state]).stdout.split(separator: "\n")
        #expect(Self.words(lines[0]) == ["NODE"] + Self.words(local[0]), "\(text.stdout)\n\(local.joined(separator: "\n"))")
        #expect(Self.words(lines[0]) == ["NODE", "ID", "STATE", "READY", "PID", "UPTIME", "CPU", "MEM", "RESTARTS", "LAST", "EXIT"])
        for (remote, mine) in zip(lines.dropFirst(), local.dropFirst()) {
            let r = Self.words(remote), l = Self.words(mine)
            #expect(r.count == 10 && l.count == 9, "\(remote) / \(mine)")
            guard r.count == 10, l.count == 9 else { continue }
            #expect(Array(r[1...4]) == Array(l[0...3]) && r[6] == "-" && r[7] == "-" && r[8...] == l[7...], "\(remote) / \(mine)")
        }
    }

    /// A listing line's cells (the ones tested hold no spaces).
    static func words(_ line: Substring) -> [String] { line.split(separator: " ").map(String.init) }

    @Test func aKilledNodeShowsDownAndItsChildrenUnknownWithinTheLease() throws {
        guard let server = Self.server() else { return }
        let lease = 2.0
        let victim = try ClusterDaemon(node: Self.name("victim"), url: server.url, files: Self.sleeper(group: "v\(UUID().uuidString.prefix(6))", instances: 2))
        let watcher = try ClusterDaemon(node: Self.name("watcher"), url: server.url, files: Self.sleeper(group: "w\(UUID().uuidString.prefix(6))"))
        defer { victim.cleanUp(); watcher.cleanUp() }
        try victim.start(["--lease", "2s"])
        try watcher.start(["--lease", "2s"])
        #expect(eventually(timeout: 15) { try victim.clusterChildren().values.filter { $0["state"] as? String == "running" }.count == 2 }, "\(victim.log)")
        victim.kill9()
        let killedAt = Date()
        let shownDown = eventually(timeout: lease + 3) {
            let rows = try victim.clusterChildren()
            return rows.count == 2 && rows.values.allSatisfy { $0["state"] as? String == "unknown" && $0["node_status"] as? String == "down" }
        }
        #expect(shownDown, "not down within lease + 3 s: \((try? victim.clusterChildren()) ?? [:])")
        // In the text listing: STATE unknown, and no READY or UPTIME that the record can no
        // longer vouch for.
        let text = try Director.run(["ps", "--cluster", server.url, "--node", victim.node, "--color", "never"])
        let lines = text.stdout.split(separator: "\n")
        #expect(lines.first?.hasPrefix("node \(victim.node) down: last heartbeat") == true, "\(text.stdout)")
        for line in lines.dropFirst(2) {
            let cells = Self.words(line)
            #expect(cells.count == 10 && cells[2] == "unknown" && cells[3] == "-" && cells[5] == "-" && cells[6] == "-", "\(text.stdout)")
        }
        #expect(lines.count == 4, "\(text.stdout)")
        print("ClusterDaemonTests: down and unknown \(String(format: "%.1f", Date().timeIntervalSince(killedAt))) s after kill -9 (lease \(lease) s)")
        // The watcher's own children are untouched, and a command to the dead node is
        // refused at once with the reason.
        #expect(try watcher.clusterChildren().values.allSatisfy { $0["state"] as? String == "running" })
        let refused = try Director.run(["restart", "x/svc/0", "--cluster", server.url, "--node", victim.node])
        #expect(refused.status == 1 && refused.stderr.contains("is down"), "\(refused.status) \(refused.stderr)")
    }

    @Test func postgresDownDuringARestartStormCostsNoSupervisionAndNoRows() throws {
        guard Self.server() != nil else { return }
        // A server of its own: stopping the shared one would fail the suites beside this one.
        let server = try PrivatePostgres.own()
        defer { server.stop() }
        let group = "s\(UUID().uuidString.prefix(6))"
        let d = try ClusterDaemon(node: Self.name("storm"), url: server.url, files: ["\(group).yaml": Self.stormManifest(group)])
        defer { d.cleanUp() }
        try d.start(["--lease", "3s"])
        #expect(eventually(timeout: 15) { try d.clusterChildren().count == 4 }, "\(d.log)")
        // The storm is mirrored for a while first, so that the rows PostgreSQL holds have
        // high revs: a replay after the outage must still replace them.
        #expect(eventually(timeout: 15) { try d.clusterChildren().values.compactMap { $0["restarts"] as? Int }.reduce(0, +) > 20 })
        try server.pause()
        defer { try? server.resume() }
        let before = try d.localChildren().values.compactMap { $0["restarts"] as? Int }.reduce(0, +)
        Thread.sleep(forTimeInterval: 10)
        let after = try d.localChildren().values.compactMap { $0["restarts"] as? Int }.reduce(0, +)
        // Supervision went on: the crashing children kept being restarted (about 3 × 10 s /
        // 0.2 s; a loaded machine does fewer, none would mean the daemon waited).
        #expect(after - before > 30, "restarts while PostgreSQL was down: \(after - before)\n\(d.log)")
        try server.resume()
        let resumedAt = Date()
        // Stop the storm so both views can be compared exactly.
        let stopped = try Director.run(["stop", "\(group)/crash", "--state", d.state])
        #expect(stopped.status == 0, "\(stopped.stderr)")
        let converged = eventually(timeout: 5) {
            let local = try d.localChildren()
            let remote = try d.clusterChildren()
            return Self.summary(local) == Self.summary(remote)
        }
        #expect(converged, "LMDB \(Self.summary((try? d.localChildren()) ?? [:])) vs cluster \(Self.summary((try? d.clusterChildren()) ?? [:]))\n\(d.log)")
        print("ClusterDaemonTests: converged \(String(format: "%.1f", Date().timeIntervalSince(resumedAt))) s after PostgreSQL returned")
        // No lost and no duplicated event: the cluster holds exactly the node's LMDB events
        // (both keep the newest 10 000; the storm made fewer).
        let local = try eventSeqs(["events", "--state", d.state, "--json"])
        #expect(eventually(timeout: 5) { try self.eventSeqs(["events", "--cluster", server.url, "--node", d.node, "--json"]) == local })
        let remote = try eventSeqs(["events", "--cluster", server.url, "--node", d.node, "--json"])
        #expect(remote == local, "LMDB has \(local.count) events, the cluster \(remote.count)")
        #expect(d.log.components(separatedBy: "unavailable").count == 2, "the outage is logged once:\n\(d.log)")
    }

    /// The sequence numbers `director events … --json` prints, in order.
    func eventSeqs(_ args: [String]) throws -> [Int] {
        let out = try Director.run(args)
        guard out.status == 0 else { throw Director.Failed(message: out.stderr) }
        return out.stdout.split(separator: "\n").compactMap { line in
            (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["seq"] as? Int
        }
    }

    @Test func aRemoteRestartReachesTheOwningNodeOnly() throws {
        guard let server = Self.server() else { return }
        let ga = "ra\(UUID().uuidString.prefix(6))", gb = "rb\(UUID().uuidString.prefix(6))"
        let a = try ClusterDaemon(node: Self.name("ra"), url: server.url, files: Self.sleeper(group: ga))
        let b = try ClusterDaemon(node: Self.name("rb"), url: server.url, files: Self.sleeper(group: gb))
        defer { a.cleanUp(); b.cleanUp() }
        try a.start()
        try b.start()
        #expect(eventually(timeout: 15) { try a.clusterChildren().count == 1 && (try b.clusterChildren().count) == 1 })
        let pidA = try a.localChildren()["\(ga)/svc/0"]?["pid"] as? Int
        let pidB = try b.localChildren()["\(gb)/svc/0"]?["pid"] as? Int
        let out = try Director.run(["restart", "\(ga)/svc/0", "--cluster", server.url, "--node", a.node])
        #expect(out.status == 0 && out.stdout == "\(a.node) \(ga)/svc/0: restarting\n", "\(out.status) \(out.stdout) \(out.stderr)")
        #expect(eventually(timeout: 5) {
            let now = try a.localChildren()["\(ga)/svc/0"]
            return now?["state"] as? String == "running" && now?["pid"] as? Int != pidA
        })
        #expect(try b.localChildren()["\(gb)/svc/0"]?["pid"] as? Int == pidB)
        // An id the node does not run: its own answer, not a timeout.
        let wrong = try Director.run(["restart", "\(ga)/svc/0", "--cluster", server.url, "--node", b.node])
        #expect(wrong.status == 1 && wrong.stderr.contains("not_found"), "\(wrong.stderr)")
    }

    @Test func aStaleDaemonCannotOverwriteTheNewOnesRows() throws {
        guard let server = Self.server() else { return }
        let node = Self.name("fenced")
        let gOld = "old\(UUID().uuidString.prefix(6))", gNew = "new\(UUID().uuidString.prefix(6))"
        let old = try ClusterDaemon(node: node, url: server.url, files: Self.sleeper(group: gOld))
        let new = try ClusterDaemon(node: node, url: server.url, files: Self.sleeper(group: gNew))
        defer { old.cleanUp(); new.cleanUp() }
        try old.start(["--lease", "3s"])
        #expect(eventually(timeout: 15) { try old.clusterChildren().keys.sorted() == ["\(gOld)/svc/0"] }, "\(old.log)")
        // A second daemon for the same node (the old one, say, cut off and presumed dead):
        // it takes the next epoch and the node's rows are its own.
        try new.start(["--lease", "3s"])
        #expect(eventually(timeout: 15) { try old.clusterChildren().keys.sorted() == ["\(gNew)/svc/0"] }, "\(new.log)")
        // The old daemon goes on changing its own table; none of it reaches the cluster.
        for _ in 0..<3 {
            let r = try Director.run(["restart", "\(gOld)/svc/0", "--state", old.state])
            #expect(r.status == 0, "\(r.stderr)")
        }
        #expect(eventually(timeout: 10) { old.log.contains("taken over by a newer daemon") }, "\(old.log)")
        Thread.sleep(forTimeInterval: 1)
        #expect(try old.clusterChildren().keys.sorted() == ["\(gNew)/svc/0"])
        let events = try Director.run(["events", "--cluster", server.url, "--node", node])
        #expect(!events.stdout.contains("\(gOld)/svc/0 stop"), "\(events.stdout)")
    }
}
