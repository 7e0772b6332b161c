import Foundation
import Testing

/// A damaged state table is an error, never a crash (issue 12, item 7): the readers print one
/// line naming the file and exit 1; the daemon moves the damaged environment aside and starts
/// fresh; no file content and no full file system kills a process with a signal.
@Suite(.serialized) struct FaultTableDamageTests {
    static func manifest(_ marker: String) -> String {
        """
        group: dmg
        jobs:
          - name: s
            command: ["sleep", "3600"]
            instances: 3
            env: {FAULT_RUN: "\(marker)"}
        """
    }

    /// The reading commands, each as `director ARGS --state STATE`.
    static let readers: [[String]] = [["ps"], ["ps", "--json"], ["events"], ["events", "--json"], ["count"], ["spec", "dmg/s/0"]]

    static func runReader(_ args: [String], state: String) throws -> Outcome {
        try Outcome.run([DirectorBinary.path] + args + ["--state", state], timeout: 20)
    }

    /// Starts `director run` on the harness, waits until it is up (its start line) or has
    /// exited, stops it with SIGTERM and returns how it ended.
    static func runDaemonBriefly(_ d: DaemonHarness, extraEnvironment: [String: String] = [:]) throws -> Outcome {
        let daemon = try WrappedDaemon(d, argv: WrappedDaemon.runArguments(d), environment: extraEnvironment)
        defer { daemon.stop(); ProcScan.killAll(marker: d.marker) }
        let deadline = Date().addingTimeInterval(30)
        while daemon.process.isRunning && !d.daemonStderr.contains(" pid=") && Date() < deadline { usleep(10_000) }
        if daemon.process.isRunning {
            // Up: its signal handlers are installed before the start line is written.
            kill(daemon.pid, SIGTERM)
            let stopBy = Date().addingTimeInterval(20)
            while daemon.process.isRunning && Date() < stopBy { usleep(10_000) }
            if daemon.process.isRunning { kill(daemon.pid, SIGKILL) }
        }
        daemon.process.waitUntilExit()
        let signaled = daemon.process.terminationReason == .uncaughtSignal
        return Outcome(
            exitStatus: signaled ? nil : daemon.process.terminationStatus,
            signal: signaled ? daemon.process.terminationStatus : nil, stdout: d.daemonStdout, stderr: d.daemonStderr)
    }

    @Test func truncatedTableIsOneLineNamingTheFileForEveryReader() throws {
        let d = try DaemonHarness(files: [:])
        try d.write("dmg.yaml", Self.manifest(d.dir.path))
        defer { d.stop(); ProcScan.killAll(marker: d.marker) }
        try d.makeStoppedTable(children: 3)
        let data = d.state + "/table/data.mdb"
        TableFiles.truncate(data, to: 8192)
        for args in Self.readers {
            let r = try Self.runReader(args, state: d.state)
            #expect(!r.diedBySignal && r.exitStatus == 1, "director \(args.joined(separator: " ")): \(r)")
            #expect(r.stderr.split(separator: "\n").count == 1, "one line: \(r.stderr)")
            #expect(r.stderr.contains(data), "names \(data): \(r.stderr)")
        }
        // The documented Python readers check the file before they map it (when python3
        // with lmdb and jsonschema is there: scripts/test-deps.sh).
        let hasModules = try Outcome.run(["/usr/bin/env", "python3", "-c", "import lmdb, jsonschema"]).exitStatus == 0
        for script in ["DirectorTableTests/Scripts/validate_table.py", "EndToEndTests/Scripts/validate_live_table.py"] where hasModules {
            let py = try Outcome.run(["/usr/bin/env", "python3", RepoPaths.root + "/Tests/" + script, d.state + "/table", RepoPaths.root + "/schemas"])
            #expect(!py.diedBySignal && py.exitStatus == 1, "\(script): \(py)")
            #expect(py.stderr.contains(data) && py.stderr.split(separator: "\n").count == 1, "\(script): \(py.stderr)")
        }
    }

