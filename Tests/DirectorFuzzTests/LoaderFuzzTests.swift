import DirectorFuzz
import DirectorManifest
import Testing

/// The loader under seeded fuzzing: see docs/fuzzing.md.
@Suite("Loader fuzzing", .serialized)
struct LoaderFuzzTests {
    /// The fixed seed of `make test`; never derived from the date, so runs are repeatable.
    static let seed: UInt64 = 20_261_124
    /// The soak's default seed (another stream than `make test`'s).
    static let soakSeed: UInt64 = 5_044_332_109

    @Test("2 000 seeded cases: no crash, bounded time, located errors, sane manifests")
    func loaderFuzz() {
        let report = FuzzRunner(seed: Self.seed, corpus: Fixtures.corpus).run(0..<2_000)
        StandardError.write(report.summary + "\n")
        #expect(report.cases == 2_000)
        for failed in report.failed.prefix(5) {
            Issue.record("\(failed.replayHint): \(failed.failures.map(\.description).joined(separator: "; "))\n\(failed.fuzzCase.escapedInput)")
        }
        #expect(report.failed.isEmpty)
        // The mix must reach past the YAML layer: some inputs load, and the typed decoders reject others.
        #expect(report.loaded >= 20)
        #expect(report.rejectedByCode[.syntax, default: 0] > 100)
        #expect(report.rejectedByCode[.invalidValue, default: 0] + report.rejectedByCode[.wrongType, default: 0] > 100)
    }

    @Test("Soak: 50 000 cases (DIRECTOR_SOAK=1; seed from DIRECTOR_FUZZ_SEED)", .enabled(if: FuzzEnvironment.soak))
    func loaderFuzzSoak() {
        let seed = FuzzEnvironment.seed ?? Self.soakSeed
        StandardError.write("fuzz: soak seed \(seed)\n")
        var runner = FuzzRunner(seed: seed, corpus: Fixtures.corpus)
        runner.checkpointEvery = 1_000
        let report = runner.run(0..<50_000)
        StandardError.write(report.summary + "\n")
        for failed in report.failed.prefix(5) {
            Issue.record("\(failed.replayHint): \(failed.failures.map(\.description).joined(separator: "; "))\n\(failed.fuzzCase.escapedInput)")
        }
        #expect(report.failed.isEmpty)
    }

    @Test("Replay one case (DIRECTOR_FUZZ_CASE, DIRECTOR_FUZZ_SEED)", .enabled(if: FuzzEnvironment.replayCase != nil))
    func replay() throws {
        let index = try #require(FuzzEnvironment.replayCase)
        let fuzzCase = CaseGenerator(seed: FuzzEnvironment.seed ?? Self.seed, corpus: Fixtures.corpus).makeCase(index)
        StandardError.write("""
            fuzz: seed \(fuzzCase.seed) case \(index) from \(fuzzCase.baseName), \
            mutations: \(fuzzCase.mutations.map(\.rawValue).joined(separator: ", "))
            ----- input (\(fuzzCase.bytes.count) bytes; \\xNN = raw byte) -----
            \(fuzzCase.escapedInput)
            ----- end of input -----

            """)
        let result = LoaderOracle.check(fuzzCase.bytes, file: fuzzCase.fileName)
        switch result.outcome {
        case .loaded(let group): StandardError.write("fuzz: loaded group `\(group.name)` with \(group.children.count) children\n")
        case .rejected(let errors): StandardError.write("fuzz: rejected:\n\(ManifestErrors(errors))\n")
        }
        StandardError.write("fuzz: took \(result.elapsed)\n")
        #expect(result.failures.isEmpty, "\(result.failures)")
    }
}
