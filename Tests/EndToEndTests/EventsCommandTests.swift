import Foundation
import Testing

/// `director events` as issue 16 asks: ids and prefixes, `--kind`, `-n`, `--since` as a
/// sequence number, a duration or a time, `-f`, and `detail` as an object under `--json`.
@Suite(.serialized) struct EventsCommandTests {
    static func manifest(_ tag: TaggedProcesses) -> String {
        """
        group: ev
        jobs:
          - name: api
            command: ["sleep", "3600"]
            instances: 2
            \(tag.envLine)
          - name: once
            command: "exit 3"
            restart: temporary
            \(tag.envLine)
        """
    }

    /// A daemon whose api/1 was killed once and restarted, and whose once/0 exited 3 and was
    /// deleted; the events are all recorded when it returns.
    static func daemon(_ tag: TaggedProcesses) throws -> DaemonHarness {
        let d = try DaemonHarness(files: ["ev.yaml": manifest(tag)])
        try d.start()
        let rows = try d.waitRunning(2)
        let victim = try #require(rows.first { $0.id == "ev/api/1" }?.pid)
        kill(victim, SIGKILL)
        try d.waitFor("api/1 back") { $0.contains { $0.id == "ev/api/1" && $0.state == "running" && $0.pid != nil && $0.pid != victim } }
        #expect(eventually("once/0 deleted") { (try? d.eventRows())?.contains { $0.id == "ev/once/0" && $0.kind == "delete" } == true })
        return d
    }

    static func rows(_ r: CommandResult) -> [[String: Any]] {
        r.stdout.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }

    @Test func idsPrefixesKindsAndLastN() throws {
        let tag = TaggedProcesses()
        let d = try Self.daemon(tag)
        defer { d.stop(); tag.killAll() }
        let all = try d.eventRows()

        let one = try d.cli("events", ["ev/api/1", "--json"])
        #expect(one.status == 0, "\(one.stderr)")
        #expect(Self.rows(one).map { $0["id"] as? String } == all.filter { $0.id == "ev/api/1" }.map(\.id))
        #expect(Self.rows(one).count >= 3, "start, exit, restart, start")

        let job = Self.rows(try d.cli("events", ["ev/api", "ev/once", "--json"]))
        #expect(job.count == all.filter { $0.id.hasPrefix("ev/api/") || $0.id.hasPrefix("ev/once/") }.count)

        let exits = Self.rows(try d.cli("events", ["ev", "--kind", "exit,delete", "--json"]))
        #expect(Set(exits.compactMap { $0["kind"] as? String }) == ["exit", "delete"], "\(exits)")
        #expect(exits.count == all.filter { $0.kind == "exit" || $0.kind == "delete" }.count)
        let repeated = Self.rows(try d.cli("events", ["--kind", "exit", "--kind", "delete", "--json"]))
        #expect(repeated.count == exits.count, "--kind repeated is the same as a list")

        let lastTwo = try d.cli("events", ["-n", "2"])
        let seqs = lastTwo.stdout.split(separator: "\n").map { Int($0.split(separator: " ")[0]) }
        #expect(seqs == all.suffix(2).map(\.seq), "\(lastTwo.stdout)")
        let lastExit = Self.rows(try d.cli("events", ["ev/api/1", "--kind", "exit", "-n", "1", "--json"]))
        #expect(lastExit.count == 1 && lastExit.first?["kind"] as? String == "exit")

        // `all` is every event; an id nothing has is an error, like ps and stop.
        #expect(Self.rows(try d.cli("events", ["all", "--json"])).count == all.count)
        let nope = try d.cli("events", ["ev/nope"])
        #expect(nope.status == 1 && nope.stderr == "director: no child matches ev/nope\n", "\(nope.stderr)")
        let kind = try d.cli("events", ["--kind", "exitt"])
        #expect(kind.status == 2 && kind.stderr.contains("did you mean `exit`?"), "\(kind.stderr)")
    }

