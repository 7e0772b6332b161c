import Testing
@testable import DirectorManifest

/// File names are bytes on Linux: one that is not UTF-8 cannot name a group or appear in a
/// message as is, so it is an error that names the file with its bytes escaped.
struct ManifestFileNameTests {
    @Test func aFileNameThatIsNotUTF8IsAnErrorNamingTheFileEscaped() throws {
        let dir = TempDirectory()
        defer { dir.remove() }
        dir.write("good.yaml", "jobs:\n" + ChildLimitTests.job("x", 1))
        // "bad\xff.yaml": 0xFF never occurs in UTF-8.
        dir.writeRaw(Array("bad".utf8) + [0xFF] + Array(".yaml".utf8), Array(("jobs:\n" + ChildLimitTests.job("y", 1)).utf8))
        // "caf\xe9.yml": Latin-1 é; and a backslash, escaped too so the name reads back unambiguously.
        dir.writeRaw(Array("caf".utf8) + [0xE9] + Array("\\.yml".utf8), Array("jobs: []\n".utf8))
        // Not manifests: hidden, or another extension. Still ignored, as valid names are.
        dir.writeRaw([0x2E, 0xFF] + Array(".yaml".utf8), Array("not: a manifest\n".utf8))
        dir.writeRaw([0xFF] + Array(".txt".utf8), Array("not: a manifest\n".utf8))
        let error = #expect(throws: ManifestErrors.self) { try ManifestLoader.load(directory: dir.path) }
        let lines = error?.errors.map(\.description) ?? []
        #expect(lines == [
            "\(dir.path)/bad\\xff.yaml:1:1: the file name is not valid UTF-8; rename the file",
            "\(dir.path)/caf\\xe9\\\\.yml:1:1: the file name is not valid UTF-8; rename the file",
        ], "\(lines)")
        #expect(error?.errors.map(\.code) == [.invalidFileName, .invalidFileName])
    }

    @Test func escapingKeepsValidTextAndEscapesEveryInvalidByte() {
        #expect(FileSystem.escapedName(Array("plain.yaml".utf8)) == "plain.yaml")
        #expect(FileSystem.escapedName(Array("é".utf8) + [0xC3] + Array("x".utf8)) == "é\\xc3x")
        #expect(FileSystem.escapedName([0xF0, 0x9F, 0x98]) == "\\xf0\\x9f\\x98")
        #expect(FileSystem.escapedName([0x61, 0x0A, 0x62]) == "a\\x0ab")
    }
}
