import Testing
@testable import DirectorManifest

@Test func placeholder_DirectorManifestTests() { #expect(Bool(true)) }
