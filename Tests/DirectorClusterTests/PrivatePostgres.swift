import Foundation
import PostgresNIO
import Synchronization

/// A PostgreSQL server of the tests' own: `Scripts/private-postgres.sh` runs `initdb` into a
/// temporary directory and starts the server listening only on a Unix socket there (no TCP),
/// as the `postgres` user when the tests run as root. It is stopped and removed when the test
/// process exits, and by the script's watcher if the process dies without exiting.
///
/// Why not Foundation.Process: this test binary also runs supervisors in-process. One of them
/// is a child subreaper that reaps any exited child it does not own, and their signalfds take
/// SIGCHLD, so a `Process` here may never learn that its child ended (`waitUntilExit` hung
/// forever in the first version). The script is spawned with `posix_spawn` (signal mask
/// cleared, default dispositions) and its outcome is read from `start.status`, a file it
/// writes last: nobody has to reap it for the test to know, and whoever reaps it does no harm.
final class PrivatePostgres: Sendable {
    /// Why there is no server.
    struct Unavailable: Error, CustomStringConvertible {
        var description: String
    }

    /// The directory holding the data, the socket and the logs.
    let directory: String
    /// The socket's port number (part of its file name: `.s.PGSQL.5432`); for a server with
    /// TLS, also its TCP port on 127.0.0.1 (random).
    let port: Int
    /// True for a server started with `start-tls`: TCP on 127.0.0.1 over TLS only.
    let tls: Bool

    private static let started = Mutex<Result<PrivatePostgres, Unavailable>?>(nil)

    /// One server for the whole test process, started on first use; `.failure` says why
    /// there is none (the tests then print it and skip).
    static var shared: Result<PrivatePostgres, Unavailable> {
        started.withLock { slot in
            if let slot { return slot }
            let result: Result<PrivatePostgres, Unavailable>
            do throws(Unavailable) { result = .success(try PrivatePostgres()) } catch { result = .failure(error) }
            slot = result
            if case .success = result {
                atexit { if case .success(let server)? = PrivatePostgres.started.withLock({ $0 }) { server.stop() } }
            }
            return result
        }
    }

    /// A server of the caller's alone (a test that stops PostgreSQL must not take the shared
    /// one from the suites running beside it); the caller stops it. Its watcher stops it too
    /// if this process dies first.
    static func own() throws(Unavailable) -> PrivatePostgres { try PrivatePostgres() }

    /// A server of the caller's with TLS (`private-postgres.sh start-tls`): its socket as
    /// usual, and TCP on 127.0.0.1 at `port`, taken only over TLS, with the self-signed
    /// certificate `certificate` (for localhost and 127.0.0.1). The caller stops it.
    static func withTLS() throws(Unavailable) -> PrivatePostgres { try PrivatePostgres(command: "start-tls") }

    /// A server of the caller's in network namespace `netns`, on TCP at `address`:5432 there
    /// (and its socket, which the caller's namespace reaches whatever the network does). The
    /// caller stops it before deleting the namespace.
    static func inNetworkNamespace(_ netns: String, address: String) throws(Unavailable) -> PrivatePostgres {
        try PrivatePostgres(command: "start-netns", extra: [netns, address])
    }

    /// The server's self-signed certificate (PEM), for `sslrootcert`.
    var certificate: String { "\(directory)/server.crt" }

    /// A URL for TCP to `host` (127.0.0.1 or localhost) with `query` (`sslmode=…`).
    func tcpURL(host: String = "127.0.0.1", _ query: String) -> String {
        "postgresql://director@\(host):\(port)/postgres" + (query.isEmpty ? "" : "?" + query)
    }

