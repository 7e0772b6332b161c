import Testing
@testable import DirectorManifest

/// Inputs that must fail fast with a clear error instead of hanging or crashing.
struct InputLimitTests {
    @Test func tenMegabyteFileIsRejectedBeforeParsing() throws {
        let dir = TempDirectory()
        defer { dir.remove() }
        var text = Array("jobs:\n".utf8)
        let line = Array("  - {name: j, command: \"sleep 60\"}  # padding padding padding\n".utf8)
        while text.count < 10 * 1024 * 1024 { text += line }
        dir.write("huge.yaml", text)
        let error = #expect(throws: ManifestErrors.self) { try ManifestLoader.load(directory: dir.path) }
        #expect(error?.errors.map(\.code) == [.tooLarge])
        #expect(error?.errors.first?.description.hasPrefix("\(dir.path)/huge.yaml:1:1: file is \(text.count) bytes; manifests are limited to 1048576 bytes") == true)
        // The same limit holds for text handed over directly.
        let direct = #expect(throws: ManifestErrors.self) { try ManifestLoader.load(bytes: text, file: "huge.yaml") }
        #expect(direct?.errors.map(\.code) == [.tooLarge])
    }

    @Test(arguments: [
        ("flow sequences", String(repeating: "[", count: 100_000)),
        ("flow mappings", "jobs: " + String(repeating: "{a: ", count: 100_000)),
        ("block sequences", "jobs:\n" + (0..<200).map { String(repeating: " ", count: $0 * 2) + "-\n" }.joined()),
    ])
    func deepNestingIsRejected(_ kind: String, _ text: String) throws {
        let error = #expect(throws: ManifestErrors.self) { try ManifestLoader.load(yaml: text, file: "deep.yaml") }
        let first = try #require(error?.errors.first, "\(kind)")
        #expect(first.code == .tooDeep, "\(kind): \(first)")
        #expect(first.message == "nested deeper than 64 levels")
    }

    @Test func nestingUpToTheLimitIsParsed() throws {
        let text = String(repeating: "[", count: YAMLParser.maxDepth) + String(repeating: "]", count: YAMLParser.maxDepth)
        let node = try YAMLParser.parse(text, file: "ok.yaml")
        var depth = 0
        var current = node
        while case .sequence(let items) = current.content {
            depth += 1
            guard let next = items.first else { break }
            current = next
        }
        #expect(depth == YAMLParser.maxDepth)
    }
}
