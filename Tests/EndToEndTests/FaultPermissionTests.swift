import Foundation
import Testing

/// The state directory is private whatever the umask, and a reader without write access gets
/// the listing or one clear line, never a crash.
@Suite(.serialized) struct FaultPermissionTests {
    static let manifest = """
        group: perm
        jobs:
          - name: sleeper
            command: ["sleep", "3600"]
        """

    static func mode(_ path: String) -> mode_t? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        return st.st_mode & 0o777
    }

    @Test func socketAndTableArePrivateUnderUmaskZero() throws {
        let d = try DaemonHarness(files: ["perm.yaml": Self.manifest])
        let command = "umask 000; exec " + WrappedDaemon.runArguments(d).map { "'\($0)'" }.joined(separator: " ")
        let daemon = try WrappedDaemon(d, argv: ["/bin/sh", "-c", command])
        defer { daemon.stop(); d.stop() }
        try d.waitRunning(1)
        try d.eventually("the control socket") { FileManager.default.fileExists(atPath: d.state + "/control.sock") }
        #expect(Self.mode(d.state) == 0o700)
        #expect(Self.mode(d.state + "/control.sock") == 0o600)
        #expect(Self.mode(d.state + "/table") == 0o700)
        #expect(Self.mode(d.state + "/table/data.mdb") == 0o600)
        #expect(Self.mode(d.state + "/table/lock.mdb") == 0o600)
        let lock = try #require(Self.mode(d.state + "/director.lock"))
        #expect(lock & 0o022 == 0, "the lock file is writable only by its owner: \(String(lock, radix: 8))")
        // The private socket still serves its owner.
        #expect(try d.cli("restart", ["perm/nope"]).stderr.contains("perm/nope"))
    }

    /// `director ps` as user nobody (uid 65534).
    static func psAsNobody(_ d: DaemonHarness) throws -> CommandResult {
        try CommandResult.run([
            "/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
            DirectorBinary.path, "ps", "--state", d.state,
        ])
    }

    @Test(.enabled(if: getuid() == 0, "needs root to switch to user nobody"))
    func readerWithoutWriteAccessGetsTheListingOrOneClearLine() throws {
        let d = try DaemonHarness(files: ["perm.yaml": Self.manifest])
        defer { d.stop() }
        try d.start()
        let rows = try d.waitRunning(1)

        // Private state directory (the default): a one-line permission message, status 1.
        chmod(d.dir.path, 0o755)
        let denied = try Self.psAsNobody(d)
        #expect(denied.status == 1, "status \(denied.status): \(denied.stderr)")
        #expect(denied.stderr.split(separator: "\n").count == 1, "one line: \(denied.stderr)")
        #expect(denied.stderr.lowercased().contains("permission denied"), "\(denied.stderr)")

        // Readable but not writable: the listing, read without the lock file.
        for dir in [d.state, d.state + "/table"] { chmod(dir, 0o755) }
        for file in ["data.mdb", "lock.mdb"] { chmod(d.state + "/table/" + file, 0o644) }
        let listed = try Self.psAsNobody(d)
        #expect(listed.status == 0, "status \(listed.status): \(listed.stderr)")
        #expect(listed.stdout.contains("perm/sleeper/0"))
        #expect(listed.stdout.contains(String(try #require(rows.first?.pid))))
    }
}
