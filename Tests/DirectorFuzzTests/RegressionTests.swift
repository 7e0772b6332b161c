import DirectorFuzz
import DirectorManifest
import Testing

/// Loader bugs the fuzzer found, kept as plain cases so they stay fixed.
@Suite("Fuzz regressions")
struct RegressionTests {
    /// Bytes libyaml's reader rejects (invalid UTF-8, control characters) only carry a byte
    /// offset; the loader turned it into a line by counting `\n` alone, while every other
    /// error uses libyaml's lines, where `\r`, NEL, LS and PS also end a line. Found as seed
    /// 20261124 cases 484, 966, 1003, 1348, 1852: the column fell past the end of the line.
    @Test("reader errors count lines as libyaml does", arguments: [
        (Array("- ".utf8) + [0xE2, 0x80, 0xA8] + Array("a\n- ".utf8) + [0] + [0x0A], 3, 3),  // LS
        (Array("a: b".utf8) + [0xC2, 0x85] + Array("c: ".utf8) + [0xFF], 2, 4),                   // NEL
        (Array("a: b\rc: ".utf8) + [0xFF], 2, 4),                                                // lone CR
        (Array("a: b\r\nc: ".utf8) + [0xFF], 2, 4),                                              // CRLF
        (Array("a: b\nc: é".utf8) + [0xFF], 2, 5),                                               // columns in characters
    ])
    func readerErrorLines(bytes: [UInt8], line: Int, column: Int) throws {
        let errors = try #require(throws: ManifestErrors.self) {
            try ManifestLoader.load(bytes: bytes, file: "r.yaml", jobsDirectory: "/fuzz")
        }
        let first = try #require(errors.errors.first)
        #expect(first.code == .syntax)
        #expect((first.location.line, first.location.column) == (line, column), "\(first)")
        #expect(LoaderOracle.check(bytes, file: "r.yaml").failures.isEmpty)
    }

    /// libyaml's own marks already count LS as a line break: the reader errors above must agree.
    @Test("libyaml's parser errors count LS as a line break")
    func parserMarksCountSeparators() throws {
        let bytes = Array("a: b".utf8) + [0xE2, 0x80, 0xA8] + Array("c: [".utf8)
        let errors = try #require(throws: ManifestErrors.self) {
            try ManifestLoader.load(bytes: bytes, file: "r.yaml", jobsDirectory: "/fuzz")
        }
        #expect(errors.errors.first?.location.line == 2 || errors.errors.first?.location.line == 3, "\(errors)")
    }

    /// Did-you-mean suggestions compared a misspelt word with every candidate by full edit
    /// distance, allocating a table row per character: a 65 KB unknown signal name took 1 to
    /// 2.7 s in a debug build (soak seed 5044332109 case 15792) and grows with the square of
    /// the length. A candidate whose length differs by more than the allowed distance can
    /// never be suggested, so it is no longer compared. The inputs here are 512 KB, under the
    /// 1 MiB limit: minutes before the fix, milliseconds after; the bound is the fuzzer's 2 s.
    @Test("a huge misspelt word is rejected in bounded time", arguments: [
        "jobs:\n  - name: a\n    command: x\n    shutdown: {signal: LONG}\n",  // unknown signal
        "jobs:\n  - name: a\n    command: x\n    LONG: 1\n",                   // unknown key
        "strategy: LONG\njobs: []\n",                                            // unknown choice
    ])
    func hugeMisspeltWord(template: String) throws {
        let word = String(repeating: "X", count: 512 * 1024)
        let bytes = Array(template.replacing("LONG", with: word).utf8)
        let result = LoaderOracle.check(bytes, file: "r.yaml")
        #expect(result.failures.isEmpty, "\(result.failures)")
        guard case .rejected(let errors) = result.outcome else {
            Issue.record("accepted a 512 KB misspelt word")
            return
        }
        #expect(errors.count == 1)
    }

    /// For "invalid Unicode character" and "control characters are not allowed" libyaml's
    /// problem value is a code point, not a byte; the loader printed its low byte, so a
    /// surrogate read "(byte 0x0)" (seed 20261124 cases 1003 and 1348).
    @Test("reader errors name code points as U+XXXX", arguments: [
        ([0xED, 0xA0, 0x80], "U+D800"),
        ([0xF4, 0x90, 0x80, 0x80], "U+110000"),
        ([0x01], "U+0001"),
        ([0xFF], "byte 0xff"),
    ] as [([UInt8], String)])
    func readerErrorValues(bad: [UInt8], shown: String) throws {
        let errors = try #require(throws: ManifestErrors.self) {
            try ManifestLoader.load(bytes: Array("a: ".utf8) + bad, file: "r.yaml", jobsDirectory: "/fuzz")
        }
        #expect(errors.errors.first?.message.contains(shown) == true, "\(errors)")
    }
}

