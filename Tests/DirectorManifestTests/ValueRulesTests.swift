import Testing
@testable import DirectorManifest

/// The lexical rules: durations, names, suggestions, paths.
struct ValueRulesTests {
    @Test(arguments: [
        ("0s", Duration.zero), ("250ms", .milliseconds(250)), ("1.5s", .milliseconds(1500)),
        ("2m", .seconds(120)), ("1h", .seconds(3600)), ("0.001ms", .nanoseconds(1000)),
        ("1.25m", .seconds(75)), ("007s", .seconds(7)),
    ])
    func parsesDurations(_ text: String, _ expected: Duration) throws {
        #expect(try DurationText.parse(text).get() == expected)
    }

    @Test(arguments: [
        ("5", DurationText.Problem.missingUnit), ("0", .missingUnit), ("1.5", .missingUnit),
        ("-1s", .negative), ("5sec", .malformed), ("s", .malformed), (".5s", .malformed),
        ("1.s", .malformed), ("1.2.3s", .malformed), ("1 s", .malformed), ("infinity", .malformed),
        ("99999999999h", .tooLarge), ("1000000000000000000000s", .tooLarge),
    ])
    func rejectsDurations(_ text: String, _ problem: DurationText.Problem) {
        #expect(throws: problem) { try DurationText.parse(text).get() }
    }

    @Test(arguments: [("web", true), ("a.b_c-1", true), ("", false), ("a b", false), ("a/b", false), ("é", false)])
    func names(_ text: String, _ valid: Bool) {
        #expect(NameRules.isValidName(text) == valid)
    }

    @Test(arguments: [
        ("comand", "command"), ("stratgy", "strategy"), ("TREM", "TERM"), ("jobz", "jobs"),
        ("instance", "instances"), ("FOO", nil), ("colour", nil),
    ] as [(String, String?)])
    func suggestions(_ word: String, _ expected: String?) {
        let candidates = GroupDecoder.jobKeys + GroupDecoder.fileKeys + ProcessSignal.knownNames
        #expect(NameRules.suggestion(for: word, among: candidates) == expected)
    }

    @Test(arguments: [
        ("/srv/app", "/jobs", "/srv/app"), ("data", "/jobs", "/jobs/data"), ("./a/../b", "/jobs", "/jobs/b"),
        ("../../..", "/jobs", "/"), ("{{job}}/x", "/j", "/j/{{job}}/x"),
    ])
    func resolvesPaths(_ path: String, _ base: String, _ expected: String) {
        #expect(PathText.resolve(path, against: base) == expected)
    }
}
