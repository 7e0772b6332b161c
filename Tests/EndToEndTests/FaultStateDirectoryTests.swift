import Foundation
import Testing

/// The state directory under attack or removed (issue 12, item 10; DESIGN §4): a directory
/// another user owns, or that group or others may write, is refused; no symlink planted in it
/// is followed, by the daemon or by a reader; a directory removed while the daemon runs is
/// noticed and re-created (lock, socket, table) so that a second daemon is still refused.
@Suite(.serialized) struct FaultStateDirectoryTests {
    static func manifest(_ marker: String) -> String {
        """
        group: sd
        jobs:
          - name: s
            command: ["sleep", "3600"]
            instances: 2
            env: {FAULT_RUN: "\(marker)"}
        """
    }

    static let isRoot = getuid() == 0

    /// A root-only file with known content, the target of planted links.
    static func victim(_ d: DaemonHarness, _ name: String = "victim") throws -> (path: String, content: String) {
        let path = d.dir.path + "/" + name
        let content = "root-only secret \(name)\n"
        try content.write(toFile: path, atomically: false, encoding: .utf8)
        chmod(path, 0o600)
        return (path, content)
    }

    static func runDaemon(_ d: DaemonHarness) throws -> Outcome {
        try Outcome.run([DirectorBinary.path, "run", "--jobs", d.jobs, "--state", d.state], timeout: 20)
    }

