import DirectorTable
import Foundation
import Testing

/// Write throughput of the tables. Off by default (no timing assertions in unit tests):
/// `DIRECTOR_BENCH=1 swift test --filter BenchmarkTests`. Results go to stdout; the numbers
/// are recorded in docs/table.md.
@Suite(.enabled(if: ProcessInfo.processInfo.environment["DIRECTOR_BENCH"] == "1"))
struct BenchmarkTests {
    /// Child-state updates per second for a given batch size (changes per commit).
    static func updatesPerSecond(_ table: some ChildTable, batchSize: Int, total: Int) throws -> Double {
        let children = 1000
        var batch: [TableChange] = []
        batch.reserveCapacity(batchSize)
        let clock = ContinuousClock()
        var written = 0
        let elapsed = try clock.measure {
            while written < total {
                batch.removeAll(keepingCapacity: true)
                for i in 0..<batchSize {
                    let n = written + i
                    batch.append(.upsertChild(Fixture.child("bench/w/\(n % children)", pid: Int32(1000 + n % 30_000), restarts: n % 5)))
                }
                try table.apply(batch)
                written += batchSize
            }
        }
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        return Double(written) / seconds
    }

    @Test(arguments: [LMDBTable.Durability.full, .noMetaSync, .noSync])
    func lmdbWriteThroughput(_ durability: LMDBTable.Durability) throws {
        let dir = try TempDirectory("bench")
        defer { dir.remove() }
        var options = LMDBTable.Options()
        options.durability = durability
        let table = try LMDBTable(path: dir.path, options: options)
        let batched = try Self.updatesPerSecond(table, batchSize: 1000, total: 100_000)
        let small = try Self.updatesPerSecond(table, batchSize: 10, total: 2000)
        print("bench lmdb \(durability): batch 1000 → \(Int(batched)) updates/s; batch 10 → \(Int(small)) updates/s (\(Int(small / 10)) commits/s)")
        #expect(batched > 0 && small > 0)
    }

    @Test func inMemoryWriteThroughput() throws {
        let rate = try Self.updatesPerSecond(InMemoryTable(), batchSize: 1000, total: 100_000)
        print("bench memory: batch 1000 → \(Int(rate)) updates/s")
        #expect(rate > 0)
    }
}
