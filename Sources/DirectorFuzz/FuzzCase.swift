import DirectorCore
/// One generated input: where it came from and how it was changed.
public struct FuzzCase: Sendable, Hashable {
    /// The run's seed.
    public var seed: UInt64
    /// The case's number within the run.
    public var index: Int
    /// Which corpus input it started from.
    public var baseName: String
    /// The mutations applied, in order.
    public var mutations: [MutationKind]
    /// The mutated input.
    public var bytes: [UInt8]

    /// Creates a case record.
    public init(seed: UInt64, index: Int, baseName: String, mutations: [MutationKind], bytes: [UInt8]) {
        self.seed = seed
        self.index = index
        self.baseName = baseName
        self.mutations = mutations
        self.bytes = bytes
    }

    /// The file name the loader is given: stable per case so replays print the same errors.
    public var fileName: String { "fuzz/case-\(index).yaml" }

    /// The input made printable: bytes that are not printable ASCII or a line break shown as
    /// `\xNN`, so a replay can be pasted into a regression test.
    public var escapedInput: String {
        var text = ""
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "\n"): text += "\n"
            case UInt8(ascii: "\\"): text += "\\\\"
            case 0x20..<0x7F: text.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let hex = String(byte, radix: 16, uppercase: true)
                text += "\\x" + (hex.count == 1 ? "0" + hex : hex)
            }
        }
        return text
    }
}

/// Makes case `index` of a seeded run: the case's own generator is derived from
/// (seed, index), so any case can be rebuilt alone without generating the ones before it.
public struct CaseGenerator: Sendable {
    /// The run's seed.
    public var seed: UInt64
    /// The inputs cases start from; must not be empty.
    public var corpus: FuzzCorpus
    /// At most this many mutations per case (at least one is always applied).
    public var maxMutations = 4

    /// Creates a generator.
    public init(seed: UInt64, corpus: FuzzCorpus) {
        precondition(!corpus.inputs.isEmpty, "the fuzz corpus is empty")
        self.seed = seed
        self.corpus = corpus
    }

    /// The case's own random stream.
    public func generator(for index: Int) -> SplitMix64 {
        SplitMix64(seed: SplitMix64.mix(seed ^ SplitMix64.mix(UInt64(truncatingIfNeeded: index) &+ 0x5EED)))
    }

    /// Builds case `index`.
    public func makeCase(_ index: Int) -> FuzzCase {
        var rng = generator(for: index)
        let base = rng.below(corpus.inputs.count)
        let mutator = Mutator(donors: corpus.inputs)
        var count = 1
        while count < maxMutations && rng.chance(40) { count += 1 }
        var bytes = corpus.inputs[base]
        var kinds: [MutationKind] = []
        for _ in 0..<count {
            let kind = rng.pick(MutationKind.allCases)
            bytes = mutator.apply(kind, to: bytes, using: &rng)
            kinds.append(kind)
        }
        return FuzzCase(seed: seed, index: index, baseName: corpus.names[base], mutations: kinds, bytes: bytes)
    }
}
