import DirectorFuzz
import Glibc

/// The repository's files the fuzz tests start from.
enum Fixtures {
    /// The package root (three levels above this file).
    static let root: String = {
        var path = #filePath
        for _ in 0..<3 { path = String(path[..<(path.lastIndex(of: "/") ?? path.endIndex)]) }
        return path
    }()

    /// Built-in manifests plus the examples and the loader's good and bad corpora.
    static let corpus = FuzzCorpus.builtInPlus(directories: [
        root + "/jobs",
        root + "/Tests/DirectorManifestTests/Corpus/good",
        root + "/Tests/DirectorManifestTests/Corpus/bad",
    ])
}

/// The environment variables of docs/fuzzing.md.
enum FuzzEnvironment {
    /// `DIRECTOR_SOAK=1` turns the long run on.
    static var soak: Bool { value("DIRECTOR_SOAK") == "1" }
    /// `DIRECTOR_FUZZ_SEED`, when set to a number.
    static var seed: UInt64? { value("DIRECTOR_FUZZ_SEED").flatMap { UInt64($0) } }
    /// `DIRECTOR_FUZZ_CASE`, when set to a number.
    static var replayCase: Int? { value("DIRECTOR_FUZZ_CASE").flatMap { Int($0) } }

    private static func value(_ name: String) -> String? {
        getenv(name).map { String(cString: $0) }
    }
}
