import DirectorTable
import Testing

/// The columns of `director ps` and `ps --wide`, filled from a record and a reader's facts.
@Suite struct ChildColumnsTests {
    static let rows: [ChildRecord] = {
        var api = Fixture.child("web/api/0", pid: 4242, restarts: 2)
        api.lastExit = .init(.code(1), at: Fixture.now - 12_000)
        let db = Fixture.child("web/db/10", state: .backoff, pid: nil, restarts: 1)
        let gone = Fixture.child("x/y/0", pid: 77)
        return [api, db, gone]
    }()

    static func facts(_ c: ChildRecord) -> ChildRowFacts {
        switch c.id {
        case "web/api/0": ChildRowFacts(cpuPercent: 12.345, residentBytes: 13 * 1024 * 1024 + 300 * 1024)
        case "x/y/0": ChildRowFacts(gone: true, cpuPercent: 50, residentBytes: 4096)
        default: ChildRowFacts()
        }
    }

    @Test func standardColumnsShowCPUAndMemoryOfLiveProcessesOnly() {
        let text = ChildListing.render(children: Self.rows, columns: ChildListing.standardColumns, now: Fixture.now, facts: Self.facts)
        #expect(text == """
            ID         STATE    READY  PID        UPTIME  CPU    MEM    RESTARTS  LAST EXIT
            web/api/0  running  -      4242       1m      12.3%  13.3M  2         code=1 12s ago
            web/db/10  backoff  -      -          -       -      -      1         signal=KILL 1m1s ago
            x/y/0      running  -      77 (gone)  1m      -      -      0         -

            """)
    }

    /// LAST EXIT names the cause when it says more than the code or signal, in ps and ps
    /// --wide alike; the column grows to the longest cell.
    @Test func lastExitShowsACauseThatIsNotPlain() {
        func row(_ id: String, _ exit: ChildRecord.LastExit) -> ChildRecord {
            var c = Fixture.child(id, state: .waiting, pid: nil)
            c.lastExit = exit
            return c
        }
        let rows = [
            row("a/watchdog/0", .init(.signal("ABRT"), at: Fixture.now - 3_000, cause: .watchdog)),
            row("a/unhealthy/0", .init(.code(1), at: Fixture.now - 3_000, cause: .unhealthy)),
            row("a/missing/0", .init(.code(127), at: Fixture.now - 3_000, cause: .spawnFailed)),
            row("a/slow/0", .init(.signal("TERM"), at: Fixture.now - 3_000, cause: .readyTimeout)),
            row("a/crash/0", .init(.code(3), at: Fixture.now - 3_000, cause: .exit)),
            row("a/killed/0", .init(.signal("KILL"), at: Fixture.now - 3_000, cause: .signal)),
            row("a/old/0", .init(.code(3), at: Fixture.now - 3_000)),
        ]
        for columns in [ChildListing.standardColumns, ChildListing.wideColumns] {
            let cells = rows.map { ChildListing.cell(.lastExit, of: $0, facts: ChildRowFacts(), now: Fixture.now) }
            #expect(cells == [
                "signal=ABRT (watchdog) 3s ago", "code=1 (unhealthy) 3s ago", "code=127 (spawn_failed) 3s ago",
                "signal=TERM (ready_timeout) 3s ago", "code=3 3s ago", "signal=KILL 3s ago", "code=3 3s ago",
            ])
            let text = ChildListing.render(children: rows, columns: columns, now: Fixture.now)
            let lines = text.split(separator: "\n").map(String.init)
            let column = lines[0].distance(from: lines[0].startIndex, to: lines[0].range(of: "LAST EXIT")!.lowerBound)
            #expect(lines[4].dropFirst(column).hasPrefix("signal=TERM (ready_timeout) 3s ago"), "aligned: \(text)")
        }
        // The other listing (ps of a table, ps --cluster) shows the same cell.
        #expect(ChildListing.render(children: rows, now: Fixture.now).contains("signal=ABRT (watchdog) 3s ago\n"))
    }

    @Test func wideAddsProcessGroupNextRestartAndStatus() {
        let text = ChildListing.render(children: Self.rows, columns: ChildListing.wideColumns, now: Fixture.now) { c in
            var f = Self.facts(c)
            if c.id == "web/api/0" { (f.ready, f.status) = ("yes", "serving 3 clients") }
            return f
        }
        let lines = text.split(separator: "\n").map(String.init)
        #expect(lines[0] == "ID         STATE    READY  PID        PGID  UPTIME  CPU    MEM    RESTARTS  LAST EXIT             NEXT RESTART  STATUS")
        #expect(lines[1].hasPrefix("web/api/0  running  yes    4242       4242  1m"))
        #expect(lines[1].hasSuffix("-             serving 3 clients"))
        #expect(lines[2].hasPrefix("web/db/10  backoff  -      -          -     -"))
        #expect(lines[2].hasSuffix("in 1s         -"), "a backoff row says when it restarts: \(lines[2])")
        // A gone process has no group to speak of either.
        #expect(lines[3].hasPrefix("x/y/0      running  -      77 (gone)  -     1m"))
    }

    @Test func colourWrapsStateCellsAndKeepsTheColumnsAligned() {
        let plain = ChildListing.render(children: Self.rows, columns: ChildListing.standardColumns, now: Fixture.now, facts: Self.facts)
        let coloured = ChildListing.render(
            children: Self.rows, columns: ChildListing.standardColumns, now: Fixture.now, colour: true, facts: Self.facts)
        #expect(coloured.contains("\u{1B}[32mrunning\u{1B}[0m"))
        #expect(coloured.contains("\u{1B}[33mbackoff\u{1B}[0m"))
        #expect(coloured.contains("\u{1B}[31m77 (gone)\u{1B}[0m"))
        // Without the escapes it is the plain table, to the byte: alignment counts visible text.
        #expect(Self.strippingSGR(coloured) == plain)
        #expect(!coloured.split(separator: "\n")[0].contains("\u{1B}"), "the header is plain")
    }

    @Test func byteCountsAndPercents() {
        #expect(ByteCount.short(0) == "0B")
        #expect(ByteCount.short(1023) == "1023B")
        #expect(ByteCount.short(1024) == "1.0K")
        #expect(ByteCount.short(1536) == "1.5K")
        #expect(ByteCount.short(1024 * 1024 - 1) == "1.0M", "rounds up into the next unit, never 1024.0K")
        #expect(ByteCount.short(5 * 1024 * 1024 * 1024) == "5.0G")
        #expect(ChildListing.cell(.cpu, of: Self.rows[0], facts: ChildRowFacts(cpuPercent: 0.04), now: Fixture.now) == "0.0%")
        #expect(ChildListing.cell(.cpu, of: Self.rows[0], facts: ChildRowFacts(cpuPercent: 99.96), now: Fixture.now) == "100%")
        #expect(ChildListing.cell(.cpu, of: Self.rows[0], facts: ChildRowFacts(cpuPercent: 250.2), now: Fixture.now) == "250%")
    }

    static func strippingSGR(_ text: String) -> String {
        var out = ""
        var escape = false
        for ch in text {
            if escape {
                if ch.isLetter { escape = false }
            } else if ch == "\u{1B}" {
                escape = true
            } else {
                out.append(ch)
            }
        }
        return out
    }
}
