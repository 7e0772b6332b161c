import DirectorManifest

/// What the loader did with one input.
public enum LoadOutcome: Sendable, Hashable {
    /// It accepted the input.
    case loaded(GroupSpec)
    /// It rejected the input with these errors.
    case rejected([ManifestError])
}

/// The result of running one input through the loader and checking it.
public struct CheckedLoad: Sendable {
    /// What the loader returned.
    public var outcome: LoadOutcome
    /// How long the load took (monotonic clock).
    public var elapsed: Duration
    /// Every broken promise; empty when the loader behaved.
    public var failures: [FuzzFailure]
}

/// Runs the loader on one input and checks the promises the loader makes for *any* input:
/// it returns in bounded time; a rejection has at least one error and every error names the
/// file, a line and column inside the input and a message; an accepted manifest obeys the
/// documented value rules.
public enum LoaderOracle {
    /// Loads `bytes` as `file` and checks the outcome. Relative `cwd`s resolve against
    /// `/fuzz`, a fixed directory, so results do not depend on where tests run.
    public static func check(_ bytes: [UInt8], file: String, timeLimit: Duration = .seconds(2)) -> CheckedLoad {
        let clock = ContinuousClock()
        let start = clock.now
        let outcome: LoadOutcome
        do {
            outcome = .loaded(try ManifestLoader.load(bytes: bytes, file: file, jobsDirectory: "/fuzz"))
        } catch {
            outcome = .rejected(error.errors)
        }
        let elapsed = clock.now - start
        var failures: [FuzzFailure] = []
        if elapsed > timeLimit {
            failures.append(FuzzFailure(.tooSlow, "took \(elapsed), limit \(timeLimit)"))
        }
        switch outcome {
        case .loaded(let group):
            failures += ManifestRules.check(group, path: group.name)
            let children = Manifest(groups: [group]).childCount
            if children > ManifestLoader.defaultMaxChildren {
                failures.append(FuzzFailure(.insaneManifest, "\(group.name): \(children) children, over the limit of \(ManifestLoader.defaultMaxChildren)"))
            }
        case .rejected(let errors):
            failures += checkErrors(errors, bytes: bytes, file: file)
        }
        return CheckedLoad(outcome: outcome, elapsed: elapsed, failures: failures)
    }

    /// Every error must point inside the input: line 1...lines, column 1...(line length + 1),
    /// counting lines as libyaml does (`\n`, `\r\n`, `\r`, NEL, LS, PS end a line) and columns
    /// in bytes (a column in characters is never larger). The one place past the text that is
    /// allowed is column 1 of the line after the last, where libyaml puts the stream's end.
    static func checkErrors(_ errors: [ManifestError], bytes: [UInt8], file: String) -> [FuzzFailure] {
        guard !errors.isEmpty else { return [FuzzFailure(.emptyErrors, "rejected with no error")] }
        let lineLengths = LineBreaks.lineLengths(bytes)
        var failures: [FuzzFailure] = []
        for error in errors {
            let at = error.location
            if at.file != file {
                failures.append(FuzzFailure(.wrongFile, "`\(error)` names \(at.file), not \(file)"))
            }
            if at.line == lineLengths.count + 1 && at.column == 1 {
                // libyaml puts the end of a stream that lacks a final line break on a line
                // of its own: "unexpected end of input" errors may point just past the text.
            } else if at.line < 1 || at.line > lineLengths.count {
                failures.append(FuzzFailure(.badLocation, "`\(error)`: line \(at.line) outside 1...\(lineLengths.count)"))
            } else if at.column < 1 || at.column > lineLengths[at.line - 1] + 1 {
                failures.append(FuzzFailure(.badLocation,
                    "`\(error)`: column \(at.column) outside 1...\(lineLengths[at.line - 1] + 1) of line \(at.line)"))
            }
            if error.message.allSatisfy(\.isWhitespace) {
                failures.append(FuzzFailure(.emptyMessage, "error at \(at) (\(error.code.rawValue)) has no message"))
            }
        }
        return failures
    }
}

/// Line splitting as libyaml does it.
enum LineBreaks {
    /// The byte length of every line; a text with n line breaks has n + 1 lines.
    static func lineLengths(_ bytes: [UInt8]) -> [Int] {
        var lengths: [Int] = []
        var start = 0
        var i = 0
        while i < bytes.count {
            let breakLength = YAMLLineBreak.length(at: i, in: bytes)
            if breakLength > 0 {
                lengths.append(i - start)
                i += breakLength
                start = i
            } else {
                i += 1
            }
        }
        lengths.append(bytes.count - start)
        return lengths
    }
}
