import Testing
@testable import DirectorManifest

/// The libyaml layer: node shapes, styles, locations and the rejected YAML features.
struct YAMLParserTests {
    @Test func nodesCarryStyleAndLocation() throws {
        let root = try YAMLParser.parse("a: 5\nb: \"5\"\nc:\n  - x\n  - 'y'\nd: |\n  text\n", file: "f.yaml")
        guard case .mapping(let pairs) = root.content else {
            Issue.record("not a mapping: \(root)")
            return
        }
        #expect(pairs.map { $0.key.scalarText } == ["a", "b", "c", "d"])
        #expect(pairs[0].value.content == .scalar("5", .plain))
        #expect(pairs[0].value.kindDescription == "an integer")
        #expect(pairs[1].value.content == .scalar("5", .quoted))
        #expect(pairs[1].value.kindDescription == "a string")
        #expect(pairs[1].value.location == SourceLocation(file: "f.yaml", line: 2, column: 4))
        guard case .sequence(let items) = pairs[2].value.content else {
            Issue.record("c is not a list")
            return
        }
        #expect(items.map(\.content) == [.scalar("x", .plain), .scalar("y", .quoted)])
        #expect(items[1].location == SourceLocation(file: "f.yaml", line: 5, column: 5))
        #expect(pairs[3].value.content == .scalar("text\n", .quoted))
    }

    @Test(arguments: [
        ("a: &x 1\nb: *x\n", "1:4: a: anchors and aliases are not supported"),
        ("a: *x\n", "1:4: a: aliases are not supported"),
        ("a: 1\na: 2\n", "2:1: a: duplicate key `a` (first at line 1, column 1)"),
        ("a: !!int 1\n", "1:4: a: YAML tags (`!...`) are not supported"),
        ("a: 1\n---\nb: 2\n", "2:1: a manifest file holds one YAML document; found a second one"),
        ("a: [1, 2\n", "2:1: did not find expected ',' or ']' while parsing a flow sequence"),
        ("[1]: x\n", "1:1: mapping keys must be plain strings, not a list"),
        ("", "1:1: the file is empty; expected a mapping with `jobs`"),
    ])
    func rejectsWithLocation(_ text: String, _ expected: String) {
        let error = #expect(throws: ManifestErrors.self) { try YAMLParser.parse(text, file: "f.yaml") }
        #expect(error?.errors.first?.description == "f.yaml:" + expected)
    }

    @Test func invalidUTF8IsLocatedByLineAndColumn() {
        let bytes = Array("a: 1\nbé: \"".utf8) + [0xC3, 0x28] + Array("\"\n".utf8)
        let error = #expect(throws: ManifestErrors.self) { try YAMLParser.parse(bytes, file: "f.yaml") }
        #expect(error?.errors.map(\.code) == [.syntax])
        // libyaml points at the offending byte: 0x28, after the 0xC3 that announced a pair.
        #expect(error?.errors.first?.location == SourceLocation(file: "f.yaml", line: 2, column: 7))
        #expect(error?.errors.first?.message.hasPrefix("invalid trailing UTF-8 octet") == true)
    }
}
