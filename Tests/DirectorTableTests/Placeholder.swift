import Testing
@testable import DirectorTable

@Test func placeholder_DirectorTableTests() { #expect(Bool(true)) }
