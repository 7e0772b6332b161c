import DirectorTable
import Foundation
import Testing

@Suite struct LMDBTableTests {
    @Test func createsDirectoryAndFilesWithPrivateModes() throws {
        let dir = try TempDirectory()
        defer { dir.remove() }
        let table = try LMDBTable(stateDirectory: dir.path + "/state")
        try table.upsert(Fixture.child("a/b/0"))
        func mode(_ path: String) throws -> Int {
            (try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as! NSNumber).intValue
        }
        #expect(try mode(dir.path + "/state/table") == 0o700)
        #expect(try mode(dir.path + "/state/table/data.mdb") == 0o600)
        #expect(try mode(dir.path + "/state/table/lock.mdb") == 0o600)
    }

    @Test func eventSeqContinuesAcrossReopen() throws {
        let dir = try TempDirectory()
        defer { dir.remove() }
        var options = LMDBTable.Options()
        options.eventCapacity = 3
        do {
            let table = try LMDBTable(path: dir.path, options: options)
            #expect(try table.apply((0..<5).map { _ in .appendEvent(Fixture.event("a/b/0")) }) == [1, 2, 3, 4, 5])
        }
        let reopened = try LMDBTable(path: dir.path, options: options)
        #expect(try reopened.lastEventSeq() == 5)
        #expect(try reopened.append(Fixture.event("a/b/0")) == 6)
        #expect(try reopened.events(since: 0).map(\.seq) == [4, 5, 6])
    }

    @Test func pidIndexIsRebuiltOnOpen() throws {
        let dir = try TempDirectory()
        defer { dir.remove() }
        do {
            let table = try LMDBTable(path: dir.path)
            try table.upsert(Fixture.child("a/b/0", pid: 777))
        }
        let reopened = try LMDBTable(path: dir.path)
        #expect(try reopened.child(pid: 777)?.id == "a/b/0")
    }

    @Test func mapGrowsWhenFull() throws {
        let dir = try TempDirectory()
        defer { dir.remove() }
        var options = LMDBTable.Options()
        options.initialMapSize = 64 << 10
        let table = try LMDBTable(path: dir.path, options: options)
        let reader = try TableReader(path: dir.path)  // sees the growth through MDB_MAP_RESIZED
        let startSize = table.mapSize
        let padding = JSONValue.string(String(repeating: "x", count: 2000))
        var written = 0
        while table.mapGrowthCount < 3 && written < 20_000 {
            try table.apply((0..<100).map { i in
                .putSpec(jobKey: "g/job\(written + i)", spec: .object([("pad", padding)]))
            })
            written += 100
        }
        #expect(table.mapGrowthCount >= 3)
        #expect(table.mapSize >= startSize * 8)
        #expect(try table.specKeys().count == written)
        #expect(try reader.count().specs == written)
        #expect(try reader.spec(jobKey: "g/job0") == .object([("pad", padding)]))
    }

    @Test func batchLargerThanTheMaximumMapFailsWhole() throws {
        let dir = try TempDirectory()
        defer { dir.remove() }
        var options = LMDBTable.Options()
        options.initialMapSize = 64 << 10
        options.maxMapSize = 256 << 10
        let table = try LMDBTable(path: dir.path, options: options)
        try table.upsert(Fixture.child("keep/x/0"))
        let padding = JSONValue.string(String(repeating: "y", count: 4000))
        let huge: [TableChange] = [.deleteChild(id: "keep/x/0")]
            + (0..<200).map { .putSpec(jobKey: "big/\($0)", spec: .object([("pad", padding)])) }
        #expect {
            try table.apply(huge)
        } throws: { ($0 as? TableError)?.code == .mapFull }
        #expect(try table.specKeys().isEmpty)
        #expect(try table.child(id: "keep/x/0") != nil)
        try table.upsert(Fixture.child("after/x/0"))  // the table still works
        #expect(try table.childCount() == 2)
    }

    @Test func refusesAnotherFormat() throws {
        let dir = try TempDirectory()
        defer { dir.remove() }
        do {
            let table = try LMDBTable(path: dir.path)
            try table.setMeta(.format, .string("2"))
        }
        #expect {
            _ = try LMDBTable(path: dir.path)
        } throws: { ($0 as? TableError)?.message.contains("format") == true }
    }

    @Test func longReadTransactionDoesNotBlockTheWriter() throws {
        let dir = try TempDirectory()
        defer { dir.remove() }
        let table = try LMDBTable(path: dir.path)
        try table.upsert(Fixture.child("a/b/0"))
        let reader = try TableReader(path: dir.path)
        let (before, after) = try reader.snapshot { snap in
            let before = try snap.childCount()
            // The writer commits 200 transactions while this read transaction stays open.
            for i in 1...200 { try table.upsert(Fixture.child("a/b/\(i)")) }
            return (before, try snap.childCount())
        }
        #expect(before == 1)
        #expect(after == 1, "a snapshot keeps seeing the state it started with")
        #expect(try reader.children().count == 201)
        #expect(try table.childCount() == 201)
    }
}
