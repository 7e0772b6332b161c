import Foundation
import Testing

/// `director ps`, `count`, `spec` and `events` read the table directly: the same answers
/// while the daemon runs, after it stopped on SIGTERM, and after it was killed with SIGKILL.
@Suite(.serialized) struct TableCommandsTests {
    /// How the daemon is left before the commands run.
    enum Ending: String, CaseIterable, CustomTestStringConvertible {
        case running, sigterm, sigkill
        var testDescription: String { rawValue }
    }

    static func manifest(_ tag: TaggedProcesses) -> String {
        """
        group: web
        jobs:
          - name: api
            command: ["sleep", "3600"]
            instances: 3
            \(tag.envLine)
          - name: apix
            command: ["sleep", "3600"]
            \(tag.envLine)
        """
    }

    /// A daemon whose web/api/1 was killed once and replaced, then left as `ending` says.
    /// Returns the daemon and the pids the children had before the ending.
    static func daemon(_ ending: Ending, _ tag: TaggedProcesses) throws -> (DaemonHarness, [ChildRow]) {
        let d = try DaemonHarness(files: ["web.yaml": manifest(tag)])
        try d.start()
        let rows = try d.waitRunning(4)
        let victim = try #require(rows.first { $0.id == "web/api/1" }?.pid)
        kill(victim, SIGKILL)
        let settled = try d.waitFor("web/api/1 replaced") { rows in
            rows.count == 4 && rows.allSatisfy { $0.state == "running" && $0.pid != nil }
                && rows.first { $0.id == "web/api/1" }?.restarts == 1
        }
        switch ending {
        case .running: break
        case .sigterm:
            d.signal(SIGTERM)
            #expect(d.waitExit() == 0)
        case .sigkill:
            d.killHard()
        }
        return (d, settled)
    }

    @Test(arguments: Ending.allCases)
    func psTextAndJSONWithAPrefix(_ ending: Ending) throws {
        let tag = TaggedProcesses()
        let (d, before) = try Self.daemon(ending, tag)
        defer { d.stop(); tag.killAll() }

        let json = try d.children(prefix: "web/api")
        // A prefix matches whole path segments: web/apix is not under web/api.
        #expect(json.map(\.id) == ["web/api/0", "web/api/1", "web/api/2"])
        #expect(try d.children(prefix: "web/apix").map(\.id) == ["web/apix/0"])
        #expect(try d.children(prefix: "web").count == 4)
        let restarted = try #require(json.first { $0.id == "web/api/1" })
        #expect(restarted.restarts == 1)
        // The last exit: the kill, or the daemon's own stop signal after a graceful stop.
        let lastSignal = ending == .sigterm ? "TERM" : "KILL"
        for row in json where row.id != "web/api/1" {
            #expect(row.lastExit?["signal"] as? String == (ending == .sigterm ? "TERM" : nil), "\(row.id)")
        }
        #expect(restarted.lastExit?["signal"] as? String == lastSignal)
        switch ending {
        case .running, .sigkill:
            // A killed daemon could not write anything more: the rows are its last view.
            #expect(json.allSatisfy { $0.state == "running" })
            #expect(json.map(\.pid) == before.filter { $0.id.hasPrefix("web/api/") }.map(\.pid))
        case .sigterm:
            #expect(json.allSatisfy { $0.state == "stopped" && $0.pid == nil }, "\(json)")
        }

        let text = try d.cli("ps", ["web/api"])
        #expect(text.status == 0, "\(text.stderr)")
        var lines = text.stdout.split(separator: "\n").map(String.init)
        // Without a daemon the table is history, and the first line says so.
        if ending == .running {
            #expect(!text.stdout.contains("daemon not running"), "\(text.stdout)")
        } else {
            #expect(lines.first?.hasPrefix("daemon not running (pid ") == true, "\(text.stdout)")
            lines.removeFirst()
        }
        #expect(lines.count == 4, "\(text.stdout)")
        let header = try #require(lines.first)
        #expect(header.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
            == "ID STATE READY PID UPTIME CPU MEM RESTARTS LAST EXIT")
        // Aligned: every column starts where its header does.
        let stateColumn = try #require(header.range(of: "STATE")).lowerBound.utf16Offset(in: header)
        for (line, row) in zip(lines.dropFirst(), json) {
            #expect(line.hasPrefix(row.id + " "))
            let cell = line.dropFirst(stateColumn).prefix { $0 != " " }
            #expect(String(cell) == row.state, "column STATE in \(line)")
            if let pid = row.pid { #expect(line.contains(" \(pid) ")) }
        }
        #expect(lines[2].contains("signal=\(lastSignal)"), "web/api/1's last exit: \(lines[2])")
    }

