import Testing
@testable import DirectorCore

@Test func placeholder_DirectorCoreTests() { #expect(Bool(true)) }
