import Testing
@testable import DirectorManifest

/// Every entry of Corpus/bad (a file, or a directory loaded as a jobs directory) must fail
/// with the lines of its sibling `.expected` file: each expected line is the start of one
/// reported `FILE:LINE:COL: key.path: message` line, FILE relative to Corpus/bad.
struct BadCorpusTests {
    static let cases: [String] = Repo.entries(Repo.badCorpus).filter { !$0.hasSuffix(".expected") }

    @Test(arguments: cases)
    func reportsPreciseErrors(_ name: String) throws {
        let expectedText = try #require(Repo.text(Repo.badCorpus + "/" + name + ".expected"),
            "missing \(name).expected; got:\n\(corpusErrorLines(Repo.badCorpus + "/" + name, relativeTo: Repo.badCorpus).joined(separator: "\n"))")
        let expected = expectedText.split(separator: "\n").map(String.init)
        let actual = corpusErrorLines(Repo.badCorpus + "/" + name, relativeTo: Repo.badCorpus)
        #expect(!actual.isEmpty, "\(name) loaded but should fail")
        #expect(actual.count == expected.count, "expected \(expected.count) errors, got:\n\(actual.joined(separator: "\n"))")
        for line in expected {
            #expect(actual.contains { $0.hasPrefix(line) }, "no error starts with `\(line)`; got:\n\(actual.joined(separator: "\n"))")
        }
    }

    @Test func corpusIsNotEmpty() {
        #expect(Self.cases.count >= 30)
    }
}
