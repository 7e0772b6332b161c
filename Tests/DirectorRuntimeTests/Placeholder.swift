import Testing
@testable import DirectorRuntime

@Test func placeholder_DirectorRuntimeTests() { #expect(Bool(true)) }