    @Test func sinceTakesASequenceNumberADurationOrATime() throws {
        let tag = TaggedProcesses()
        let d = try Self.daemon(tag)
        defer { d.stop(); tag.killAll() }
        let all = try d.eventRows()
        let middle = all[all.count / 2]

        let bySeq = Self.rows(try d.cli("events", ["--since", String(middle.seq), "--json"]))
        #expect(bySeq.compactMap { ($0["seq"] as? NSNumber)?.intValue } == all.filter { $0.seq > middle.seq }.map(\.seq))

        // A time: every event at or after it (RFC 3339, as the lines print it).
        let byTime = Self.rows(try d.cli("events", ["--since", middle.at, "--json"]))
        #expect(byTime.compactMap { ($0["seq"] as? NSNumber)?.intValue } == all.filter { $0.at >= middle.at }.map(\.seq))

        // A duration: everything is recent, then nothing is.
        #expect(Self.rows(try d.cli("events", ["--since", "1h", "--json"])).count == all.count)
        Thread.sleep(forTimeInterval: 1.2)
        let none = try d.cli("events", ["--since", "1s"])
        #expect(none.status == 0 && none.stdout.isEmpty, "\(none.stdout)")

        let bad = try d.cli("events", ["--since", "yesterday"])
        #expect(bad.status == 2 && bad.stderr.contains("--since needs a sequence number"), "\(bad.stderr)")
    }

    @Test func jsonDetailIsAnObjectAndTheTextIsKept() throws {
        let tag = TaggedProcesses()
        let d = try Self.daemon(tag)
        defer { d.stop(); tag.killAll() }
        let events = Self.rows(try d.cli("events", ["ev/api/1", "--kind", "exit", "--json"]))
        let exit = try #require(events.first)
        let detail = try #require(exit["detail"] as? [String: Any], "\(exit)")
        #expect((detail["pid"] as? NSNumber)?.intValue != nil, "pid as a number: \(detail)")
        #expect(detail["signal"] as? String == "KILL", "\(detail)")
        let text = try #require(exit["detail_text"] as? String)
        #expect(text.hasPrefix("pid=") && text.contains("signal=KILL"), "\(text)")
        // Keys in the stored order, as a reader of the text would meet them.
        let line = try d.cli("events", ["ev/api/1", "--kind", "exit", "--json"]).stdout
        #expect(line.contains(#""detail":{"pid":"#), "\(line)")
    }

    @Test func followShortFlagWithLastNPrintsTheTailThenNewEvents() throws {
        let tag = TaggedProcesses()
        let d = try Self.daemon(tag)
        defer { d.stop(); tag.killAll() }
        let all = try d.eventRows()
        let out = d.dir.path + "/f.out"
        _ = FileManager.default.createFile(atPath: out, contents: nil)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: DirectorBinary.path)
        p.arguments = ["events", "-f", "-n", "1", "ev/api/0", "--json", "--state", d.state]
        p.standardOutput = FileHandle(forWritingAtPath: out)
        p.standardError = FileHandle.nullDevice
        p.standardInput = FileHandle.nullDevice
        try p.run()
        defer { if p.isRunning { kill(p.processIdentifier, SIGKILL); p.waitUntilExit() } }
        let printed = { ((try? String(contentsOfFile: out, encoding: .utf8)) ?? "").split(separator: "\n").compactMap { EventRow(line: $0) } }
        #expect(eventually("the last event of api/0") { printed().count == 1 })
        #expect(printed().first?.seq == all.last { $0.id == "ev/api/0" }?.seq)

        let victim = try #require(try d.children(prefix: "ev/api/0").first?.pid)
        kill(victim, SIGKILL)
        #expect(eventually("the new exit of api/0") { printed().contains { $0.kind == "exit" && $0.seq > all.last!.seq } })
        #expect(printed().allSatisfy { $0.id == "ev/api/0" }, "only the selected id: \(printed())")
        kill(p.processIdentifier, SIGINT)
        #expect(eventually("-f ends on SIGINT") { !p.isRunning })
    }
}
