import Testing
@testable import DirectorManifest

@Suite struct DurationFormatTests {
    @Test(arguments: ["0s", "250ms", "5s", "2m", "1h", "90s", "1500ms", "0.5ms", "1.000001ms"])
    func formatsBackToTheSameDuration(_ text: String) throws {
        let d = try DurationText.parse(text).get()
        #expect(DurationText.format(d) == text)
        #expect(try DurationText.parse(DurationText.format(d)).get() == d)
    }
}