    @Test func daemonMovesADamagedTableAsideAndStartsFresh() throws {
        let d = try DaemonHarness(files: [:])
        try d.write("dmg.yaml", Self.manifest(d.dir.path))
        defer { d.stop(); ProcScan.killAll(marker: d.marker) }
        try d.makeStoppedTable(children: 3)
        let damaged = TableFiles.read(d.state + "/table/data.mdb")
        TableFiles.truncate(d.state + "/table/data.mdb", to: 8192)
        try d.start()
        try d.waitRunning(3, timeout: 30)
        let moved = try FileManager.default.contentsOfDirectory(atPath: d.state).filter { $0.hasPrefix("table.damaged-") }
        #expect(moved.count == 1, "one damaged environment kept aside: \(moved)")
        if let name = moved.first {
            #expect(TableFiles.size(d.state + "/" + name + "/data.mdb") == 8192)
            #expect(d.daemonStderr.contains(name), "the log says where it went: \(d.daemonStderr.suffix(800))")
        }
        #expect(damaged != nil)
        #expect(try d.cli("count").status == 0)
    }

    /// Truncations and corruptions at seeded offsets of `data.mdb` (and `lock.mdb`): every
    /// reader and the daemon end with an exit status, never a signal. `DIRECTOR_FUZZ_SEED`
    /// replays a run; `DIRECTOR_SOAK=1` runs 200 cases instead of 12.
    @Test func seededDamageOfTheOpenPathNeverKillsAProcessBySignal() throws {
        let seed = ProcessInfo.processInfo.environment["DIRECTOR_FUZZ_SEED"].flatMap { UInt64($0) } ?? UInt64(Date().timeIntervalSince1970)
        let cases = soakEnabled ? 200 : 12
        print("fault: table damage fuzz seed=\(seed) cases=\(cases) (DIRECTOR_FUZZ_SEED=\(seed) replays)")
        let good = try DaemonHarness(files: [:])
        try good.write("dmg.yaml", Self.manifest(good.dir.path))
        defer { good.stop(); ProcScan.killAll(marker: good.marker) }
        try good.makeStoppedTable(children: 3)
        let goodData = try #require(TableFiles.read(good.state + "/table/data.mdb"))
        // A sound table is kept as it is (regression: the check once took one for damaged).
        let kept = try Self.runDaemonBriefly(good)
        #expect(kept.exitStatus == 0, "\(kept)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: good.state).allSatisfy { !$0.hasPrefix("table.damaged") })
        #expect(!kept.stderr.contains("damaged"), "\(kept.stderr)")
        let pageSize = 4096
        var rng = SeededGenerator(seed: seed)
        var failures: [String] = []
        var outcomes: [String: Int] = [:]
        for n in 0..<cases {
            let d = try DaemonHarness(files: [:])
            try d.write("dmg.yaml", Self.manifest(d.dir.path))
            try TableFiles.copyTree(good.state, d.state)
            let data = d.state + "/table/data.mdb"
            let what = Self.damage(data: data, lock: d.state + "/table/lock.mdb", size: goodData.count, pageSize: pageSize, rng: &rng)
            for args in Self.readers {
                let r = try Self.runReader(args, state: d.state)
                outcomes["\(args[0]) exit \(r.exitStatus.map(String.init) ?? "signal")", default: 0] += 1
                if r.diedBySignal || (r.exitStatus != 0 && r.exitStatus != 1) {
                    failures.append("case \(n) (\(what)): director \(args.joined(separator: " ")): \(r)")
                } else if r.exitStatus == 1 && r.stderr.split(separator: "\n").count != 1 {
                    failures.append("case \(n) (\(what)): director \(args.joined(separator: " ")): not one line: \(r.stderr)")
                }
            }
            try TableFiles.copyTree(d.state, d.dir.path + "/damaged")
            let run = try Self.runDaemonBriefly(d)
            outcomes["run exit \(run.exitStatus.map(String.init) ?? "signal")", default: 0] += 1
            if run.diedBySignal || (run.exitStatus != 0 && run.exitStatus != 1) {
                // Kept for a post-mortem: the state directory as damaged, before the run.
                let kept = "/tmp/director-fuzz-failure-\(seed)-\(n)"
                _ = try? CommandResult.run(["/bin/rm", "-rf", kept])
                try TableFiles.copyTree(d.dir.path + "/damaged", kept)
                failures.append("case \(n) (\(what)): director run (state kept in \(kept)): \(run)")
            }
            d.stop()
            ProcScan.killAll(marker: d.marker)
        }
        print("fault: table damage fuzz outcomes \(outcomes.sorted { $0.key < $1.key })")
        #expect(failures.isEmpty, "seed \(seed): \(failures.count) failures:\n\(failures.prefix(10).joined(separator: "\n"))")
    }

