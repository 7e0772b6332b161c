import DirectorManifest
import Glibc

/// A failed case: enough to replay it and see why.
public struct FailedCase: Sendable {
    /// The case, input included.
    public var fuzzCase: FuzzCase
    /// What went wrong.
    public var failures: [FuzzFailure]

    /// How to run just this case again.
    public var replayHint: String {
        "DIRECTOR_FUZZ_SEED=\(fuzzCase.seed) DIRECTOR_FUZZ_CASE=\(fuzzCase.index)"
    }
}

/// What a run did, in numbers.
public struct FuzzReport: Sendable {
    /// Cases run.
    public var cases = 0
    /// Cases the loader accepted.
    public var loaded = 0
    /// Cases the loader rejected, by the first error's code.
    public var rejectedByCode: [ManifestError.Code: Int] = [:]
    /// How often each mutation kind was applied.
    public var mutations: [MutationKind: Int] = [:]
    /// The slowest case's index and time.
    public var slowest: (index: Int, elapsed: Duration) = (-1, .zero)
    /// Cases that broke a promise.
    public var failed: [FailedCase] = []

    /// A few lines for the test log.
    public var summary: String {
        let codes = rejectedByCode.sorted { $0.key.rawValue < $1.key.rawValue }.map { "\($0.key.rawValue)=\($0.value)" }
        return "fuzz: \(cases) cases, \(loaded) loaded, rejected: \(codes.joined(separator: " ")); "
            + "slowest case \(slowest.index) took \(slowest.elapsed); \(failed.count) failed"
    }
}

/// Runs a range of cases of one seed through ``LoaderOracle`` in this process.
///
/// A crash in the loader kills the process; to make it replayable the runner prints a
/// checkpoint (seed and case range) to stderr before every batch, and ``CaseBreadcrumb``
/// names the exact case on a crash signal or when a case hangs.
public struct FuzzRunner: Sendable {
    /// Makes the cases.
    public var generator: CaseGenerator
    /// A case slower than this fails.
    public var timeLimit: Duration = .seconds(2)
    /// Print a checkpoint every this many cases.
    public var checkpointEvery = 100

    /// Creates a runner for `seed` over `corpus`.
    public init(seed: UInt64, corpus: FuzzCorpus) {
        generator = CaseGenerator(seed: seed, corpus: corpus)
    }

    /// Runs cases `range` and returns what happened.
    public func run(_ range: Range<Int>) -> FuzzReport {
        var report = FuzzReport()
        CaseBreadcrumb.install(hangLimit: timeLimit * 10)
        defer { CaseBreadcrumb.leave() }
        for index in range {
            if (index - range.lowerBound) % checkpointEvery == 0 {
                let end = min(index + checkpointEvery, range.upperBound) - 1
                StandardError.write("fuzz: checkpoint seed \(generator.seed) cases \(index)...\(end)\n")
            }
            let fuzzCase = generator.makeCase(index)
            CaseBreadcrumb.enter(seed: generator.seed, index: index)
            let result = LoaderOracle.check(fuzzCase.bytes, file: fuzzCase.fileName, timeLimit: timeLimit)
            CaseBreadcrumb.leave()
            report.cases += 1
            for kind in fuzzCase.mutations { report.mutations[kind, default: 0] += 1 }
            switch result.outcome {
            case .loaded: report.loaded += 1
            case .rejected(let errors): if let first = errors.first { report.rejectedByCode[first.code, default: 0] += 1 }
            }
            if result.elapsed > report.slowest.elapsed { report.slowest = (index, result.elapsed) }
            if !result.failures.isEmpty {
                report.failed.append(FailedCase(fuzzCase: fuzzCase, failures: result.failures))
                StandardError.write("fuzz: FAILED seed \(generator.seed) case \(index): \(result.failures.map(\.description).joined(separator: "; "))\n")
            }
        }
        return report
    }
}

/// Unbuffered writes to stderr, so checkpoints are out before a crash.
public enum StandardError {
    /// Writes `text` to file descriptor 2.
    public static func write(_ text: String) {
        var bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeMutableBytes { Glibc.write(2, $0.baseAddress, $0.count) }
            if n <= 0 { return }
            offset += n
        }
    }
}