    @Test(arguments: Ending.allCases)
    func countAndSpec(_ ending: Ending) throws {
        let tag = TaggedProcesses()
        let (d, _) = try Self.daemon(ending, tag)
        defer { d.stop(); tag.killAll() }

        let count = try d.cli("count")
        #expect(count.status == 0, "\(count.stderr)")
        let counts = Dictionary(uniqueKeysWithValues: count.stdout.split(separator: "\n").map { line in
            let cells = line.split(separator: " ")
            return (String(cells.first ?? ""), Int(cells.last ?? "") ?? -1)
        })
        #expect(counts["specs"] == 2)
        #expect(counts["workers"] == 4)
        #expect(counts["supervisors"] == 2)  // the root and web
        #expect(counts["active"] == (ending == .sigterm ? 0 : 4))

        let yaml = try d.cli("spec", ["web/api/1"])
        #expect(yaml.status == 0, "\(yaml.stderr)")
        let yamlLines = yaml.stdout.split(separator: "\n").map(String.init)
        #expect(yamlLines.contains("name: api"))
        #expect(yamlLines.contains("instances: 3"))
        #expect(yamlLines.contains("restart: permanent"))
        #expect(yamlLines.contains { $0.hasPrefix("command: [") && $0.contains("sleep") && $0.contains("3600") })

        let json = try d.cli("spec", ["web/api", "--json"])
        #expect(json.status == 0, "\(json.stderr)")
        let spec = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        #expect(spec["name"] as? String == "api")
        #expect(spec["instances"] as? Int == 3)
        #expect(spec["command"] as? [String] == ["sleep", "3600"])
        #expect((spec["env"] as? [String: String])?["DIRECTOR_TEST_TAG"] == tag.tag)

        let missing = try d.cli("spec", ["web/nope/0"])
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("web/nope"), "\(missing.stderr)")
    }

    @Test(arguments: Ending.allCases)
    func eventsSinceAndJSON(_ ending: Ending) throws {
        let tag = TaggedProcesses()
        let (d, _) = try Self.daemon(ending, tag)
        defer { d.stop(); tag.killAll() }

        let all = try d.eventRows()
        #expect(!all.isEmpty)
        #expect(zip(all, all.dropFirst()).allSatisfy { $0.seq < $1.seq }, "seqs strictly increase")
        #expect(all.first?.seq == 1)
        #expect(all.contains { $0.id == "web/api/1" && $0.kind == "exit" && $0.detail.contains("KILL") })
        #expect(all.filter { $0.id == "web/api/1" && $0.kind == "start" }.count == 2)
        if ending == .sigterm {
            #expect(all.contains { $0.kind == "shutdown" })
            #expect(all.filter { $0.kind == "stop" }.count >= 4)
        }

        let middle = all[all.count / 2].seq
        let since = try d.eventRows(since: middle)
        #expect(since.map(\.seq) == all.filter { $0.seq > middle }.map(\.seq))

        let text = try d.cli("events", ["--since", String(middle)])
        #expect(text.status == 0, "\(text.stderr)")
        let lines = text.stdout.split(separator: "\n")
        #expect(lines.count == since.count)
        for (line, event) in zip(lines, since) {
            let cells = line.split(separator: " ", maxSplits: 4).map(String.init)
            #expect(cells.count >= 4)
            #expect(cells[0] == String(event.seq))
            #expect(cells[1].hasSuffix("Z") && cells[1].count == "2026-11-24T21:00:00.123Z".count)
            #expect(cells[2] == (event.id.isEmpty ? "-" : event.id))
            #expect(cells[3] == event.kind)
        }
    }

    @Test(arguments: Ending.allCases)
    func eventsFollowPrintsNewEventsUntilKilled(_ ending: Ending) throws {
        let tag = TaggedProcesses()
        let (d, _) = try Self.daemon(ending, tag)
        defer { d.stop(); tag.killAll() }
        let last = try #require(try d.eventRows().last?.seq)

        let follower = try EventFollower(state: d.state, since: ending == .running ? last : 0, in: d.dir.path)
        defer { follower.kill() }

        if ending == .running {
            let victim = try #require(try d.children(prefix: "web/api/0").first?.pid)
            kill(victim, SIGKILL)
            #expect(eventually("follower prints the exit of web/api/0") {
                follower.tableEvents().contains { $0.id == "web/api/0" && $0.kind == "exit" && $0.seq > last }
            }, "follower printed: \(follower.output)")
            #expect(follower.tableEvents().allSatisfy { $0.seq > last })
        } else {
            // Nothing writes any more: it prints the history and keeps waiting.
            #expect(eventually("follower prints the history") { follower.tableEvents().last?.seq == last },
                "follower printed: \(follower.output)")
            usleep(300_000)
            #expect(follower.tableEvents().count == (try d.eventRows()).count)
        }
        #expect(follower.isRunning, "--follow keeps running until it is killed")
        follower.kill()
        #expect(!follower.isRunning)
    }
}

/// `director events --follow --json` running in the background, its output in a file (the
/// way an operator pipes it into another program: not a terminal).
final class EventFollower {
    let process = Process()
    let outputPath: String

    init(state: String, since: Int, in directory: String) throws {
        outputPath = directory + "/follow-\(UUID().uuidString).out"
        _ = FileManager.default.createFile(atPath: outputPath, contents: nil)
        process.executableURL = URL(fileURLWithPath: DirectorBinary.path)
        process.arguments = ["events", "--follow", "--json", "--since", String(since), "--state", state]
        process.standardOutput = FileHandle(forWritingAtPath: outputPath)
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }

    var output: String { (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "" }
    var isRunning: Bool { process.isRunning }

    /// The complete lines printed so far.
    func tableEvents() -> [EventRow] {
        output.split(separator: "\n").compactMap { EventRow(line: $0) }
    }

    /// SIGKILLs the follower (by its pid) and waits for it.
    func kill() {
        guard process.isRunning else { return }
        Glibc.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}
