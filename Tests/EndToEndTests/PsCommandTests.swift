import Foundation
import Testing

/// `director ps` beyond the table (issue 16): CPU and MEM of each child's processes from
/// /proc, `--wide`, `--sort`, `--only`, and `--watch` without a terminal (the terminal is
/// `TerminalTests`).
@Suite(.serialized) struct PsCommandTests {
    /// `spin`'s leader sleeps while a member of its process group spins; `escape` spins in a
    /// process that left the group (`setsid`), found through the child's cgroup only; `idle`
    /// sleeps; `done` exits 0 and waits.
    static func manifest(_ tag: TaggedProcesses) -> String {
        """
        group: ps
        jobs:
          - name: spin
            command: ["/bin/sh", "-c", "while :; do :; done & exec sleep 3600"]
            \(tag.envLine)
          - name: escape
            command: ["/bin/sh", "-c", "setsid /bin/sh -c 'while :; do :; done' & exec sleep 3600"]
            \(tag.envLine)
          - name: idle
            command: ["sleep", "3600"]
            \(tag.envLine)
          - name: done
            command: "exit 0"
            restart: transient
            \(tag.envLine)
        """
    }

    /// The cells of each row of `ps` text by column title (titles of two words are one).
    static func table(_ text: String) -> [String: [String: String]] {
        let lines = text.split(separator: "\n").map(String.init).filter { !$0.hasPrefix("daemon not running") }
        guard let header = lines.first else { return [:] }
        // Columns start where their titles start.
        var starts: [(String, Int)] = []
        var i = header.startIndex
        while i < header.endIndex {
            guard header[i] != " " else { i = header.index(after: i); continue }
            var j = i
            while j < header.endIndex, !(header[j] == " " && header[header.index(after: j)...].hasPrefix(" ")) {
                j = header.index(after: j)
            }
            starts.append((String(header[i..<j]).trimmingCharacters(in: .whitespaces), header.distance(from: header.startIndex, to: i)))
            i = j
        }
        var rows: [String: [String: String]] = [:]
        for line in lines.dropFirst() where !line.hasPrefix("group ") {
            var cells: [String: String] = [:]
            for (k, (title, start)) in starts.enumerated() {
                let end = k + 1 < starts.count ? starts[k + 1].1 : Int.max
                let chars = Array(line)
                guard start < chars.count else { cells[title] = ""; continue }
                cells[title] = String(chars[start..<min(end, chars.count)]).trimmingCharacters(in: .whitespaces)
            }
            rows[cells["ID"] ?? ""] = cells
        }
        return rows
    }

    /// The ids of `ps` text, in printed order.
    static func ids(_ text: String) -> [String] {
        text.split(separator: "\n").dropFirst().map { String($0.split(separator: " ")[0]) }
    }

    static func percent(_ cell: String?) -> Double? { cell.flatMap { Double($0.dropLast()) } }

    @Test func cpuAndMemoryAreSummedOverEachChildsProcesses() throws {
        let tag = TaggedProcesses()
        let d = try DaemonHarness(files: ["ps.yaml": Self.manifest(tag)])
        defer { d.stop(); tag.killAll() }
        try d.start()
        try d.waitFor("three running, done waiting") { rows in
            rows.filter { $0.state == "running" && $0.pid != nil }.count == 3 && rows.contains { $0.id == "ps/done/0" && $0.state == "waiting" }
        }
        var rows: [String: [String: String]] = [:]
        let busy = eventually("spin shows CPU") {
            rows = Self.table((try? d.cli("ps").stdout) ?? "")
            return (Self.percent(rows["ps/spin/0"]?["CPU"]) ?? 0) > 0
        }
        #expect(busy, "\(rows)")
        #expect(Set(rows.keys) == ["ps/spin/0", "ps/escape/0", "ps/idle/0", "ps/done/0"])
        // A sleeping process uses no CPU worth a tenth of a percent over its life.
        #expect(rows["ps/idle/0"]?["CPU"] == "0.0%", "\(rows)")
        for id in ["ps/spin/0", "ps/idle/0", "ps/escape/0"] {
            let mem = rows[id]?["MEM"] ?? ""
            #expect(mem.hasSuffix("K") || mem.hasSuffix("M"), "\(id) MEM \(mem)")
        }
        // No process, no usage.
        #expect(rows["ps/done/0"]?["CPU"] == "-" && rows["ps/done/0"]?["MEM"] == "-", "\(rows)")
        if CgroupProbe.writable {
            // The spinning process left the process group; the child's cgroup still has it.
            let escaped = eventually("escape shows CPU") {
                (Self.percent(Self.table((try? d.cli("ps").stdout) ?? "")["ps/escape/0"]?["CPU"]) ?? 0) > 0
            }
            #expect(escaped)
        }
    }

