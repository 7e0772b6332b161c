import DirectorTable
import Foundation
import Testing

/// Other programs read what LMDBTable writes, and LMDBTable survives a writer killed mid-write.
@Suite struct InteropTests {
    static let python = ProgramRun.which("python3")
    static var pythonHasLMDB: Bool {
        guard let python else { return false }
        return (try? ProgramRun.run(python, ["-c", "import lmdb, jsonschema"]))?.status == 0
    }

    @Test(.enabled(if: ProgramRun.which("mdb_dump") != nil && ProgramRun.which("mdb_stat") != nil))
    func mdbToolsReadATableOpenForWriting() throws {
        let dir = try TempDirectory()
        defer { dir.remove() }
        let table = try LMDBTable(path: dir.path)
        try Fixture.populate(table)
        let dump = try ProgramRun.run(ProgramRun.which("mdb_dump")!, ["-p", "-s", "children", dir.path])
        #expect(dump.status == 0, "\(dump.stderr)")
        #expect(dump.stdout.contains(" web/api/1"))
        #expect(dump.stdout.contains(#""id":"web/db/1""#))
        #expect(dump.stdout.contains(#""last_exit":{"code":3,"at":"2026-11-24T19:59:48.000Z","cause":"unhealthy"}"#))
        let stat = try ProgramRun.run(ProgramRun.which("mdb_stat")!, ["-s", "children", dir.path])
        #expect(stat.status == 0, "\(stat.stderr)")
        #expect(stat.stdout.contains("Entries: 5"))
        try table.upsert(Fixture.child("web/api/9"))  // still writable after the tools ran
        #expect(try table.childCount() == 6)
    }

    @Test(.enabled(if: InteropTests.pythonHasLMDB, "needs python3 with lmdb and jsonschema (scripts/test-deps.sh)"))
    func pythonReadsAndValidatesEveryRecord() throws {
        let dir = try TempDirectory()
        defer { dir.remove() }
        let table = try LMDBTable(path: dir.path)
        try Fixture.populate(table)
        let run = try ProgramRun.run(Self.python!, [scriptsDirectory + "/validate_table.py", dir.path, schemasDirectory])
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        #expect(run.stdout.contains(#""children": 5"#))
        #expect(run.stdout.contains(#""events": 3"#))
        #expect(run.stdout.contains(#""meta": 3"#))
    }

    @Test(.enabled(if: InteropTests.pythonHasLMDB, "needs python3 with lmdb (scripts/test-deps.sh)"))
    func validatorRejectsABadRecord() throws {
        let dir = try TempDirectory()
        defer { dir.remove() }
        let table = try LMDBTable(path: dir.path)
        try table.setMeta(.daemon, .object([("pid", .string("not a number"))]))
        let run = try ProgramRun.run(Self.python!, [scriptsDirectory + "/validate_table.py", dir.path, schemasDirectory])
        #expect(run.status == 1)
        #expect(run.stdout.contains("meta"))
    }

    @Test(.enabled(if: InteropTests.pythonHasLMDB, "needs python3 with lmdb (scripts/test-deps.sh)"))
    func survivesAWriterKilledMidWrite() throws {
        let dir = try TempDirectory()
        defer { dir.remove() }
        let writer = Process()
        writer.executableURL = URL(fileURLWithPath: Self.python!)
        writer.arguments = [scriptsDirectory + "/kill_writer.py", dir.path]
        let out = Pipe()
        writer.standardOutput = out
        try writer.run()
        defer {
            if writer.isRunning { kill(writer.processIdentifier, SIGKILL) }
            writer.waitUntilExit()
        }
        // Wait for the first commit ("ready"), then let it write a little longer and kill it.
        let ready = out.fileHandleForReading.availableDataOrEOF()
        #expect(String(decoding: ready, as: UTF8.self).hasPrefix("ready"))
        usleep(150_000)
        #expect(kill(writer.processIdentifier, SIGKILL) == 0)
        writer.waitUntilExit()
        #expect(writer.terminationReason == .uncaughtSignal)

        let reader = try TableReader(path: dir.path)
        let children = try reader.children()
        #expect(children.count == 50)
        let lastSeq = try reader.snapshot { s in try s.lastEventSeq() }
        #expect(lastSeq >= 50)
        let table = try LMDBTable(path: dir.path)
        #expect(try table.child(pid: 1000)?.id == "kill/w/0")
        #expect(try table.append(Fixture.event("kill/w/0")) == lastSeq + 1)
        #expect(try table.events(since: 0).count <= table.eventCapacity)
    }
}

extension FileHandle {
    /// The first chunk of data (blocking), or empty at end of file.
    func availableDataOrEOF() -> Data { availableData }
}
