import Testing
@testable import DirectorTable

@Test func placeholder_EndToEndTests() { #expect(Bool(true)) }
