#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Synchronization
import Testing
@testable import DirectorTable

/// The header check a reader makes before mapping `data.mdb`, beside a writer that keeps
/// growing the file: a sound table is never called damaged. The check read the file's size
/// before the meta pages, so a commit in between (pages written, then the meta naming them)
/// made a meta reach past the size it had read (`director events` beside a busy daemon, CI).
@Suite struct TableFileCheckRaceTests {
    @Test func aGrowingTableIsNeverCalledDamaged() throws {
        let dir = try TempDirectory("check-race")
        defer { dir.remove() }
        let table = try LMDBTable(path: dir.path)
        let stop = Atomic<Bool>(false)
        let finished = DispatchSemaphore(value: 0)
        let writer = Thread {
            defer { finished.signal() }
            var n = 0
            // Bounded: 200 000 commits at most, or until the checks are done.
            while !stop.load(ordering: .relaxed) && n < 200_000 {
                var r = Fixture.child("g/big/\(n)")
                r.status = String(repeating: "x", count: 2000)
                _ = try? table.apply([.upsertChild(r)])
                n += 1
            }
        }
        writer.start()
        defer {
            stop.store(true, ordering: .relaxed)
            finished.wait()
        }
        var failures: [String] = []
        for _ in 0..<30_000 {
            let fd = open(dir.path + "/data.mdb", O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { continue }
            do { try LMDBFileCheck.checkDataFile(fd: fd, path: "data.mdb") } catch { failures.append(error.message) }
            close(fd)
        }
        #expect(failures.isEmpty, "\(failures.count) of 30 000 checks failed, first: \(failures.first ?? "")")
    }
}
