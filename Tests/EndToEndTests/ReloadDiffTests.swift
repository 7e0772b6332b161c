import Foundation
import Testing

extension ReloadTests {
    /// A reload applies only the difference: fifty real children, one manifest edit at a time,
    /// and every pid that should not change is checked.
    @Suite struct Diff {
        @Test func editingOneCommandRestartsOnlyThatJobsInstances() throws {
            let d = try DaemonHarness(files: ReloadTree.files)
            defer { d.stop() }
            let before = try d.startTree(["--no-watch"])

            try d.write("web.yaml", ReloadTree.web(apiCommand: #"["sleep", "3700"]"#))
            let r = try d.cli("reload")
            #expect(r.status == 0, "\(r.stderr)")
            #expect(r.stdout.contains("generation 1,") && r.stdout.contains("restarted 4,"), "\(r.stdout)")

            let rows = try d.waitFor("web/api restarted", timeout: 20) { rows in
                rows.count == ReloadTree.size && rows.allSatisfy { $0.state == "running" && $0.pid != nil }
                    && rows.filter { $0.id.hasPrefix("web/api/") }.allSatisfy { before[$0.id] != $0.pid }
            }
            let after = d.pids(rows)
            #expect(changedPids(before, after) == ["web/api/0", "web/api/1", "web/api/2", "web/api/3"])
            for i in 0..<4 { #expect(commandLine(of: after["web/api/\(i)"]!) == ["sleep", "3700"]) }
            for i in 0..<4 { #expect(isGone(before["web/api/\(i)"]!), "the old web/api/\(i) must be gone") }

            let events = try d.reloadEvents()
            #expect(events.count == 1)
            #expect(events.first?.counts == ["started": 0, "stopped": 0, "restarted": 4, "scaled": 0, "updated_in_place": 0])
            let meta = try #require(try d.reloadMeta())
            #expect(meta["generation"] as? Int == 1)
            #expect(meta["ok"] as? Bool == true)
        }

        @Test func scalingUpAndDownTouchesOnlyTheChangedInstances() throws {
            let d = try DaemonHarness(files: ReloadTree.files)
            defer { d.stop() }
            let before = try d.startTree()

            // 4 → 8: four new instances, nothing else moves (through the watcher).
            try d.write("web.yaml", ReloadTree.web(apiInstances: 8))
            try d.waitReloads(1)
            let up = d.pids(try d.waitRunning(ReloadTree.size + 4, timeout: 20))
            #expect(changedPids(before, up) == [])
            #expect(Set(up.keys).subtracting(before.keys) == Set((4..<8).map { "web/api/\($0)" }))

            // 8 → 2: the highest instance numbers stop first and leave the table.
            try d.write("web.yaml", ReloadTree.web(apiInstances: 2))
            let events = try d.waitReloads(2)
            let rows = try d.waitFor("web/api shrunk to 2", timeout: 20) { rows in
                rows.count == ReloadTree.size - 2 && rows.allSatisfy { $0.state == "running" }
            }
            let down = d.pids(rows)
            #expect(rows.filter { $0.id.hasPrefix("web/api/") }.map(\.id) == ["web/api/0", "web/api/1"])
            #expect(changedPids(before.filter { !["web/api/2", "web/api/3"].contains($0.key) }, down) == [])
            for i in 2..<8 { #expect(isGone(up["web/api/\(i)"]!), "web/api/\(i) must be stopped") }
            let stops = d.daemonStderr.split(separator: "\n").filter { $0.contains(" stopping pid=") }
                .map { String($0.split(separator: " ")[2]) }
            #expect(stops == (2..<8).reversed().map { "web/api/\($0)" })

            #expect(events.map { $0.count("scaled") } == [1, 1])
            #expect(events.map { $0.count("restarted") } == [0, 0])
            #expect(try d.reloadMeta()?["generation"] as? Int == 2)
        }

        @Test func addingAFileStartsItsGroupAndRemovingOneStopsItsChildren() throws {
            let d = try DaemonHarness(files: ReloadTree.files)
            defer { d.stop() }
            let before = try d.startTree()

            try d.write("extra.yaml", "group: extra\njobs:\n  - name: a\n    command: [\"sleep\", \"3607\"]\n    instances: 3\n")
            try d.waitReloads(1)
            let added = d.pids(try d.waitRunning(ReloadTree.size + 3, timeout: 20))
            #expect(changedPids(before, added) == [])
            #expect(Set(added.keys).subtracting(before.keys) == ["extra/a/0", "extra/a/1", "extra/a/2"])

            d.remove("cache.yaml")
            let events = try d.waitReloads(2)
            let rows = try d.waitFor("cache gone", timeout: 20) { rows in
                rows.count == ReloadTree.size + 3 - 20 && !rows.contains { $0.id.hasPrefix("cache/") }
            }
            let cache = before.filter { $0.key.hasPrefix("cache/") }
            #expect(cache.count == 20)
            for (id, pid) in cache { #expect(isGone(pid), "\(id) must be stopped") }
            #expect(changedPids(added.filter { !$0.key.hasPrefix("cache/") }, d.pids(rows)) == [])
            #expect(events[0].count("started") == 3)
            #expect(events[1].count("stopped") == 20)
            let specs = try d.cli("spec", ["cache/redis"])
            #expect(specs.status == 1, "the removed job's spec must leave the table too")
        }

        @Test func policyOnlyChangesApplyInPlaceWithoutTouchingAnyProcess() throws {
            let d = try DaemonHarness(files: ReloadTree.files)
            defer { d.stop() }
            let before = try d.startTree(["--no-watch"])

            let web = ReloadTree.web.replacingOccurrences(of: "group: web\n", with: "group: web\nintensity: 9\nperiod: 10s\n")
                .replacingOccurrences(
                    of: "    instances: 10\n",
                    with: "    instances: 10\n    log:\n      stdout: {exclude: [\"^DEBUG\"]}\n    backoff: {initial: 1s, max: 1m}\n")
                .replacingOccurrences(
                    of: "    command: \"exec sleep 3602\"",
                    with: "    command: \"exec sleep 3602\"\n    restart: temporary\n    on_exit:\n      - when: {code: [7]}\n        do: wait")
            try d.write("web.yaml", web)
            try d.write("cache.yaml", ReloadTree.cache.replacingOccurrences(of: "one_for_all", with: "rest_for_one"))
            let r = try d.cli("reload")
            #expect(r.status == 0, "\(r.stderr)")

            let event = try #require(try d.reloadEvents().last)
            #expect(event.counts == ["started": 0, "stopped": 0, "restarted": 0, "scaled": 0, "updated_in_place": 4])
            d.settle(seconds: 1)
            #expect(changedPids(before, d.pids(try d.children())) == [])
            let spec = try d.cli("spec", ["web/cron/0", "--json"])
            #expect(spec.stdout.contains("\"restart\":\"temporary\""), "\(spec.stdout)")

            // The new policy is live: a killed temporary child is deleted, not restarted.
            kill(before["web/cron/0"]!, SIGKILL)
            let rows = try d.waitFor("web/cron/0 deleted") { rows in !rows.contains { $0.id == "web/cron/0" } }
            #expect(changedPids(before.filter { $0.key != "web/cron/0" }, d.pids(rows)) == [])
        }

        @Test func aRenamedFileWithTheSameGroupIsNotAChange() throws {
            let d = try DaemonHarness(files: ReloadTree.files)
            defer { d.stop() }
            let before = try d.startTree()

            #expect(rename(d.jobs + "/web.yaml", d.jobs + "/00-web.yml") == 0)
            let events = try d.waitReloads(1)
            #expect(events[0].counts == ["started": 0, "stopped": 0, "restarted": 0, "scaled": 0, "updated_in_place": 0])
            d.settle(seconds: 1)
            #expect(try d.reloadEvents().count == 1)
            #expect(changedPids(before, d.pids(try d.children())) == [])
        }
    }
}