    @Test func wideSortAndOnly() throws {
        let tag = TaggedProcesses()
        let d = try DaemonHarness(files: ["ps.yaml": Self.manifest(tag)])
        defer { d.stop(); tag.killAll() }
        try d.start()
        let running = try d.waitFor("three running, done waiting") { rows in
            rows.filter { $0.state == "running" && $0.pid != nil }.count == 3 && rows.contains { $0.id == "ps/done/0" && $0.state == "waiting" }
        }
        let wide = try d.cli("ps", ["--wide"])
        #expect(wide.status == 0, "\(wide.stderr)")
        let header = wide.stdout.split(separator: "\n").first.map { $0.split(separator: " ").joined(separator: " ") }
        #expect(header == "ID STATE READY PID PGID UPTIME CPU MEM RESTARTS LAST EXIT NEXT RESTART STATUS", "\(wide.stdout)")
        let cells = Self.table(wide.stdout)
        for row in running where row.pid != nil { #expect(cells[row.id]?["PGID"] == String(row.pid!), "the child leads its group") }

        // A spinner first once it has used CPU, `done` (no process) last.
        #expect(eventually("a spinner sorted first") {
            let order = Self.ids((try? d.cli("ps", ["--sort", "cpu"]).stdout) ?? "")
            return (order.first == "ps/spin/0" || order.first == "ps/escape/0") && order.last == "ps/done/0" && order.count == 4
        })
        let byState = Self.ids(try d.cli("ps", ["--sort", "state"]).stdout)
        #expect(byState == ["ps/escape/0", "ps/idle/0", "ps/spin/0", "ps/done/0"], "running (in tree order), then waiting")

        let waiting = try d.cli("ps", ["--only", "waiting,backoff"])
        #expect(waiting.status == 0)
        #expect(Array(Self.table(waiting.stdout).keys) == ["ps/done/0"], "\(waiting.stdout)")
        // A filter that keeps nothing is an answer (the header), not an error.
        let none = try d.cli("ps", ["--only", "stopping"])
        #expect(none.status == 0 && none.stdout.split(separator: "\n").count == 1, "\(none.stdout)")
        let json = try d.cli("ps", ["--json", "--only", "waiting"])
        let records = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]]
        #expect(records?.map { $0["id"] as? String } == ["ps/done/0"])

        let typo = try d.cli("ps", ["--only", "runing"])
        #expect(typo.status == 2)
        #expect(typo.stderr.contains("`runing` is not a state") && typo.stderr.contains("did you mean `running`?"), "\(typo.stderr)")
    }

    @Test func watchWithoutATerminalPrintsOneListingAfterAnotherAndEndsWithZeroOnSIGINT() throws {
        let tag = TaggedProcesses()
        let d = try DaemonHarness(files: ["ps.yaml": Self.manifest(tag)])
        defer { d.stop(); tag.killAll() }
        try d.start()
        try d.waitRunning(3)
        let out = d.dir.path + "/watch.out"
        _ = FileManager.default.createFile(atPath: out, contents: nil)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: DirectorBinary.path)
        p.arguments = ["ps", "--watch", "--interval", "200ms", "--state", d.state, "ps/idle"]
        p.standardOutput = FileHandle(forWritingAtPath: out)
        p.standardError = FileHandle.nullDevice
        p.standardInput = FileHandle.nullDevice
        try p.run()
        defer { if p.isRunning { kill(p.processIdentifier, SIGKILL); p.waitUntilExit() } }
        let frames = { ((try? String(contentsOfFile: out, encoding: .utf8)) ?? "").components(separatedBy: "\nevery 200ms: ") }
        #expect(eventually("three frames") { frames().count >= 3 })
        kill(p.processIdentifier, SIGINT)
        #expect(eventually("watch exits") { !p.isRunning })
        #expect(p.terminationReason == .exit && p.terminationStatus == 0, "Ctrl-C is the way out: status 0")
        let text = try String(contentsOfFile: out, encoding: .utf8)
        // No terminal: no escape sequences, each frame whole.
        #expect(!text.contains("\u{1B}"))
        #expect(text.hasPrefix("every 200ms: "))
        for frame in frames().dropLast() {
            let lines = frame.split(separator: "\n")
            #expect(lines.count == 3 && lines[1].hasPrefix("ID ") && lines[2].hasPrefix("ps/idle/0 "), "\(frame)")
        }
        // A prefix that matches nothing fails at once, as without --watch.
        let wrong = try d.cli("ps", ["--watch", "nope"])
        #expect(wrong.status == 1 && wrong.stderr == "director: no child matches nope\n", "\(wrong.stderr)")
    }
}
