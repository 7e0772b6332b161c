#if canImport(Glibc)
import Glibc
#endif
import DirectorCore
import Testing
@testable import DirectorRuntime

@Suite struct DirectoryWatcherTests {
    @Test(arguments: [
        ("web.yaml", true), ("db.yml", true), (".web.yaml", false), ("web.yaml~", false),
        ("web.yaml.swp", false), ("notes.txt", false), ("yaml", false),
    ])
    func manifestNames(name: String, counts: Bool) {
        #expect(DirectoryWatcher.isManifestName(name[...]) == counts)
    }

    @Test func aBurstOfWritesGivesOneCallbackAndRenamesCount() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let loop = try EventLoop()
        var callbacks = 0
        let watcher = try DirectoryWatcher(directory: dir.path, loop: loop, debounce: .milliseconds(100)) { callbacks += 1 }
        defer { watcher.stop() }

        // 20 writes, 10 ms apart: each restarts the quiet period.
        for i in 0..<20 {
            dir.write("web.yaml", "group: web # \(i)\n")
            try loop.run(until: loop.now + .milliseconds(10))
        }
        #expect(callbacks == 0)
        try loop.run(until: loop.now + .milliseconds(400))
        #expect(callbacks == 1)

        // Ignored names do not trigger.
        dir.write("notes.txt", "x")
        dir.write(".hidden.yaml", "x")
        dir.write("web.yaml~", "x")
        try loop.run(until: loop.now + .milliseconds(300))
        #expect(callbacks == 1)

        // An editor's save by rename: temp file → db.yaml.
        dir.write(".db.yaml.tmp", "group: db\n")
        #expect(rename(dir.path + "/.db.yaml.tmp", dir.path + "/db.yaml") == 0)
        try loop.run(until: loop.now + .milliseconds(400))
        #expect(callbacks == 2)

        // Deletion counts too.
        #expect(unlink(dir.path + "/web.yaml") == 0)
        try loop.run(until: loop.now + .milliseconds(400))
        #expect(callbacks == 3)
    }

    @Test func aMissingDirectoryIsAnError() throws {
        let loop = try EventLoop()
        #expect(throws: RuntimeError.self) {
            _ = try DirectoryWatcher(directory: "/nonexistent/jobs", loop: loop) {}
        }
    }
}
