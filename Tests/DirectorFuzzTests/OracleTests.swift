@testable import DirectorFuzz
import DirectorManifest
import Testing

/// The oracle must catch what it is there to catch, or the fuzz run proves nothing.
@Suite("Loader oracle")
struct OracleTests {
    static let file = "f.yaml"
    static let input = Array("a: 1\nbb: 22\n".utf8)  // lines of 4, 6 and 0 bytes

    static func error(line: Int, column: Int, file: String = file, message: String = "m") -> ManifestError {
        ManifestError(.invalidValue, at: SourceLocation(file: file, line: line, column: column), message)
    }

    @Test("errors inside the input pass", arguments: [(1, 1), (1, 5), (2, 7), (3, 1)])
    func inside(line: Int, column: Int) {
        #expect(LoaderOracle.checkErrors([Self.error(line: line, column: column)], bytes: Self.input, file: Self.file).isEmpty)
    }

    @Test("the end of the stream, just past the text, passes")
    func streamEnd() {
        let noFinalBreak = Array("a: 1\nbb".utf8)
        #expect(LoaderOracle.checkErrors([Self.error(line: 3, column: 1)], bytes: noFinalBreak, file: Self.file).isEmpty)
        #expect(!LoaderOracle.checkErrors([Self.error(line: 3, column: 2)], bytes: noFinalBreak, file: Self.file).isEmpty)
    }

    @Test("errors outside the input fail as bad_location", arguments: [(0, 1), (1, 0), (5, 1), (4, 2), (1, 6), (3, 2), (-1, -1)])
    func outside(line: Int, column: Int) {
        let failures = LoaderOracle.checkErrors([Self.error(line: line, column: column)], bytes: Self.input, file: Self.file)
        #expect(failures.map(\.code) == [.badLocation])
    }

    @Test("an empty list, another file or a blank message fail")
    func otherFailures() {
        #expect(LoaderOracle.checkErrors([], bytes: Self.input, file: Self.file).map(\.code) == [.emptyErrors])
        #expect(LoaderOracle.checkErrors([Self.error(line: 1, column: 1, file: "g.yaml")], bytes: Self.input, file: Self.file)
            .map(\.code) == [.wrongFile])
        #expect(LoaderOracle.checkErrors([Self.error(line: 1, column: 1, message: " ")], bytes: Self.input, file: Self.file)
            .map(\.code) == [.emptyMessage])
    }

    @Test("lines break as libyaml breaks them", arguments: [
        ("", [0]), ("ab", [2]), ("a\n", [1, 0]), ("a\r\nb", [1, 1]), ("a\rb\r", [1, 1, 0]),
        ("a\u{85}b", [1, 1]), ("a\u{2028}b\u{2029}", [1, 1, 0]), ("é\n", [2, 0]),
    ])
    func lineBreaks(text: String, lengths: [Int]) {
        #expect(LineBreaks.lineLengths(Array(text.utf8)) == lengths)
    }

    @Test("an accepted manifest breaking a value rule fails as insane_manifest")
    func insaneManifest() {
        let job = JobSpec(name: "bad name", command: .argv([""]), instances: -1, cwd: "relative",
                          env: [EnvVar(name: "1X", value: "")], delay: .seconds(-1), resetAfter: .zero,
                          onExit: [ExitRule(when: ExitCondition(codes: [256]), action: .wait, after: .seconds(1))])
        let group = GroupSpec(name: "", intensity: -1, period: .zero, children: [.job(job), .job(job)])
        let failures = ManifestRules.check(group, path: "g")
        #expect(failures.allSatisfy { $0.code == .insaneManifest })
        // name, intensity, period, duplicate child; per job: name, argv, instances, cwd, env, delay, reset_after, code, after.
        #expect(failures.count == 4 + 2 * 9)
    }

    @Test("the loader's examples pass the oracle", arguments: Fixtures.corpus.names.indices)
    func corpusPasses(index: Int) {
        let result = LoaderOracle.check(Fixtures.corpus.inputs[index], file: "corpus.yaml")
        #expect(result.failures.isEmpty, "\(Fixtures.corpus.names[index]): \(result.failures)")
    }
}
