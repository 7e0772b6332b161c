import Foundation

/// The built `director` (by `swift build --build-tests`).
enum Director {
    static let root: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    static let path: String = {
        for c in [".build/debug/director", ".build/x86_64-unknown-linux-gnu/debug/director"]
        where FileManager.default.isExecutableFile(atPath: root + "/" + c) {
            return root + "/" + c
        }
        return root + "/.build/debug/director"
    }()

    /// `director ARGS` to completion.
    static func run(_ args: [String]) throws -> Spawn.Output { try Spawn.run([path] + args) }

    /// `director ARGS`, its stdout parsed as JSON.
    static func json(_ args: [String]) throws -> Any {
        let out = try run(args)
        guard out.status == 0 else { throw Failed(message: "director \(args.joined(separator: " ")): \(out.status) \(out.stderr)") }
        return try JSONSerialization.jsonObject(with: Data(out.stdout.utf8))
    }

    struct Failed: Error, CustomStringConvertible {
        var message: String
        var description: String { message }
    }
}

/// A `director run --cluster` daemon of the tests' own: its jobs, state and logs in a
/// temporary directory. `cleanUp()` (also on deinit) stops it by its pid and then kills
/// every process group the node's LMDB table records (a daemon killed with -9 leaves its
/// children running).
final class ClusterDaemon: @unchecked Sendable {
    let dir: String
    let node: String
    let url: String
    var jobs: String { dir + "/jobs" }
    var state: String { dir + "/state" }
    var stderrPath: String { dir + "/daemon.err" }
    private(set) var pid: pid_t?
    private var groups = Set<Int32>()

    /// Writes `files` into a new jobs directory.
    init(node: String, url: String, files: [String: String]) throws {
        dir = try makeTemporaryDirectory("director-ctest")
        self.node = node
        self.url = url
        try FileManager.default.createDirectory(atPath: dir + "/jobs", withIntermediateDirectories: true)
        for (name, text) in files { try text.write(toFile: jobs + "/" + name, atomically: false, encoding: .utf8) }
    }

    deinit { cleanUp() }

    /// Starts `director run --jobs … --state … --cluster URL --node NODE EXTRA`.
    func start(_ extra: [String] = [], state: String? = nil) throws {
        let argv = [Director.path, "run", "--jobs", jobs, "--state", state ?? self.state, "--cluster", url, "--node", node] + extra
        pid = try Spawn.process(argv, stdout: dir + "/daemon.out", stderr: stderrPath).get()
    }

    /// The daemon's own LMDB view: `ps --state --json`, id → record.
    func localChildren(state: String? = nil) throws -> [String: [String: Any]] {
        let rows = try Director.json(["ps", "--state", state ?? self.state, "--json"]) as? [[String: Any]] ?? []
        for r in rows { if let g = r["pgid"] as? Int { groups.insert(Int32(g)) } }
        return Dictionary(uniqueKeysWithValues: rows.map { ($0["id"] as? String ?? "", $0) })
    }

    /// This node's rows in the cluster: `ps --cluster --node --json`, id → record; through
    /// `url` when given (another way to the same server), else the daemon's.
    func clusterChildren(url: String? = nil) throws -> [String: [String: Any]] {
        let rows = try Director.json(["ps", "--cluster", url ?? self.url, "--node", node, "--json"]) as? [[String: Any]] ?? []
        return Dictionary(uniqueKeysWithValues: rows.map { ($0["id"] as? String ?? "", $0) })
    }

    /// The daemon's stderr so far.
    var log: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }

    /// SIGKILL, and wait until it is gone.
    func kill9() {
        remember()
        guard let pid else { return }
        kill(pid, SIGKILL)
        _ = waitGone(pid)
        self.pid = nil
    }

    /// SIGTERM (a graceful stop of its tree), and wait until it is gone.
    func stop() {
        remember()
        guard let pid else { return }
        kill(pid, SIGTERM)
        if !waitGone(pid, timeout: 20) { kill(pid, SIGKILL); _ = waitGone(pid) }
        self.pid = nil
    }

    /// Stops the daemon and kills the process groups it recorded.
    func cleanUp() {
        stop()
        for g in groups { kill(-g, SIGKILL) }
        groups = []
        try? FileManager.default.removeItem(atPath: dir)
    }

    private func remember() { _ = try? localChildren() }

    /// Waits until `pid` no longer exists (reaped by us or by anyone; a zombie counts as gone).
    private func waitGone(_ pid: pid_t, timeout: Double = 10) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            var status: Int32 = 0
            _ = waitpid(pid, &status, WNOHANG)
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return true }
            if let close = stat.lastIndex(of: ")"), stat[stat.index(close, offsetBy: 2)] == "Z" { return true }
            usleep(20_000)
        }
        return false
    }
}

/// Polls `condition` every 100 ms until it holds or `timeout` passes; true when it held.
func eventually(timeout: Double, _ condition: () throws -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    repeat {
        if (try? condition()) == true { return true }
        usleep(100_000)
    } while Date() < deadline
    return (try? condition()) == true
}
