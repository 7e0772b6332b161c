import Testing
@testable import DirectorManifest

/// `log: {stdout: false, stderr: false}`: streams that are not captured at all.
@Suite struct LogCaptureKeysTests {
    private func job(_ keys: String) throws -> JobSpec { try OneJob.load(keys) }
    private func errors(_ keys: String) -> [String] { OneJob.errors(keys) }

    @Test func falseTurnsCaptureOffPerStreamAndTrueOrAFilterKeepIt() throws {
        let off = try job("    log: {stdout: false, stderr: false}\n")
        #expect(!off.log.capturesStdout && !off.log.capturesStderr)
        let half = try job("    log: {stdout: true, stderr: {exclude: [\"^DEBUG\"]}}\n")
        #expect(half.log.capturesStdout && half.log.capturesStderr)
        #expect(half.log.stderr.exclude.map(\.source) == ["^DEBUG"])
        let plain = try job("")
        #expect(plain.log.capturesStdout && plain.log.capturesStderr)
    }

    @Test func anythingElseIsALocatedError() {
        #expect(errors("    log: {stdout: yes}\n") == ["t.yaml:4:19: jobs[0].log.stdout: expected true, false or {include, exclude}, got a string"])
        #expect(errors("    log: {stderr: \"false\"}\n") == ["t.yaml:4:19: jobs[0].log.stderr: expected true, false or {include, exclude}, got a string"])
    }

    @Test func captureIsAProcessKeyAndDefaultsKeepTheirHash() throws {
        let plain = try job("")
        // A job that does not mention it hashes as before the key existed.
        #expect(!plain.canonicalText.contains("captured="))
        #expect(try job("    log: {stdout: true}\n").stableHash == plain.stableHash)
        let off = try job("    log: {stdout: false}\n")
        #expect(off.stableHash != plain.stableHash)
        #expect(off.processDiffers(from: plain), "its fds 1 and 2 are fixed at spawn: a reload restarts it")
        // Filters stay policy: they apply in place.
        #expect(!(try job("    log: {stdout: {exclude: [x]}}\n")).processDiffers(from: plain))
    }
}