    static func isEmptyDirectory(_ path: String) -> Bool {
        ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? ["?"]).isEmpty
    }

    @Test(.enabled(if: isRoot, "needs root to act as another user"))
    func stateDirectoryCreatedByAnotherUserIsRefusedAndItsLinksNotFollowed() throws {
        let d = try DaemonHarness(files: [:])
        try d.write("sd.yaml", Self.manifest(d.dir.path))
        defer { d.stop(); ProcScan.killAll(marker: d.marker) }
        // A shared, sticky directory like /tmp.
        chmod(d.dir.path, 0o1777)
        let victim = try Self.victim(d)
        let elsewhere = d.dir.path + "/elsewhere"
        mkdir(elsewhere, 0o777)
        chown(elsewhere, 65534, 65534)
        // User nobody got there first, as in a shared /tmp.
        let plant = try CommandResult.run([
            "/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "/bin/sh", "-c",
            "mkdir -m 0755 '\(d.state)' && ln -s '\(victim.path)' '\(d.state)/director.lock' && ln -s '\(elsewhere)' '\(d.state)/table'",
        ])
        #expect(plant.status == 0, "\(plant.stderr)")
        let r = try Self.runDaemon(d)
        #expect(r.exitStatus == 1, "\(r)")
        #expect(r.stderr.contains(d.state) && r.stderr.contains("owned by uid 65534"), "\(r.stderr)")
        #expect(r.stderr.split(separator: "\n").count == 1, "one line: \(r.stderr)")
        #expect((try? String(contentsOfFile: victim.path, encoding: .utf8)) == victim.content, "the victim file is untouched")
        #expect(Self.isEmptyDirectory(elsewhere), "nothing written where the attacker pointed")
        #expect(ProcScan.liveByID(marker: d.marker).isEmpty, "nothing started")
    }

    @Test func stateDirectoryWritableByGroupOrOthersIsRefused() throws {
        let d = try DaemonHarness(files: [:])
        try d.write("sd.yaml", Self.manifest(d.dir.path))
        defer { d.stop(); ProcScan.killAll(marker: d.marker) }
        mkdir(d.state, 0o700)
        for mode: mode_t in [0o777, 0o770, 0o702] {
            chmod(d.state, mode)
            let r = try Self.runDaemon(d)
            #expect(r.exitStatus == 1, "mode \(String(mode, radix: 8)): \(r)")
            #expect(r.stderr.contains(d.state) && r.stderr.contains("writable by"), "\(r.stderr)")
            #expect(Self.isEmptyDirectory(d.state), "nothing created in it")
        }
        #expect(ProcScan.liveByID(marker: d.marker).isEmpty, "nothing started")
    }

    @Test func linksPlantedInTheDaemonsOwnStateDirectoryAreNotFollowed() throws {
        let d = try DaemonHarness(files: [:])
        try d.write("sd.yaml", Self.manifest(d.dir.path))
        defer { d.stop(); ProcScan.killAll(marker: d.marker) }
        let victim = try Self.victim(d)
        let elsewhere = d.dir.path + "/elsewhere"
        mkdir(elsewhere, 0o700)
        mkdir(d.state, 0o700)
        // Each planted link in turn: the lock file, the table directory, the table's files,
        // the control socket; the state directory itself as a link.
        let cases: [(String, () -> Void)] = [
            ("director.lock", { symlink(victim.path, d.state + "/director.lock") }),
            ("table", { symlink(elsewhere, d.state + "/table") }),
            ("data.mdb", { mkdir(d.state + "/table", 0o700); symlink(victim.path, d.state + "/table/data.mdb") }),
            ("lock.mdb", { mkdir(d.state + "/table", 0o700); symlink(victim.path, d.state + "/table/lock.mdb") }),
            ("control.sock", { symlink(victim.path, d.state + "/control.sock") }),
        ]
        for (name, plant) in cases {
            _ = try CommandResult.run(["/bin/rm", "-rf", d.state])
            mkdir(d.state, 0o700)
            plant()
            let r = try Self.runDaemon(d)
            #expect(r.exitStatus == 1, "\(name): \(r)")
            #expect(r.stderr.contains(name) && r.stderr.contains("symbolic link"), "\(name): \(r.stderr)")
            #expect((try? String(contentsOfFile: victim.path, encoding: .utf8)) == victim.content, "\(name): the victim is untouched")
            #expect(Self.isEmptyDirectory(elsewhere), "\(name): nothing written elsewhere")
            #expect(ProcScan.liveByID(marker: d.marker).isEmpty, "\(name): nothing started")
        }
        _ = try CommandResult.run(["/bin/rm", "-rf", d.state])
        symlink(elsewhere, d.state)
        let r = try Self.runDaemon(d)
        #expect(r.exitStatus == 1 && r.stderr.contains("symbolic link"), "state directory as a link: \(r)")
        #expect(Self.isEmptyDirectory(elsewhere))
    }

    @Test func readersFollowNoPlantedLinkAndCreateNothing() throws {
        let d = try DaemonHarness(files: [:])
        try d.write("sd.yaml", Self.manifest(d.dir.path))
        defer { d.stop(); ProcScan.killAll(marker: d.marker) }
        try d.makeStoppedTable(children: 2)
        let victim = try Self.victim(d)
        let lock = d.state + "/table/lock.mdb"
        unlink(lock)
        // No lock file: the readers read without one and create none.
        for args in [["ps"], ["count"], ["events"]] {
            let r = try Outcome.run([DirectorBinary.path] + args + ["--state", d.state])
            #expect(r.exitStatus == 0, "\(args): \(r)")
        }
        #expect(!FileManager.default.fileExists(atPath: lock), "a reader created no lock file")
        // A lock file that is a link to a root-only file: not followed (never truncated).
        unlink(lock)
        #expect(symlink(victim.path, lock) == 0)
        for args in [["ps"], ["count"], ["events"], ["spec", "sd/s/0"]] {
            let r = try Outcome.run([DirectorBinary.path] + args + ["--state", d.state])
            #expect(!r.diedBySignal && (r.exitStatus == 0 || r.exitStatus == 1), "\(args): \(r)")
        }
        #expect((try? String(contentsOfFile: victim.path, encoding: .utf8)) == victim.content, "the victim is untouched")
    }

    /// Polls `condition` every 20 ms for at most `timeout`; returns the seconds it took, or nil.
    static func within(_ timeout: Double, _ condition: () -> Bool) -> Double? {
        let start = Date()
        while Date().timeIntervalSince(start) < timeout {
            if condition() { return Date().timeIntervalSince(start) }
            usleep(20_000)
        }
        return nil
    }

    static func lockHolderPID(_ state: String) -> Int32? {
        (try? String(contentsOfFile: state + "/director.lock", encoding: .utf8)).flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }

    @Test func removedStateDirectoryIsRecreatedAndASecondDaemonIsStillRefused() throws {
        let d = try DaemonHarness(files: [:])
        try d.write("sd.yaml", Self.manifest(d.dir.path))
        defer { d.stop(); ProcScan.killAll(marker: d.marker) }
        try d.start()
        let before = try d.waitRunning(2, timeout: 30)
        let daemonPID = try #require(d.runningDaemonPID)
        try d.eventually("the control socket") { FileManager.default.fileExists(atPath: d.state + "/control.sock") }

        // A tmp cleaner removes the whole directory.
        #expect(try CommandResult.run(["/bin/rm", "-rf", d.state]).status == 0)
        let took = Self.within(5) {
            Self.lockHolderPID(d.state) == daemonPID && FileManager.default.fileExists(atPath: d.state + "/control.sock")
                && FileManager.default.fileExists(atPath: d.state + "/table/data.mdb")
        }
        print("fault: state directory removed: re-created after \(took.map { String(format: "%.3f", $0) } ?? "never") s")
        #expect(took != nil && took! < 1.5, "re-created within a second (took \(String(describing: took)))")
        #expect(d.daemonStderr.contains("state directory \(d.state) was removed"), "logged: \(d.daemonStderr.suffix(600))")
        #expect(FaultPermissionTests.mode(d.state) == 0o700)
        #expect(FaultPermissionTests.mode(d.state + "/table/data.mdb") == 0o600)
        // The full table is back: the same children, same pids, and the events continue.
        let after = try d.waitRunning(2, timeout: 10)
        #expect(after.map(\.pid) == before.map(\.pid), "same children: \(after) vs \(before)")
        #expect(try d.eventRows().contains { $0.kind == "start" }, "the event history was carried over")
        #expect(try d.cli("restart", ["sd/s/0"]).status == 0, "the new control socket answers")
        try d.waitFor("restarted", timeout: 10) { rows in rows.count == 2 && rows[0].pid != before[0].pid && rows[0].state == "running" }

        // A second daemon on the same state directory is still refused.
        let second = try Self.runDaemon(d)
        #expect(second.exitStatus == 1 && second.stderr.contains("another director daemon"), "\(second)")
        #expect(ProcScan.liveByID(marker: d.marker).values.allSatisfy { $0.count == 1 }, "each job once")

        // Only the lock file removed (a cleaner of old files): re-created and held again.
        unlink(d.state + "/director.lock")
        #expect(Self.within(2) { Self.lockHolderPID(d.state) == daemonPID } != nil, "lock re-created")
        let third = try Self.runDaemon(d)
        #expect(third.exitStatus == 1 && third.stderr.contains("another director daemon"), "\(third)")
        #expect(d.runningDaemonPID == daemonPID)
    }
}
