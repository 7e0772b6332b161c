import Foundation
import PostgresNIO

/// Where the cluster's PostgreSQL is, read from a libpq-style URL:
/// `postgresql://USER[:PASSWORD]@HOST[:PORT]/DATABASE` or, for a Unix socket,
/// `postgresql://USER@/DATABASE?host=/run/postgresql` (the socket directory, as libpq takes it).
///
/// The password may come from the URL, from `PGPASSWORD`, or from a password file
/// (`PGPASSFILE`, else `~/.pgpass`: `host:port:database:user:password` lines, `*` matching
/// anything), so it never has to be on a command line that `ps` shows. TLS is not offered
/// yet (`sslmode` other than `disable` or `prefer` is refused): use a Unix socket or a trusted
/// network.
public struct ClusterLocation: Sendable, Hashable, CustomStringConvertible {
    /// The user to log in as.
    public var user: String
    /// The password, when one was found.
    public var password: String?
    /// The host name or address, or nil for a Unix socket.
    public var host: String?
    /// The TCP port, or the socket's number (`.s.PGSQL.PORT`).
    public var port: Int
    /// The Unix socket directory (for `host == nil`).
    public var socketDirectory: String?
    /// The database.
    public var database: String

    /// Parses `url`; `environment` supplies `PGPASSWORD`, `PGPASSFILE` and `HOME`.
    public init(url: String, environment: [String: String]) throws(ClusterError) {
        var rest = Substring(url)
        guard let scheme = rest.range(of: "://"), ["postgres", "postgresql"].contains(rest[..<scheme.lowerBound]) else {
            throw ClusterError(.badURL, "cluster URL must start with postgresql://, got \(Self.redacted(url))")
        }
        rest = rest[scheme.upperBound...]
        var query: [String: String] = [:]
        if let q = rest.firstIndex(of: "?") {
            for pair in rest[rest.index(after: q)...].split(separator: "&") {
                let kv = pair.split(separator: "=", maxSplits: 1).map(String.init)
                query[kv[0]] = kv.count > 1 ? Self.percentDecoded(kv[1]) : ""
            }
            rest = rest[..<q]
        }
        var authority = rest
        var path = Substring("")
        if let slash = rest.firstIndex(of: "/") {
            authority = rest[..<slash]
            path = rest[rest.index(after: slash)...]
        }
        var userInfo: Substring?
        if let at = authority.lastIndex(of: "@") {
            userInfo = authority[..<at]
            authority = authority[authority.index(after: at)...]
        }
        var user = environment["PGUSER"] ?? environment["USER"] ?? "postgres"
        var password: String?
        if let userInfo {
            let parts = userInfo.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
            user = Self.percentDecoded(String(parts[0]))
            if parts.count > 1 { password = Self.percentDecoded(String(parts[1])) }
        }
        var host: String? = nil
        var port = 5432
        if !authority.isEmpty {
            let hp = authority.split(separator: ":", maxSplits: 1)
            host = String(hp[0])
            if hp.count > 1 {
                guard let p = Int(hp[1]), p > 0, p < 65_536 else { throw ClusterError(.badURL, "cluster URL: bad port \(hp[1])") }
                port = p
            }
        }
        if let p = query["port"] {
            guard let n = Int(p) else { throw ClusterError(.badURL, "cluster URL: bad port \(p)") }
            port = n
        }
        var socketDirectory: String? = nil
        if let h = query["host"], h.hasPrefix("/") {
            socketDirectory = h
            host = nil
        } else if let h = query["host"] {
            host = h
        }
        if host == nil && socketDirectory == nil { socketDirectory = "/var/run/postgresql" }
        if let mode = query["sslmode"], !["disable", "prefer", "allow"].contains(mode) {
            throw ClusterError(.badURL, "cluster URL: sslmode=\(mode) is not supported yet (TLS is not offered); use a Unix socket or sslmode=disable")
        }
        self.user = user
        self.host = host
        self.port = port
        self.socketDirectory = socketDirectory
        database = path.isEmpty ? user : Self.percentDecoded(String(path))
        self.password = password ?? environment["PGPASSWORD"]
            ?? Self.passwordFile(environment).flatMap { Self.lookUp(in: $0, host: host ?? socketDirectory ?? "localhost", port: port, database: database, user: user) }
    }

    /// The postgres-nio configuration.
    public var configuration: PostgresConnection.Configuration {
        if let host {
            return PostgresConnection.Configuration(host: host, port: port, username: user, password: password, database: database, tls: .disable)
        }
        return PostgresConnection.Configuration(
            unixSocketPath: "\(socketDirectory ?? "/var/run/postgresql")/.s.PGSQL.\(port)", username: user, password: password, database: database)
    }

    /// The location without its password, for messages.
    public var description: String {
        if let host { return "postgresql://\(user)@\(host):\(port)/\(database)" }
        return "postgresql://\(user)@/\(database)?host=\(socketDirectory ?? "")"
    }

    /// `url` with any password replaced by `***`.
    public static func redacted(_ url: String) -> String {
        guard let scheme = url.range(of: "://"), let at = url[scheme.upperBound...].firstIndex(of: "@") else { return url }
        let info = url[scheme.upperBound..<at]
        guard let colon = info.firstIndex(of: ":") else { return url }
        return String(url[..<colon]) + ":***" + String(url[at...])
    }

    private static func passwordFile(_ environment: [String: String]) -> String? {
        if let f = environment["PGPASSFILE"] { return f }
        if let home = environment["HOME"] { return home + "/.pgpass" }
        return nil
    }

    /// The first matching line of a `.pgpass` file (`\:` and `\\` escapes honoured).
    static func lookUp(in file: String, host: String, port: Int, database: String, user: String) -> String? {
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            var fields: [String] = [""]
            var escaped = false
            for ch in line {
                if escaped { fields[fields.count - 1].append(ch); escaped = false }
                else if ch == "\\" { escaped = true }
                else if ch == ":" { fields.append("") }
                else { fields[fields.count - 1].append(ch) }
            }
            guard fields.count == 5 else { continue }
            let wanted = [host, String(port), database, user]
            if zip(fields.prefix(4), wanted).allSatisfy({ $0 == "*" || $0 == $1 }) { return fields[4] }
        }
        return nil
    }

    private static func percentDecoded(_ s: String) -> String {
        var bytes: [UInt8] = []
        var it = Array(s.utf8)[...]
        while let b = it.popFirst() {
            if b == UInt8(ascii: "%"), it.count >= 2, let v = UInt8(String(decoding: it.prefix(2), as: UTF8.self), radix: 16) {
                bytes.append(v)
                it = it.dropFirst(2)
            } else {
                bytes.append(b)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
