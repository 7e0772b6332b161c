import Testing
@testable import DirectorManifest

/// Manifests that must load, and what they must load into.
struct ValidManifestTests {
    @Test func examplesDirectoryLoads() throws {
        let manifest = try ManifestLoader.load(directory: Repo.jobs)
        // Byte-wise file-name order: batch, flaky, pipeline, workers.
        #expect(manifest.groups.map(\.name) == ["batch", "flaky", "pipeline", "service", "workers"])
        let summary = ValidationSummary(manifest)
        #expect(summary.description == "ok: 6 groups, 9 jobs, 12 children")
        let workers = try #require(manifest.groups.last)
        guard case .job(let worker) = workers.children.first else {
            Issue.record("workers has no job")
            return
        }
        #expect(worker.instances == 4)
        #expect(worker.cwd == FileSystem.absolute(Repo.jobs))
    }

    @Test(arguments: Repo.entries(Repo.goodCorpus).filter { $0.hasSuffix(".yaml") })
    func goodCorpusLoads(_ name: String) throws {
        let text = try #require(Repo.text(Repo.goodCorpus + "/" + name))
        _ = try ManifestLoader.load(yaml: text, file: Repo.goodCorpus + "/" + name)
    }

    @Test func readmeExampleHasEveryValue() throws {
        let text = try #require(Repo.text(Repo.goodCorpus + "/readme-example.yaml"))
        let group = try ManifestLoader.load(yaml: text, file: "readme-example.yaml", jobsDirectory: "/jobs")
        #expect(group.name == "web")
        #expect(group.intensity == 5)
        #expect(group.period == .seconds(30))
        #expect(group.location == SourceLocation(file: "readme-example.yaml", line: 2, column: 8))
        guard case .job(let api) = group.children[0], case .group(let cache) = group.children[1] else {
            Issue.record("unexpected children \(group.children.map(\.name))")
            return
        }
        #expect(api.command == .argv(["/usr/bin/worker", "--slot", "{{instance}}"]))
        #expect(api.cwd == "/srv/app")
        #expect(api.env == [EnvVar(name: "SLOT", value: "{{instance}}")])
        #expect(api.backoff == Backoff(initial: .milliseconds(100), max: .seconds(30), factor: 2, jitter: 0.1))
        #expect(api.onExit.count == 2)
        #expect(api.onExit[0].when == ExitCondition(codes: [0]))
        #expect(api.onExit[0].action == .delete)
        #expect(api.onExit[1] == ExitRule(when: ExitCondition(minRestarts: 5), action: .restart, after: .seconds(10), log: false, location: api.onExit[1].location))
        #expect(api.onExit[1].location?.line == 18)
        #expect(api.log.stdout.passes("INFO up"))
        #expect(!api.log.stdout.passes("INFO healthz ok"))
        #expect(!api.log.stdout.passes("TRACE x"))
        #expect(!api.log.stderr.passes("debug: x"))
        #expect(api.location == SourceLocation(file: "readme-example.yaml", line: 7, column: 11))
        #expect(cache.strategy == .oneForAll)
        #expect(cache.children.map(\.name) == ["redis"])
        #expect(ValidationSummary(Manifest(groups: [group])).description == "ok: 2 groups, 2 jobs, 5 children")
    }

    @Test func defaultsAreApplied() throws {
        let group = try ManifestLoader.load(yaml: "jobs:\n  - {name: a, command: x}\n", file: "/etc/director/jobs/svc.yaml")
        #expect(group.name == "svc")
        #expect(group.strategy == .oneForOne)
        #expect(group.intensity == Defaults.intensity)
        #expect(group.period == Defaults.period)
        #expect(group.file == "/etc/director/jobs/svc.yaml")
        guard case .job(let job) = group.children.first else {
            Issue.record("no job")
            return
        }
        let expected = JobSpec(
            name: "a", command: .shell("x"), instances: 1, cwd: "/etc/director/jobs", env: [], restart: .permanent,
            delay: .zero, backoff: nil, resetAfter: Defaults.resetAfter, onExit: [],
            shutdown: Shutdown(signal: .term, timeout: .after(Defaults.shutdownTimeout)), log: LogPolicy(),
            location: job.location)
        #expect(job == expected)
        #expect(job.location == SourceLocation(file: "/etc/director/jobs/svc.yaml", line: 2, column: 12))
    }

    @Test func everythingFileReadsEveryForm() throws {
        let text = try #require(Repo.text(Repo.goodCorpus + "/everything.yaml"))
        let group = try ManifestLoader.load(yaml: text, file: "everything.yaml", jobsDirectory: "/base")
        #expect(group.name == "all.the_things-1")
        #expect(group.strategy == .restForOne)
        #expect(group.intensity == 0)
        #expect(group.period == .milliseconds(1500))
        guard case .job(let zero) = group.children[0], case .group(let outer) = group.children[1],
            case .group(let inner) = outer.children.first, case .job(let deep) = inner.children.first
        else {
            Issue.record("unexpected shape")
            return
        }
        #expect(zero.instances == 0)
        #expect(zero.cwd == "/base/data/{{instance}}")
        #expect(zero.env.map(\.value) == ["8080", "true", "{{ id }}"])
        #expect(zero.restart == .temporary)
        #expect(zero.resetAfter == .milliseconds(250))
        #expect(zero.onExit.map(\.action) == [.stop, .wait, .restart])
        #expect(zero.onExit[0].when == ExitCondition(codes: [3], signals: [.kill]))
        #expect(zero.onExit[1].when == ExitCondition(signals: [ProcessSignal(number: 11), ProcessSignal(number: 6)], minRestarts: 0))
        #expect(zero.onExit[2].when == ExitCondition())
        #expect(zero.shutdown == Shutdown(signal: .int, timeout: .infinity))
        #expect(zero.log.events == LogEvents(start: false))
        #expect(inner.period == .seconds(3600))
        #expect(deep.shutdown.timeout == .after(.zero))
        #expect(deep.command == .shell("echo '{{group}}'"))
        let id = ChildID(groupPath: [group.name, outer.name, inner.name], job: deep.name, instance: 0)
        #expect(id.description == "all.the_things-1/outer/inner/deep/0")
        if case .shell(let s) = deep.command {
            #expect(Template.expand(s, for: id) == "echo 'all.the_things-1/outer/inner'")
        }
        #expect(Template.expand(zero.env[2].value, for: id) == id.description)
    }

