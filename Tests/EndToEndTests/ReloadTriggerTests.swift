import Foundation
import Testing

extension ReloadTests {
    /// What starts a reload (inotify, SIGHUP, `director reload`), how bursts of writes collapse
    /// into one, and how an invalid directory is refused.
    @Suite struct Triggers {
        /// `web.yaml` with an invalid `restart` value on line 11, column 14.
        static let invalidWeb = ReloadTree.web(apiCommand: #"["sleep", "3700"]"#)
            .replacingOccurrences(of: "    command: \"exec sleep 3602\"", with: "    command: \"exec sleep 3602\"\n    restart: sometimes")

        @Test func anInvalidDirectoryChangesNothingAndReportsWhereThenTheFixApplies() throws {
            let d = try DaemonHarness(files: ReloadTree.files)
            defer { d.stop() }
            let before = try d.startTree(["--no-watch"])

            try d.write("web.yaml", Self.invalidWeb)
            let bad = try d.cli("reload")
            #expect(bad.status == 1)
            let location = d.jobs + "/web.yaml:11:14: jobs[2].restart: "
            #expect(bad.stderr.hasPrefix(location), "\(bad.stderr)")
            #expect(bad.stderr.contains("nothing changed"), "\(bad.stderr)")
            #expect(d.daemonStderr.contains(location), "the daemon logs the error too")

            let meta = try #require(try d.reloadMeta())
            #expect(meta["ok"] as? Bool == false)
            #expect(meta["generation"] as? Int == 0)
            let errors = meta["errors"] as? [String] ?? []
            #expect(errors.count == 1 && errors.first?.hasPrefix(location) == true, "\(errors)")
            // The command edit in the same file was not applied either: the tree is untouched.
            d.settle(seconds: 1)
            #expect(changedPids(before, d.pids(try d.children())) == [])
            let refused = try d.reloadEvents()
            #expect(refused.map(\.detail) == ["failed errors=1: nothing changed"])

            try d.write("web.yaml", ReloadTree.web(apiCommand: #"["sleep", "3700"]"#))
            let good = try d.cli("reload")
            #expect(good.status == 0, "\(good.stderr)")
            let rows = try d.waitFor("web/api restarted", timeout: 20) { rows in
                rows.filter { $0.state == "running" }.count == ReloadTree.size
                    && rows.filter { $0.id.hasPrefix("web/api/") }.allSatisfy { before[$0.id] != $0.pid }
            }
            #expect(changedPids(before, d.pids(rows)).count == 4)
            let fixed = try #require(try d.reloadMeta())
            #expect(fixed["ok"] as? Bool == true)
            #expect(fixed["generation"] as? Int == 1)
            #expect((fixed["errors"] as? [String] ?? ["missing"]).isEmpty)
            #expect(try d.reloadEvents().map { $0.count("restarted") } == [nil, 4])
        }

        @Test func anInvalidWriteSeenByTheWatcherIsRecordedInTheTable() throws {
            let d = try DaemonHarness(files: ReloadTree.files)
            defer { d.stop() }
            let before = try d.startTree()

            try d.write("web.yaml", Self.invalidWeb)
            let deadline = Date().addingTimeInterval(15)
            var meta: [String: Any]?
            while Date() < deadline {
                meta = try d.reloadMeta()
                if meta != nil { break }
                usleep(50_000)
            }
            let found = try #require(meta)
            #expect(found["ok"] as? Bool == false)
            #expect((found["errors"] as? [String])?.first?.hasPrefix(d.jobs + "/web.yaml:11:14:") == true)
            #expect(changedPids(before, d.pids(try d.children())) == [])
            #expect(try d.reloadEvents().first?.detail.hasPrefix("failed") == true)
        }

        @Test func savingByRenameReloadsOnce() throws {
            let d = try DaemonHarness(files: ReloadTree.files)
            defer { d.stop() }
            let before = try d.startTree()

            try d.writeByRename("web.yaml", ReloadTree.web(apiCommand: #"["sleep", "3700"]"#))
            let events = try d.waitReloads(1)
            #expect(events[0].count("restarted") == 4)
            try d.waitFor("web/api restarted", timeout: 20) { rows in
                rows.filter { $0.state == "running" }.count == ReloadTree.size
                    && rows.filter { $0.id.hasPrefix("web/api/") }.allSatisfy { before[$0.id] != $0.pid }
            }
            d.settle()
            #expect(try d.reloadEvents().count == 1)
        }

        @Test func twentyRapidWritesCauseOneReload() throws {
            let d = try DaemonHarness(files: ReloadTree.files)
            defer { d.stop() }
            // A generous debounce: the test machine is shared, a writer may stall briefly.
            let before = try d.startTree(["--reload-debounce", "1s"])

            for i in 0..<20 { try d.write("web.yaml", ReloadTree.web(apiInstances: i % 2 == 0 ? 9 : 6)) }
            let events = try d.waitReloads(1)
            let rows = try d.waitRunning(ReloadTree.size + 2, timeout: 20)
            d.settle(seconds: 2.5)
            #expect(try d.reloadEvents().count == 1, "\(d.daemonStderr.suffix(1500))")
            #expect(events[0].count("scaled") == 1)
            #expect(rows.filter { $0.id.hasPrefix("web/api/") }.count == 6)
            #expect(changedPids(before, d.pids(rows)) == [])
            #expect(try d.reloadMeta()?["generation"] as? Int == 1)
        }

        @Test func aBurstOfNewFilesCausesOneReload() throws {
            let d = try DaemonHarness(files: ReloadTree.files)
            defer { d.stop() }
            let before = try d.startTree()

            // What `cp -r` or `git checkout` does: several files appear at once.
            for name in ["e1", "e2", "e3", "e4", "e5"] {
                try d.write(name + ".yaml", "jobs:\n  - name: a\n    command: [\"sleep\", \"3610\"]\n    instances: 2\n")
            }
            let events = try d.waitReloads(1)
            let rows = try d.waitRunning(ReloadTree.size + 10, timeout: 20)
            d.settle()
            #expect(try d.reloadEvents().count == 1)
            #expect(events[0].count("started") == 10)
            #expect(Set(rows.map(\.id)).isSuperset(of: ["e1/a/0", "e1/a/1", "e5/a/0", "e5/a/1"]))
            #expect(changedPids(before, d.pids(rows)) == [])
        }

        @Test func withoutTheWatcherEditsWaitForSighupOrDirectorReload() throws {
            let d = try DaemonHarness(files: ReloadTree.files)
            defer { d.stop() }
            let before = try d.startTree(["--no-watch"])

            try d.write("web.yaml", ReloadTree.web(apiInstances: 5))
            d.settle()
            #expect(try d.reloadEvents().count == 0)
            #expect(try d.children().count == ReloadTree.size)

            d.signal(SIGHUP)
            try d.waitReloads(1)
            let grown = d.pids(try d.waitRunning(ReloadTree.size + 1, timeout: 20))
            #expect(changedPids(before, grown) == [])
            #expect(d.daemonStderr.contains("reload (SIGHUP) generation=1"), "\(d.daemonStderr.suffix(1500))")

            try d.write("web.yaml", ReloadTree.web(apiInstances: 4))
            let r = try d.cli("reload")
            #expect(r.status == 0, "\(r.stderr)")
            #expect(r.stdout.contains("generation 2,"), "\(r.stdout)")
            let rows = try d.waitFor("web/api/4 gone", timeout: 20) { $0.count == ReloadTree.size }
            #expect(changedPids(before, d.pids(rows)) == [])
            #expect(try d.reloadEvents().count == 2)
            #expect(try d.reloadMeta()?["generation"] as? Int == 2)
        }
    }
}
