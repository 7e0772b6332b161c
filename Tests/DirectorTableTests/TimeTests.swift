import DirectorTable
import Testing

@Suite struct TimeTests {
    @Test(arguments: [
        (Int64(0), "1970-01-01T00:00:00.000Z"),
        (1_795_550_400_123, "2026-11-24T20:00:00.123Z"),
        (951_782_400_000, "2000-02-29T00:00:00.000Z"),
        (-1, "1969-12-31T23:59:59.999Z"),
        (4_102_444_799_999, "2099-12-31T23:59:59.999Z"),
    ])
    func formatsAndParses(_ millis: Int64, _ text: String) {
        #expect(RFC3339.format(millis) == text)
        #expect(RFC3339.parse(text) == millis)
    }

    /// Seeded instants over the years 1–9999 (the in-place path) and beyond (the other):
    /// each formats to 24 characters of the right shape and parses back to itself.
    @Test func everyInstantFormatsAndParsesBack() {
        var seed: UInt64 = 0x5eed
        func next() -> UInt64 {
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            return seed >> 11
        }
        let first: Int64 = -62_135_596_800_000, last: Int64 = 253_402_300_799_999  // years 1 and 9999
        for i in 0..<20_000 {
            let millis = i < 2 ? (i == 0 ? first : last) : first + Int64(next() % UInt64(last - first))
            let text = RFC3339.format(millis)
            #expect(text.utf8.count == 24 && text.hasSuffix("Z"), "\(millis): \(text)")
            #expect(RFC3339.parse(text) == millis, "\(millis): \(text)")
        }
        #expect(RFC3339.format(last + 1) == "10000-01-01T00:00:00.000Z")
    }

    @Test(arguments: [
        ("2026-11-24T21:00:00Z", Int64(1_795_554_000_000)),
        ("2026-11-24T21:00:00.5Z", 1_795_554_000_500),
        ("2026-11-24T21:00:00.123456789Z", 1_795_554_000_123),
        ("2026-11-24T22:30:00.000+01:30", 1_795_554_000_000),
        ("2026-11-24T19:00:00.000-02:00", 1_795_554_000_000),
    ])
    func parsesOtherRFC3339Forms(_ text: String, _ millis: Int64) {
        #expect(RFC3339.parse(text) == millis)
    }

    @Test(arguments: [
        "", "2026-11-24", "2026-11-24T21:00:00", "2026-13-01T00:00:00Z", "2026-02-29T00:00:00Z",
        "2026-11-24T24:00:00Z", "2026-11-24T21:00:00.Z", "2026-11-24T21:00:00Zjunk", "26-11-24T21:00:00Z",
    ])
    func rejectsMalformed(_ text: String) {
        #expect(RFC3339.parse(text) == nil)
    }

    @Test(arguments: [
        (Int64(0), "0s"), (999, "0s"), (45_000, "45s"), (60_000, "1m"), (192_000, "3m12s"),
        (11_520_000, "3h12m"), (7_200_000, "2h"), (187_200_000, "2d4h"), (-5000, "0s"),
    ])
    func shortElapsed(_ millis: Int64, _ text: String) {
        #expect(Elapsed.short(millis) == text)
    }
}
