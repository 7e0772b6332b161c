import DirectorCluster
import Foundation
import Testing

/// Reading the cluster URL and finding the password off the command line.
@Suite struct ClusterLocationTests {
    @Test func aTCPURLWithItsPassword() throws {
        let l = try ClusterLocation(url: "postgresql://dir%40ector:s%3Acret@db.internal:6543/fleet", environment: [:])
        #expect(l.user == "dir@ector" && l.password == "s:cret" && l.host == "db.internal" && l.port == 6543 && l.database == "fleet")
        #expect(l.description == "postgresql://dir@ector@db.internal:6543/fleet", "no password in messages")
        #expect(ClusterLocation.redacted("postgres://u:secret@h/db") == "postgres://u:***@h/db")
    }

    @Test func aUnixSocketAsLibpqWritesIt() throws {
        let l = try ClusterLocation(url: "postgresql://director@/postgres?host=/tmp/pg&port=5433", environment: [:])
        #expect(l.host == nil && l.socketDirectory == "/tmp/pg" && l.port == 5433 && l.database == "postgres")
    }

    @Test func thePasswordFromTheEnvironmentOrAPasswordFile() throws {
        let env = try ClusterLocation(url: "postgresql://u@h/db", environment: ["PGPASSWORD": "fromenv"])
        #expect(env.password == "fromenv")
        let file = "/tmp/director-pgpass-\(getpid())"
        try "# comment\nother:*:*:*:wrong\nh:5432:db:u:from\\:file\n".write(toFile: file, atomically: false, encoding: .utf8)
        defer { unlink(file) }
        let passfile = try ClusterLocation(url: "postgresql://u@h/db", environment: ["PGPASSFILE": file])
        #expect(passfile.password == "from:file")
        let none = try ClusterLocation(url: "postgresql://u@h/other", environment: ["PGPASSFILE": file])
        #expect(none.password == nil)
    }

    @Test func sslmodeAsLibpqMeansIt() throws {
        #expect(try ClusterLocation(url: "postgresql://u@h/db", environment: [:]).tlsMode == .prefer, "libpq's default")
        #expect(try ClusterLocation(url: "postgresql://u@h/db?sslmode=require", environment: [:]).tlsMode == .require)
        #expect(try ClusterLocation(url: "postgresql://u@h/db", environment: ["PGSSLMODE": "disable"]).tlsMode == .disable)
        // require with a root certificate verifies the chain, as libpq does.
        let ca = try ClusterLocation(url: "postgresql://u@h/db?sslmode=require&sslrootcert=system", environment: [:])
        #expect(ca.tlsMode == .verifyCA && ca.tlsRootCertificate == "system")
        // A socket never uses TLS: no certificate is needed for verify-full there.
        #expect(try ClusterLocation(url: "postgresql://u@/db?host=/tmp&sslmode=verify-full", environment: ["HOME": "/nonexistent"]).host == nil)
    }

    @Test func whatIsRefused() {
        #expect(throws: ClusterError.self) { try ClusterLocation(url: "mysql://u@h/db", environment: [:]) }
        #expect(throws: ClusterError.self) { try ClusterLocation(url: "postgresql://u@h:99999/db", environment: [:]) }
        #expect(throws: ClusterError.self) { try ClusterLocation(url: "postgresql://u@h/db?sslmode=required", environment: [:]) }
        // verify-* needs a root certificate: the URL's, or ~/.postgresql/root.crt.
        #expect(throws: ClusterError.self) { try ClusterLocation(url: "postgresql://u@h/db?sslmode=verify-ca", environment: ["HOME": "/nonexistent"]) }
    }
}
