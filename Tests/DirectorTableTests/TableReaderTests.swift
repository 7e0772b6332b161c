import DirectorTable
import Foundation
import Testing

@Suite struct TableReaderTests {
    @Test func missingTableSaysWhatToDo() throws {
        let dir = try TempDirectory()
        defer { dir.remove() }
        #expect {
            _ = try TableReader(stateDirectory: dir.path + "/nowhere")
        } throws: { error in
            guard let e = error as? TableError else { return false }
            return e.code == .notFound
                && e.message == "no state table at \(dir.path)/nowhere/table: is the daemon running with --state \(dir.path)/nowhere?"
        }
    }

    @Test func readsEverythingTheWriterCommitted() throws {
        let dir = try TempDirectory()
        defer { dir.remove() }
        let table = try LMDBTable(stateDirectory: dir.path)
        try Fixture.populate(table)
        let reader = try TableReader(stateDirectory: dir.path)
        #expect(reader.isLockless == false)
        #expect(try reader.children().map(\.id) == ["web/api/0", "web/api/1", "web/api/2", "web/db/0", "web/db/1"])
        #expect(try reader.children(prefix: "web/db").count == 2)
        #expect(try reader.child(id: "web/api/1") == table.child(id: "web/api/1"))
        #expect(try reader.count() == ChildCount(specs: 1, active: 3, supervisors: 2, workers: 5))
        #expect(try reader.groups().map(\.path) == ["", "web"])
        #expect(try reader.spec(jobKey: "web/api")?["instances"]?.intValue == 3)
        #expect(try reader.events(since: 1).map(\.seq) == [2, 3])
        #expect(try reader.snapshot { s in try s.daemonInfo()?.pid } == 4321)
        #expect(try reader.meta(.format) == .string("1"))
    }

    @Test func readsAfterTheWriterIsGone() throws {
        let dir = try TempDirectory()
        defer { dir.remove() }
        do { try Fixture.populate(try LMDBTable(path: dir.path)) }
        let reader = try TableReader(path: dir.path)
        #expect(try reader.children().count == 5)
    }

    @Test func readsWithoutTheLockFile() throws {
        let dir = try TempDirectory()
        defer { dir.remove() }
        let table = try LMDBTable(path: dir.path)
        try Fixture.populate(table)
        let reader = try TableReader(path: dir.path, lockMode: .withoutLock)
        #expect(reader.isLockless)
        #expect(try reader.children().count == 5)
        try table.upsert(Fixture.child("web/api/3"))
        #expect(try reader.children(prefix: "web/api").count == 4)
    }

    @Test(.enabled(if: getuid() != 0, "root may write any lock file"))
    func fallsBackToNoLockWhenTheDirectoryIsReadOnly() throws {
        let dir = try TempDirectory()
        defer { dir.remove() }
        do { try Fixture.populate(try LMDBTable(path: dir.path + "/table")) }
        chmod(dir.path + "/table/lock.mdb", 0o400)
        chmod(dir.path + "/table", 0o500)
        let reader = try TableReader(path: dir.path + "/table")
        #expect(reader.isLockless)
        #expect(try reader.children().count == 5)
    }

    @Test func followDeliversNewEventsInOrderAndStops() throws {
        let dir = try TempDirectory()
        defer { dir.remove() }
        let table = try LMDBTable(path: dir.path)
        try table.append(Fixture.event("a/b/0"))
        let reader = try TableReader(path: dir.path)
        var seen: [UInt64] = []
        var polls = 0
        let last = try reader.followEvents(since: 0, pollInterval: .milliseconds(5), until: {
            polls += 1
            // Another commit arrives while following; stop once it was seen (or after 200 polls).
            if polls == 3 { _ = try? table.apply([.appendEvent(Fixture.event("a/b/1")), .appendEvent(Fixture.event("a/b/2"))]) }
            return seen.count >= 3 || polls > 200
        }) { e in seen.append(e.seq) }
        #expect(seen == [1, 2, 3])
        #expect(last == 3)
    }
}

@Suite struct ReaderEaseOfUseTests {
    @Test func snapshotClosuresNeedNoAnnotations() throws {
        let dir = try TempDirectory()
        defer { dir.remove() }
        let table = try LMDBTable(stateDirectory: dir.path)
        try Fixture.populate(table)
        let reader = try TableReader(stateDirectory: dir.path)
        let (kids, count) = try reader.snapshot { s in (try s.children(), try s.count()) }
        #expect(kids.count == count.workers)
        let fromWriter = try table.snapshot { s in try s.children(prefix: "web/api").count }
        #expect(fromWriter == 3)
    }
}
