import Foundation
import PostgresNIO

/// A PostgreSQL server of the tests' own: `initdb` into a temporary directory, listening only
/// on a Unix socket there (no TCP), stopped and removed at the end. Found through
/// `pg_config --bindir` or Debian's /usr/lib/postgresql/N/bin (`.ci/run` installs
/// `postgresql`). As root it runs as the `postgres` user, since PostgreSQL refuses root.
final class PrivatePostgres: @unchecked Sendable {
    enum Unavailable: Error, CustomStringConvertible {
        case reason(String)
        var description: String { if case .reason(let r) = self { r } else { "" } }
    }

    let directory: String
    let port = 5432
    private let bin: String
    private let runAs: String?

    /// One server for the whole test process (started on first use).
    static let shared: Result<PrivatePostgres, Unavailable> = {
        do { return .success(try PrivatePostgres()) } catch let e as Unavailable { return .failure(e) } catch {
            return .failure(.reason("\(error)"))
        }
    }()

    /// A configuration for the server's socket, as the superuser `director`.
    var configuration: PostgresConnection.Configuration {
        PostgresConnection.Configuration(
            unixSocketPath: "\(directory)/.s.PGSQL.\(port)", username: "director", password: nil, database: "postgres")
    }

    private init() throws {
        guard let bin = Self.binDirectory() else {
            throw Unavailable.reason("no PostgreSQL server binaries (initdb, pg_ctl) found; install `postgresql`")
        }
        self.bin = bin
        runAs = geteuid() == 0 ? "postgres" : nil
        if runAs != nil, getpwnam("postgres") == nil {
            throw Unavailable.reason("running as root and there is no `postgres` user to run the server as")
        }
        if runAs != nil, !FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv") {
            throw Unavailable.reason("running as root and there is no /usr/bin/setpriv to run the server as `postgres`")
        }
        directory = try Self.temporaryDirectory()
        if let user = runAs, let pw = getpwnam(user) {
            chown(directory, pw.pointee.pw_uid, pw.pointee.pw_gid)
        }
        try run(["\(bin)/initdb", "-D", "\(directory)/data", "-A", "trust", "-U", "director", "--no-sync", "-E", "UTF8"])
        try run([
            "\(bin)/pg_ctl", "-D", "\(directory)/data", "-l", "\(directory)/server.log", "-w", "-t", "60",
            "-o", "-k \(directory) -c listen_addresses= -p \(port) -F", "start",
        ])
        atexit {
            if case .success(let server) = PrivatePostgres.shared { server.stop() }
        }
    }

    func stop() {
        try? run(["\(bin)/pg_ctl", "-D", "\(directory)/data", "-m", "immediate", "-w", "stop"])
        try? FileManager.default.removeItem(atPath: directory)
    }

    private func run(_ argv: [String]) throws {
        let process = Process()
        if let user = runAs {
            // setpriv execs the command as the user, with no process of its own in between
            // (runuser waits for its child with the signals it inherited, which hung here).
            process.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
            process.arguments = ["--reuid=\(user)", "--regid=\(user)", "--init-groups", "--"] + argv
        } else {
            process.executableURL = URL(fileURLWithPath: argv[0])
            process.arguments = Array(argv.dropFirst())
        }
        // Into a file, not a pipe: the server `pg_ctl start` leaves running inherits the
        // command's output, and a pipe would then never reach its end.
        let logPath = "\(directory)/command.log"
        FileManager.default.createFile(atPath: logPath, contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        process.standardOutput = log
        process.standardError = log
        try process.run()
        process.waitUntilExit()
        try? log.close()
        let text = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
        guard process.terminationStatus == 0 else {
            throw Unavailable.reason("\(argv.joined(separator: " ")) failed: \(text)")
        }
    }

    static func binDirectory() -> String? {
        var candidates: [String] = []
        if let out = try? capture(["/usr/bin/env", "pg_config", "--bindir"]) { candidates.append(out) }
        let debian = (try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? []
        candidates += debian.sorted { (Int($0) ?? 0) > (Int($1) ?? 0) }.map { "/usr/lib/postgresql/\($0)/bin" }
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0 + "/initdb") && FileManager.default.isExecutableFile(atPath: $0 + "/pg_ctl") }
    }

    private static func capture(_ argv: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: argv[0])
        process.arguments = Array(argv.dropFirst())
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return text.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    private static func temporaryDirectory() throws -> String {
        var template = Array("/tmp/director-pg-XXXXXX".utf8CString)
        guard mkdtemp(&template) != nil else { throw Unavailable.reason("mkdtemp: \(String(cString: strerror(errno)))") }
        let path = String(cString: template)
        chmod(path, 0o755)
        return path
    }
}
