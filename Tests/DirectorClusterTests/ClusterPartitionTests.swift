import Foundation
import Testing

/// A network partition between a daemon and PostgreSQL (DESIGN §9): PostgreSQL runs in a
/// network namespace of its own (`ip netns`), joined to the daemon's by a veth pair, and the
/// link is cut in the middle of a restart storm. Unlike a stopped server, a cut link answers
/// nothing: the mirror's statement in flight hangs until its timeout. Root only (namespaces
/// and links); skipped with the reason otherwise.
@Suite(.serialized) struct ClusterPartitionTests {
    /// `argv` to completion; its exit status (-1 when it could not run).
    @discardableResult
    static func run(_ argv: [String]) -> Int32 { (try? Spawn.run(argv).status) ?? -1 }

    @Test func aCutLinkCostsNoSupervisionAndTheMirrorCatchesUpWhenItReturns() throws {
        guard ClusterDaemonTests.server() != nil else { return }
        guard getuid() == 0 else { print("ClusterPartitionTests: skipped: not root (ip netns needs it)"); return }
        // Names and a /30 of this process's own: runs side by side never share them.
        let tag = String(getpid() % 100_000)
        let netns = "dpart\(tag)", near = "dpn\(tag)", far = "dpf\(tag)"
        let subnet = "10.213.\(getpid() % 250 + 1)"
        guard Self.run(["ip", "netns", "add", netns]) == 0 else {
            print("ClusterPartitionTests: skipped: ip netns add failed (no network namespaces here)")
            return
        }
        // Deleting the namespace deletes its end of the pair, and so the pair.
        defer { Self.run(["ip", "netns", "del", netns]) }
        let setUp = [
            ["ip", "link", "add", near, "type", "veth", "peer", "name", far],
            ["ip", "link", "set", far, "netns", netns],
            ["ip", "addr", "add", "\(subnet).2/30", "dev", near],
            ["ip", "link", "set", near, "up"],
            ["ip", "netns", "exec", netns, "ip", "addr", "add", "\(subnet).1/30", "dev", far],
            ["ip", "netns", "exec", netns, "ip", "link", "set", far, "up"],
            ["ip", "netns", "exec", netns, "ip", "link", "set", "lo", "up"],
        ]
        for argv in setUp { try #require(Self.run(argv) == 0, "\(argv.joined(separator: " "))") }
        defer { Self.run(["ip", "link", "del", near]) }
        let server = try PrivatePostgres.inNetworkNamespace(netns, address: "\(subnet).1")
        defer { server.stop() }
        // The daemon goes over the veth; the test reads over the socket, which no cut reaches.
        let overLink = "postgresql://director@\(subnet).1:5432/postgres?sslmode=disable"
        let group = "p\(UUID().uuidString.prefix(6))"
        let d = try ClusterDaemon(node: ClusterDaemonTests.name("part"), url: overLink, files: ["\(group).yaml": ClusterDaemonTests.stormManifest(group)])
        defer { d.cleanUp() }
        try d.start(["--lease", "3s"])
        #expect(eventually(timeout: 15) { try d.clusterChildren(url: server.url).values.compactMap { $0["restarts"] as? Int }.reduce(0, +) > 10 }, "\(d.log)")

        try #require(Self.run(["ip", "netns", "exec", netns, "ip", "link", "set", far, "down"]) == 0)
        let cutAt = Date()
        let before = try d.localChildren().values.compactMap { $0["restarts"] as? Int }.reduce(0, +)
        // Past the mirror's 10 s statement timeout: the outage is noticed meanwhile.
        Thread.sleep(forTimeInterval: 12)
        let after = try d.localChildren().values.compactMap { $0["restarts"] as? Int }.reduce(0, +)
        #expect(after - before > 30, "restarts while the link was cut: \(after - before)\n\(d.log)")
        #expect(d.log.contains("unavailable"), "the outage is logged:\n\(d.log)")
        let frozen = try d.clusterChildren(url: server.url).values.compactMap { $0["restarts"] as? Int }.reduce(0, +)
        #expect(frozen < after, "the cluster view cannot have followed: \(frozen) vs \(after)")

        try #require(Self.run(["ip", "netns", "exec", netns, "ip", "link", "set", far, "up"]) == 0)
        let restoredAt = Date()
        let stopped = try Director.run(["stop", "\(group)/crash", "--state", d.state])
        #expect(stopped.status == 0, "\(stopped.stderr)")
        // A reconnect may first wait out a connection attempt begun during the cut (10 s).
        let converged = eventually(timeout: 25) {
            ClusterDaemonTests.summary(try d.localChildren()) == ClusterDaemonTests.summary(try d.clusterChildren(url: server.url))
        }
        #expect(converged, "LMDB \(ClusterDaemonTests.summary((try? d.localChildren()) ?? [:])) vs cluster \(ClusterDaemonTests.summary((try? d.clusterChildren(url: server.url)) ?? [:]))\n\(d.log)")
        print("ClusterPartitionTests: cut \(Int(restoredAt.timeIntervalSince(cutAt))) s; converged \(String(format: "%.1f", Date().timeIntervalSince(restoredAt))) s after the link returned; \(after - before) restarts during the first 12 s of the cut")
        #expect(d.log.contains("reachable again"), "\(d.log)")
        #expect(d.log.components(separatedBy: "unavailable").count == 2, "the outage is logged once:\n\(d.log)")
    }
}