    @Test(arguments: [
        ("{{id}}", true), ("x {{ instance }} y", true), ("é{{job}}", true), ("{{", true),
        ("", false), ("{", false), ("{x{", false), ("}}{", false), ("plain text", false),
    ])
    func aPlaceholderIsFoundByItsTwoBraces(text: String, expected: Bool) {
        #expect(Template.hasPlaceholder(text) == expected)
        #expect(Template.hasPlaceholder(text) == text.contains("{{"))
    }

    @Test func directoryIgnoresHiddenAndEditorFiles() throws {
        let dir = TempDirectory()
        defer { dir.remove() }
        dir.write("b.yml", "jobs: []\n")
        dir.write("a.yaml", "jobs: []\n")
        dir.write("B.yaml", "jobs: []\n")
        dir.write(".hidden.yaml", "not: [valid\n")
        dir.write(".a.yaml.swp", "garbage")
        dir.write("a.yaml~", "garbage: [")
        dir.write("notes.txt", "garbage: [")
        dir.write("#a.yaml#", "garbage: [")
        dir.write(".#a.yaml", "garbage: [")
        let manifest = try ManifestLoader.load(directory: dir.path)
        // Byte-wise: upper case sorts before lower case.
        #expect(manifest.groups.map(\.name) == ["B", "a", "b"])
        #expect(manifest.groups[0].children.isEmpty)
    }

    @Test func emptyDirectoryIsValid() throws {
        let dir = TempDirectory()
        defer { dir.remove() }
        let manifest = try ManifestLoader.load(directory: dir.path)
        #expect(manifest.groups.isEmpty)
        #expect(ValidationSummary(manifest).description == "ok: 0 groups, 0 jobs, 0 children")
    }

    @Test func errorsOfSeveralFilesAreAllReported() throws {
        let dir = TempDirectory()
        defer { dir.remove() }
        dir.write("a.yaml", "jobs: [{name: x, command: y, delay: 1}]\n")
        dir.write("b.yaml", "jobs:\n\t- oops\n")
        dir.write("c.yaml", "jobs: []\n")
        let error = #expect(throws: ManifestErrors.self) { try ManifestLoader.load(directory: dir.path) }
        let lines = error?.errors.map(\.description) ?? []
        #expect(lines.count == 2)
        #expect(lines.first == "\(dir.path)/a.yaml:1:37: jobs[0].delay: duration needs a unit (ms, s, m, h): write `1s` or `1ms`")
        #expect(lines.last?.hasPrefix("\(dir.path)/b.yaml:2:1: found character that cannot start any token") == true)
        #expect(error?.errors.map(\.code) == [.invalidValue, .syntax])
    }

    @Test func missingDirectoryIsAnError() {
        let error = #expect(throws: ManifestErrors.self) { try ManifestLoader.load(directory: "/nonexistent/director-jobs") }
        #expect(error?.errors.map(\.code) == [.unreadable])
        #expect(error?.description == "/nonexistent/director-jobs:1:1: jobs directory not found or not a directory")
    }
}

/// Child ids and the `validate` report.
struct ChildIDAndReportTests {
    @Test func examplesGiveIDsInStartOrder() throws {
        let manifest = try ManifestLoader.load(directory: Repo.jobs)
        let ids = manifest.childIDs.map(\.description)
        #expect(ids == [
            "batch/migrate/0", "batch/report/0", "flaky/flaky/0",
            "pipeline/store/db/0", "pipeline/store/indexer/0", "pipeline/producer/0",
            "service/backend/0", "service/client/0",
            "workers/worker/0", "workers/worker/1", "workers/worker/2", "workers/worker/3",
        ])
        #expect(ids.count == manifest.childCount)
        #expect(ids.allSatisfy { ChildID($0)?.description == $0 })
    }

    @Test func reportForValidAndInvalidDirectories() {
        let ok = ValidationReport(directory: Repo.jobs)
        #expect(ok == ValidationReport(lines: ["ok: 6 groups, 9 jobs, 12 children"], exitStatus: 0))
        let bad = ValidationReport(directory: Repo.badCorpus + "/duplicate-groups")
        #expect(bad.exitStatus == 1)
        #expect(bad.lines.count == 1)
        #expect(bad.lines.first?.hasSuffix("duplicate-groups/web.yaml:1:1: group: group `web` is already defined at \(Repo.badCorpus)/duplicate-groups/a.yaml:1:8") == true)
    }
}
