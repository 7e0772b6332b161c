import Foundation
import NIOSSL
import PostgresNIO

/// Where the cluster's PostgreSQL is, read from a libpq-style URL:
/// `postgresql://USER[:PASSWORD]@HOST[:PORT]/DATABASE` or, for a Unix socket,
/// `postgresql://USER@/DATABASE?host=/run/postgresql` (the socket directory, as libpq takes it).
///
/// The password may come from the URL, from `PGPASSWORD`, or from a password file
/// (`PGPASSFILE`, else `~/.pgpass`: `host:port:database:user:password` lines, `*` matching
/// anything), so it never has to be on a command line that `ps` shows.
///
/// TLS, as libpq: `sslmode=disable|allow|prefer|require|verify-ca|verify-full` and
/// `sslrootcert=FILE` in the query (see `TLSMode`); the default is libpq's, `prefer`. Over a
/// Unix socket TLS is never used (libpq ignores `sslmode` there too).
public struct ClusterLocation: Sendable, Hashable, CustomStringConvertible {
    /// libpq's `sslmode`: whether TLS is used and what is checked of the server.
    public enum TLSMode: String, Sendable, Hashable, CaseIterable {
        /// Never TLS.
        case disable
        /// TLS when the server offers it, no check of its certificate. libpq tries without
        /// TLS first; postgres-nio can only ask for TLS first, so this is `prefer` (the same
        /// guarantee: none).
        case allow
        /// TLS when the server offers it, else without; the certificate is not checked
        /// (libpq's default).
        case prefer
        /// TLS or no connection; the certificate is not checked, unless `sslrootcert` is
        /// given, which makes it `verifyCA` (as libpq does when a root certificate exists).
        case require
        /// TLS, and the server's certificate must be signed by the root certificate.
        case verifyCA = "verify-ca"
        /// `verifyCA`, and the certificate must name the host (a DNS name, or the address:
        /// an IP in the URL is checked against the certificate's IP entries).
        case verifyFull = "verify-full"
    }

    /// `sslmode`; `.prefer` when the URL does not say.
    public var tlsMode: TLSMode
    /// `sslrootcert`: a PEM file of trusted roots, or `system` for the system's trusted
    /// roots. For `verify-ca` and `verify-full` without it, `~/.postgresql/root.crt`
    /// (libpq's default), which must then exist.
    public var tlsRootCertificate: String?

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
        let modeText = query["sslmode"] ?? environment["PGSSLMODE"] ?? TLSMode.prefer.rawValue
        guard let mode = TLSMode(rawValue: modeText) else {
            throw ClusterError(.badURL, "cluster URL: sslmode=\(modeText) is not one of \(TLSMode.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        var rootCertificate = query["sslrootcert"] ?? environment["PGSSLROOTCERT"]
        if rootCertificate?.isEmpty == true { rootCertificate = nil }
        if rootCertificate == nil, mode == .verifyCA || mode == .verifyFull, host != nil {
            // libpq's default file; without it there is nothing to verify against.
            let file = (environment["HOME"] ?? "~") + "/.postgresql/root.crt"
            guard FileManager.default.isReadableFile(atPath: file) else {
                throw ClusterError(.badURL, "cluster URL: sslmode=\(mode.rawValue) needs the server's root certificate: add sslrootcert=FILE (or sslrootcert=system for the system's trusted roots); the default \(file) does not exist")
            }
            rootCertificate = file
        }
        if let file = rootCertificate, file != "system", host != nil, !FileManager.default.isReadableFile(atPath: file) {
            throw ClusterError(.badURL, "cluster URL: sslrootcert=\(file): no such readable file")
        }
        tlsMode = rootCertificate != nil && mode == .require ? .verifyCA : mode
        tlsRootCertificate = rootCertificate
        self.user = user
        self.host = host
        self.port = port
        self.socketDirectory = socketDirectory
        database = path.isEmpty ? user : Self.percentDecoded(String(path))
        self.password = password ?? environment["PGPASSWORD"]
            ?? Self.passwordFile(environment).flatMap { Self.lookUp(in: $0, host: host ?? socketDirectory ?? "localhost", port: port, database: database, user: user) }
    }

    /// The postgres-nio configuration (with its TLS context, read from `tlsRootCertificate`).
    public var configuration: PostgresConnection.Configuration {
        get throws(ClusterError) {
            guard let host else {
                return PostgresConnection.Configuration(
                    unixSocketPath: "\(socketDirectory ?? "/var/run/postgresql")/.s.PGSQL.\(port)", username: user, password: password, database: database)
            }
            return PostgresConnection.Configuration(host: host, port: port, username: user, password: password, database: database, tls: try tls())
        }
    }

    /// postgres-nio's TLS for `tlsMode`.
    private func tls() throws(ClusterError) -> PostgresConnection.Configuration.TLS {
        var c = TLSConfiguration.makeClientConfiguration()
        switch tlsMode {
        case .disable: return .disable
        case .allow, .prefer, .require: c.certificateVerification = .none
        case .verifyCA: c.certificateVerification = .noHostnameVerification
        case .verifyFull: c.certificateVerification = .fullVerification
        }
        if let file = tlsRootCertificate, file != "system", c.certificateVerification != .none {
            c.trustRoots = .file(file)
        }
        let context: NIOSSLContext
        do { context = try NIOSSLContext(configuration: c) } catch {
            throw ClusterError(.badURL, "cluster URL: sslrootcert=\(tlsRootCertificate ?? ""): not a PEM certificate file (\(error))")
        }
        return tlsMode == .allow || tlsMode == .prefer ? .prefer(context) : .require(context)
    }

    /// The location without its password, for messages.
    public var description: String {
        if let host {
            let tls = tlsMode == .prefer ? "" : "?sslmode=\(tlsMode.rawValue)"
            return "postgresql://\(user)@\(host):\(port)/\(database)\(tls)"
        }
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
