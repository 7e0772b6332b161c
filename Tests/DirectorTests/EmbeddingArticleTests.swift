import Director
import Foundation
import Logging
import ServiceLifecycle
import Testing

// The sample code of Sources/Director/Director.docc/Embedding.md, compiled and run here. Each
// region between `// snippet: NAME` and `// end snippet` must equal the article's code block
// of that name, character for character (articleSnippetsAreTheCodeCompiledHere checks it),
// so the article cannot show code that does not build.

struct GiveUpAfterThree: SupervisorDelegate {
    // snippet: delegate
    func handleExit(child: Child, status: ChildExitStatus, restarts: Int, state: Void) -> Verdict {
        if restarts < 3 {
            // 100 ms, 200 ms, 400 ms: a growing delay, logged as usual.
            return Verdict(.restartAfter(.milliseconds(100 << restarts)), state: (), childState: ())
        }
        // The fourth crash fails the group (OTP's escalation).
        return Verdict(.stop, state: (), childState: ())
    }
    // end snippet
}

@Suite(.serialized) struct EmbeddingArticleTests {
    @Test func theArticlesTreeRunsInAServiceGroupAndIsDrivenThroughTheHandle() async throws {
        // snippet: tree
        let worker = JobSpec(name: "worker", command: .argv(["/bin/sleep", "60"]), instances: 2)
        let tree = Manifest(groups: [GroupSpec(name: "jobs", children: [.job(worker)])])
        let logger = Logger(label: "jobs")
        let supervisor = try Supervisor(manifest: .manifest(tree), delegate: GiveUpAfterThree(), logger: logger)
        // end snippet
        let group = ServiceGroup(services: [supervisor], logger: logger)
        let run = Task { try await group.run() }
        #expect(await eventually { await supervisor.handle.whichChildren().filter { $0.state == .running }.count == 2 })
        // snippet: handle
        let handle = supervisor.handle
        try await handle.restartChild("jobs/worker/1")
        try await handle.scale("jobs/worker", to: 3)
        let running = await handle.whichChildren().filter { $0.state == .running }
        print("\(running.count) running")
        // end snippet
        #expect(await eventually { await handle.whichChildren().filter { $0.state == .running }.count == 3 })
        await group.triggerGracefulShutdown()
        try await run.value
    }

    @Test func articleSnippetsAreTheCodeCompiledHere() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let article = try String(contentsOf: root.appendingPathComponent("Sources/Director/Director.docc/Embedding.md"), encoding: .utf8)
        let source = try String(contentsOf: URL(fileURLWithPath: #filePath), encoding: .utf8)
        let snippets = Self.regions(in: source)
        #expect(snippets.keys.sorted() == ["delegate", "handle", "tree"])
        for (name, code) in snippets {
            #expect(article.contains("<!-- snippet: \(name) -->\n```swift\n\(code)```"), "the article's \(name) block differs from the code")
        }
    }

    /// `// snippet: NAME` ... `// end snippet` regions, unindented to their first line.
    static func regions(in source: String) -> [String: String] {
        var result: [String: String] = [:]
        var name: String?
        var lines: [Substring] = []
        for line in source.split(separator: "\n", omittingEmptySubsequences: false) {
            let trimmed = line.drop { $0 == " " }
            if trimmed.hasPrefix("// snippet: ") && !trimmed.contains("NAME") {
                name = String(trimmed.dropFirst("// snippet: ".count))
                lines = []
            } else if trimmed == "// end snippet", let current = name {
                let indent = lines.first.map { $0.prefix { $0 == " " }.count } ?? 0
                result[current] = lines.map { String($0.dropFirst(min(indent, $0.prefix { $0 == " " }.count))) + "\n" }.joined()
                name = nil
            } else if name != nil {
                lines.append(line)
            }
        }
        return result
    }
}
