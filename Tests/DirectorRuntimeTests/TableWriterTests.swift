#if canImport(Glibc)
import Glibc
#endif
import DirectorTable
import Testing
@testable import DirectorRuntime
import Logging

/// The writer thread on a real LMDB table: group commit and the flushes that skip it.
@Suite struct TableWriterTests {
    private func event(_ n: Int) -> [TableChange] {
        [.appendEvent(NewEvent(at: 1_700_000_000_000 + Int64(n), id: "g/j/0", kind: "exit", detail: "n=\(n)"))]
    }

    @Test func aBurstOfTurnsSharesCommits() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let table = try LMDBTable(path: dir.path)
        let writer = TableWriter(table: table, log: RuntimeLog(Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }), commitInterval: .milliseconds(200))
        // 20 turns 1 ms apart: without group commit each would be a commit of its own (a
        // commit here takes well under a millisecond).
        for n in 0..<20 {
            writer.submit(event(n))
            usleep(1_000)
        }
        #expect(writer.flush())
        #expect(try table.events(since: 0, limit: 100).count == 20)
        #expect(writer.commits <= 3, "\(writer.commits) commits for one burst")
        writer.close()
    }

    @Test func flushAndCloseDoNotWaitOutTheInterval() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let table = try LMDBTable(path: dir.path)
        let writer = TableWriter(table: table, log: RuntimeLog(Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }), commitInterval: .seconds(60))
        writer.submit(event(0))
        writer.submit(event(1))
        // The second change would wait a minute for its commit; flush asks for it now.
        #expect(writer.flush(timeout: .seconds(5)))
        #expect(try table.events(since: 0, limit: 10).count == 2)
        writer.submit(event(2))
        writer.close(timeout: .seconds(5))
        #expect(try table.events(since: 0, limit: 10).count == 3)
    }
}
