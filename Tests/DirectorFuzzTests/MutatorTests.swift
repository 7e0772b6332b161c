import DirectorCore
import DirectorFuzz
import Testing

@Suite("Mutator")
struct MutatorTests {
    @Test("SplitMix64 matches the reference sequence")
    func splitMixReference() {
        var rng = SplitMix64(seed: 0)
        // Published first outputs of SplitMix64 seeded with 0.
        #expect(rng.next() == 0xE220_A839_7B1D_CDAF)
        #expect(rng.next() == 0x6E78_9E6A_A1B9_65F4)
        #expect(rng.next() == 0x06C4_5D18_8009_454F)
    }

    @Test("below(_:) stays in range and reaches both ends", arguments: [1, 2, 3, 7, 100])
    func belowRange(bound: Int) {
        var rng = SplitMix64(seed: 42)
        var seen = Set<Int>()
        for _ in 0..<2_000 {
            let value = rng.below(bound)
            #expect((0..<bound).contains(value))
            seen.insert(value)
        }
        #expect(seen.contains(0) && seen.contains(bound - 1))
    }

    @Test("the same seed makes the same cases; another seed makes others")
    func determinism() {
        let a = CaseGenerator(seed: 7, corpus: Fixtures.corpus)
        let b = CaseGenerator(seed: 7, corpus: Fixtures.corpus)
        let c = CaseGenerator(seed: 8, corpus: Fixtures.corpus)
        let first = (0..<200).map(a.makeCase)
        #expect(first == (0..<200).map(b.makeCase))
        // Any case can be rebuilt alone, out of order.
        #expect(a.makeCase(150) == first[150])
        let other = (0..<200).map(c.makeCase)
        #expect(zip(first, other).filter { $0.bytes != $1.bytes }.count > 150)
    }

    @Test("every mutation kind is drawn and changes its input", arguments: MutationKind.allCases)
    func everyKindChanges(kind: MutationKind) {
        let mutator = Mutator(donors: Fixtures.corpus.inputs)
        var rng = SplitMix64(seed: 99)
        var changed = 0
        for input in Fixtures.corpus.inputs.prefix(40) {
            if mutator.apply(kind, to: input, using: &rng) != input { changed += 1 }
        }
        #expect(changed >= 30, "\(kind) changed only \(changed) of 40 inputs")
    }

    @Test("the first 2 000 cases apply every mutation kind")
    func kindsCovered() {
        let generator = CaseGenerator(seed: LoaderFuzzTests.seed, corpus: Fixtures.corpus)
        var counts: [MutationKind: Int] = [:]
        for index in 0..<2_000 { for kind in generator.makeCase(index).mutations { counts[kind, default: 0] += 1 } }
        for kind in MutationKind.allCases { #expect(counts[kind, default: 0] >= 50, "\(kind) drawn \(counts[kind, default: 0]) times") }
    }

    @Test("aimed mutations hit their key", arguments: [
        (MutationKind.durationEdge, EdgeValues.durations),
        (MutationKind.signalName, EdgeValues.signals),
    ])
    func aimed(kind: MutationKind, values: [String]) {
        let mutator = Mutator(donors: [])
        var rng = SplitMix64(seed: 3)
        let input = Array("jobs:\n  - name: a\n    command: x\n".utf8)
        for _ in 0..<20 {
            let text = String(decoding: mutator.apply(kind, to: input, using: &rng), as: UTF8.self)
            #expect(values.contains { text.contains($0) }, "\(text)")
        }
    }

    @Test("escapedInput shows control and non-ASCII bytes as \\xNN")
    func escaping() {
        let c = FuzzCase(seed: 1, index: 2, baseName: "x", mutations: [], bytes: [0x61, 0, 0x0A, 0xFF, 0x5C])
        #expect(c.escapedInput == "a\\x00\n\\xFF\\\\")
    }
}
