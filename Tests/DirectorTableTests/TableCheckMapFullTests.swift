import DirectorTable
import Testing

/// `LMDBTable.verify` (the daemon's start-up check) on a table whose map is full.
@Suite struct TableCheckMapFullTests {
    /// Found with three daemons starting at once on a 64 KiB map: the check's trial rewrite
    /// filled the map, LMDB failed the transaction, and the next database's cursor
    /// (MDB_BAD_TXN) was taken for damage. A full map says nothing about damage.
    @Test func aTableWhoseMapIsFullIsNotDamaged() throws {
        let dir = try TempDirectory()
        defer { dir.remove() }
        var options = LMDBTable.Options()
        options.initialMapSize = 65536
        options.maxMapSize = 65536
        do {
            let table = try LMDBTable(path: dir.path, options: options)
            try table.apply([.appendEvent(Fixture.event("a/x/0"))])
            var i = 0
            while (try? table.upsert(Fixture.child("a/x/\(i)"))) != nil { i += 1 }
            #expect(i > 10)
        }
        #expect(try LMDBTable.verify(path: dir.path) > 10)
    }
}