    /// One seeded damage; returns what it did, for the failure message.
    static func damage(data: String, lock: String, size: Int, pageSize: Int, rng: inout SeededGenerator) -> String {
        switch rng.next() % 10 {
        case 0, 1, 2:
            let choices = [0, 1, 100, pageSize - 1, pageSize, 2 * pageSize - 1, 2 * pageSize, 3 * pageSize, size - pageSize, size - 1]
            let to = rng.next() % 2 == 0 ? choices[Int(rng.next() % UInt64(choices.count))] : Int(rng.next() % UInt64(size))
            TableFiles.truncate(data, to: to)
            return "truncate data.mdb to \(to)"
        case 3:
            let to = Int(rng.next() % 8192)
            TableFiles.truncate(lock, to: to)
            TableFiles.overwrite(lock, at: 0, with: (0..<min(to, 64)).map { _ in UInt8(truncatingIfNeeded: rng.next()) })
            return "truncate lock.mdb to \(to) with garbage"
        default:
            // Page corruption: random bytes at seeded spots, biased to page headers and the
            // two meta pages, where a wrong number sends LMDB furthest.
            var spots: [String] = []
            for _ in 0..<(1 + Int(rng.next() % 6)) {
                let page = rng.next() % 3 == 0 ? Int(rng.next() % 2) : Int(rng.next() % UInt64(size / pageSize))
                let within = rng.next() % 2 == 0 ? Int(rng.next() % 160) : Int(rng.next() % UInt64(pageSize))
                let bytes = (0..<(1 + Int(rng.next() % 8))).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
                let offset = min(page * pageSize + within, size - bytes.count)
                TableFiles.overwrite(data, at: offset, with: bytes)
                spots.append("\(offset):" + bytes.map { String($0, radix: 16) }.joined(separator: "."))
            }
            return "corrupt data.mdb at \(spots.joined(separator: ","))"
        }
    }

    static let canMount = FaultResourceTests.canMount

    @Test(.enabled(if: canMount, "needs root and tmpfs mounts"))
    func startingOnAFullFileSystemFailsWithAMessageNotASignal() throws {
        let d = try DaemonHarness(files: [:])
        try d.write("dmg.yaml", Self.manifest(d.dir.path))
        let mountPoint = d.dir.path + "/fs"
        mkdir(mountPoint, 0o700)
        #expect(try CommandResult.run(["/bin/mount", "-t", "tmpfs", "-o", "size=64k,mode=0700", "tmpfs", mountPoint]).status == 0)
        defer {
            d.stop()
            ProcScan.killAll(marker: d.marker)
            _ = try? CommandResult.run(["/bin/umount", "-l", mountPoint])
        }
        _ = try CommandResult.run(["/bin/sh", "-c", "cat /dev/zero > \(mountPoint)/filler"])
        let state = mountPoint + "/state"
        let r = try Outcome.run([DirectorBinary.path, "run", "--jobs", d.jobs, "--state", state], timeout: 30, environment: [:])
        #expect(!r.diedBySignal && r.exitStatus == 1, "\(r)")
        #expect(r.stderr.contains("No space left on device"), "\(r.stderr)")
        #expect(ProcScan.liveByID(marker: d.marker).isEmpty, "nothing started")
        // A reader on the full file system: one line, no signal.
        let ps = try Self.runReader(["ps"], state: state)
        #expect(!ps.diedBySignal && ps.exitStatus == 1, "\(ps)")
    }
}

/// SplitMix64, for seeded test inputs.
struct SeededGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
