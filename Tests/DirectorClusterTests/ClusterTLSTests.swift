import DirectorCluster
import DirectorTable
import Foundation
import PostgresNIO
import Testing

/// TLS to PostgreSQL as libpq's `sslmode` and `sslrootcert` mean it, against a private
/// server with `ssl=on`, a self-signed certificate, and a pg_hba.conf that takes TCP only
/// over TLS (`private-postgres.sh start-tls`).
@Suite(.serialized) struct ClusterTLSTests {
    /// The suite's server (started at first use, stopped at exit), or nil after printing why
    /// the tests skip.
    static let shared: Result<PrivatePostgres, PrivatePostgres.Unavailable> = {
        do throws(PrivatePostgres.Unavailable) {
            let server = try PrivatePostgres.withTLS()
            atexit { if case .success(let s) = ClusterTLSTests.shared { s.stop() } }
            return .success(server)
        } catch {
            return .failure(error)
        }
    }()

    static func server() -> PrivatePostgres? {
        switch shared {
        case .success(let s): return s
        case .failure(let why):
            print("ClusterTLSTests: skipped: \(why)")
            return nil
        }
    }

    /// An environment whose HOME has no `~/.postgresql/root.crt`.
    static let environment = ["HOME": "/nonexistent-director-home"]

    /// Connects to `url` and says whether the session is encrypted (`pg_stat_ssl`).
    static func connectsWithTLS(_ url: String) throws -> Bool {
        let location = try ClusterLocation(url: url, environment: environment)
        let s = try PostgresSession(location.configuration)
        defer { s.close() }
        let row = try s.run("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").first
        return try row.map { (r) throws(ClusterError) in try Column.bool(r, 0) } ?? false
    }

    /// The error `url` fails with, from parsing or connecting.
    static func failure(_ url: String) -> ClusterError? {
        do throws(ClusterError) {
            let location = try ClusterLocation(url: url, environment: environment)
            let s = try PostgresSession(location.configuration)
            s.close()
            return nil
        } catch {
            return error
        }
    }

    @Test func requireConnectsOverTLSWithoutCheckingTheCertificate() throws {
        guard let server = Self.server() else { return }
        #expect(try Self.connectsWithTLS(server.tcpURL("sslmode=require")))
        // libpq's default, prefer, takes TLS when the server offers it.
        #expect(try Self.connectsWithTLS(server.tcpURL("")))
        #expect(try ClusterLocation(url: server.tcpURL(""), environment: [:]).tlsMode == .prefer)
    }

    @Test func verifyFullConnectsWithTheRightRootCertificate() throws {
        guard let server = Self.server() else { return }
        // By name (the certificate's DNS entry) and by address (its IP entry).
        #expect(try Self.connectsWithTLS(server.tcpURL(host: "localhost", "sslmode=verify-full&sslrootcert=\(server.certificate)")))
        #expect(try Self.connectsWithTLS(server.tcpURL("sslmode=verify-full&sslrootcert=\(server.certificate)")))
        #expect(try Self.connectsWithTLS(server.tcpURL("sslmode=verify-ca&sslrootcert=\(server.certificate)")))
    }

    @Test func verifyFullWithoutTheRootCertificateFailsClearly() throws {
        guard let server = Self.server() else { return }
        // No sslrootcert and no ~/.postgresql/root.crt: refused before connecting, as libpq.
        let missing = Self.failure(server.tcpURL("sslmode=verify-full"))
        #expect(missing?.code == .badURL && missing?.message.contains("needs the server's root certificate: add sslrootcert=FILE") == true,
                "\(String(describing: missing))")
        // The system's roots do not know a self-signed certificate: the handshake fails, and
        // the message says why.
        let untrusted = Self.failure(server.tcpURL("sslmode=verify-full&sslrootcert=system"))
        #expect(untrusted?.code == .unreachable && untrusted?.message.contains("certificate") == true, "\(String(describing: untrusted))")
        print("ClusterTLSTests: \(untrusted?.message ?? "-")")
        // A certificate file that is not there.
        let absent = Self.failure(server.tcpURL("sslmode=verify-full&sslrootcert=/nonexistent.crt"))
        #expect(absent?.code == .badURL && absent?.message.contains("/nonexistent.crt") == true, "\(String(describing: absent))")
    }

    @Test func disableIsRefusedByAServerThatTakesOnlyTLS() throws {
        guard let server = Self.server() else { return }
        let refused = Self.failure(server.tcpURL("sslmode=disable"))
        #expect(refused?.message.contains("no encryption") == true && refused?.message.contains("sslmode=disable") == true,
                "\(String(describing: refused))")
        print("ClusterTLSTests: \(refused?.message ?? "-")")
    }

    @Test func aUnixSocketNeverUsesTLS() throws {
        guard let server = Self.server() else { return }
        // verify-full over the socket: no certificate asked for, none used (libpq ignores
        // sslmode on a socket).
        #expect(try !Self.connectsWithTLS("postgresql://director@/postgres?host=\(server.directory)&port=\(server.port)&sslmode=verify-full"))
    }

    @Test func theMirrorWritesOverVerifyFull() throws {
        guard let server = Self.server() else { return }
        let node = "tls-\(UUID().uuidString.prefix(8).lowercased())"
        let location = try ClusterLocation(url: server.tcpURL(host: "localhost", "sslmode=verify-full&sslrootcert=\(server.certificate)"), environment: [:])
        let table = InMemoryTable()
        let mirror = ClusterMirror(location: location, node: node)
        defer { mirror.close() }
        mirror.attach(to: table)
        let changes: [TableChange] = [.upsertChild(record("tls/svc/0"))]
        mirror.committed(changes, eventSeqs: try table.apply(changes))
        #expect(mirror.flush(timeout: .seconds(30)))
        let reader = try ClusterReader(location)
        #expect(try reader.children(node: node).map(\.record.id) == ["tls/svc/0"])
    }
}