    /// The repository's `Tests/DirectorClusterTests/Scripts/private-postgres.sh`.
    static let script: String = {
        var url = URL(fileURLWithPath: #filePath)
        url.deleteLastPathComponent()
        return url.path + "/Scripts/private-postgres.sh"
    }()

    /// A configuration for the server's socket, as the superuser `director`.
    var configuration: PostgresConnection.Configuration {
        PostgresConnection.Configuration(
            unixSocketPath: socketPath, username: "director", password: nil, database: "postgres")
    }

    /// The socket file.
    var socketPath: String { "\(directory)/.s.PGSQL.\(port)" }

    /// A `postgresql://` URL for the socket (libpq's form: the host is the socket directory).
    var url: String { "postgresql://director@/postgres?host=\(directory)" }

    private init(command: String = "start", extra: [String] = []) throws(Unavailable) {
        let tls = command == "start-tls"
        do { directory = try makeTemporaryDirectory("director-pg") } catch {
            throw Unavailable(description: "mkdtemp: \(error)")
        }
        self.tls = tls
        let directory = self.directory
        try Self.spawnAndWait(["/bin/sh", Self.script, command, directory, String(getpid())] + extra, until: "\(directory)/start.status", timeout: 120)
        let status = (try? String(contentsOfFile: "\(directory)/start.status", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
        guard status == "0" else {
            let why = (try? String(contentsOfFile: "\(directory)/start.out", encoding: .utf8)) ?? "no output"
            try? FileManager.default.removeItem(atPath: directory)
            throw Unavailable(description: "cannot start a private PostgreSQL: \(why.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        port = tls ? Int((try? String(contentsOfFile: "\(directory)/port", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "") ?? 0 : 5432
    }

    /// Stops the server and removes its directory (waits until the directory is gone).
    func stop() {
        try? Self.spawnAndWait(["/bin/sh", Self.script, "stop", directory], untilGone: directory, timeout: 60)
    }

    /// Stops the server, keeping its data (PostgreSQL "down" for a test).
    func pause() throws(Unavailable) {
        try Self.spawnAndWait(["/bin/sh", Self.script, "pause", directory], untilGone: "\(directory)/data/postmaster.pid", timeout: 60)
    }

    /// Starts the paused server again.
    func resume() throws(Unavailable) {
        try Self.spawnAndWait(["/bin/sh", Self.script, "resume", directory], until: "\(directory)/data/postmaster.pid", timeout: 60)
        // postmaster.pid appears before the socket accepts; wait for the socket too.
        try Self.waitFor(timeout: 60) { access(socketPath, F_OK) == 0 }
    }

    // MARK: - Spawning without Foundation.Process

    private static func spawnAndWait(_ argv: [String], until file: String, timeout: Double) throws(Unavailable) {
        let pid = try Spawn.process(argv).mapError { Unavailable(description: $0.description) }.get()
        try waitFor(timeout: timeout, reaping: pid) { access(file, F_OK) == 0 }
    }

    private static func spawnAndWait(_ argv: [String], untilGone file: String, timeout: Double) throws(Unavailable) {
        let pid = try Spawn.process(argv).mapError { Unavailable(description: $0.description) }.get()
        try waitFor(timeout: timeout, reaping: pid) { access(file, F_OK) != 0 }
    }

    /// Polls `done` every 50 ms; reaps `pid` when it is still ours to reap (ECHILD, when an
    /// in-process subreaper took it first, is fine: the files tell the outcome).
    private static func waitFor(timeout: Double, reaping pid: pid_t? = nil, _ done: () -> Bool) throws(Unavailable) {
        let deadline = Date().addingTimeInterval(timeout)
        var reaped = pid == nil
        while !done() {
            if !reaped, let pid {
                var status: Int32 = 0
                let r = waitpid(pid, &status, WNOHANG)
                if r == pid || (r < 0 && errno == ECHILD) { reaped = true }
            }
            if Date() > deadline { throw Unavailable(description: "timed out after \(Int(timeout)) s") }
            usleep(50_000)
        }
        if !reaped, let pid {
            // The script's last step is the file; it exits right after.
            for _ in 0..<100 {
                var status: Int32 = 0
                let r = waitpid(pid, &status, WNOHANG)
                if r == pid || (r < 0 && errno == ECHILD) { break }
                usleep(20_000)
            }
        }
    }
}
