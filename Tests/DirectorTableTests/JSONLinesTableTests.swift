import DirectorTable
import Foundation
import Testing

/// What the conformance suite cannot check on a table it only gets fresh: the worked backend
/// keeps everything, sequence numbers included, when it is opened again.
@Suite struct JSONLinesTableTests {
    @Test func reopenedTableHasEverythingAndContinuesTheSequence() throws {
        let dir = try TempDirectory("jsonl")
        defer { dir.remove() }
        let file = dir.path + "/table.jsonl"
        do {
            let table = try JSONLinesTable(path: file, eventCapacity: 2)
            try Fixture.populate(table)
            #expect(try table.lastEventSeq() == 3)
        }
        let again = try JSONLinesTable(path: file, eventCapacity: 2)
        #expect(try again.children().map(\.id) == ["web/api/0", "web/api/1", "web/api/2", "web/db/0", "web/db/1"])
        #expect(try again.events(since: 0).map(\.seq) == [2, 3])
        #expect(try again.daemonInfo()?.pid == 4321)
        #expect(try again.append(Fixture.event("web/api/0")) == 4)
        #expect(try again.events(since: 0).map(\.seq) == [3, 4])
    }

    @Test func aDamagedLineIsReportedWithItsPlace() throws {
        let dir = try TempDirectory("jsonl")
        defer { dir.remove() }
        let file = dir.path + "/table.jsonl"
        let table = try JSONLinesTable(path: file)
        try table.upsert(Fixture.child("web/api/0"))
        let handle = try #require(FileHandle(forWritingAtPath: file))
        handle.seekToEndOfFile()
        handle.write(Data("{\"db\": \n".utf8))
        handle.closeFile()
        // Line 1 is last_seq, 2 the child, 3 meta.format (databases in name order), 4 the torn one.
        let error = try #require(throws: TableError.self) { try table.children() }
        #expect(error.code == .damaged)
        #expect(error.message.hasPrefix(file + ":4: "), "\(error)")
    }
}
