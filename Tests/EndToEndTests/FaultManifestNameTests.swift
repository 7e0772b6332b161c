import Foundation
import Testing

/// Manifest file names are bytes on Linux: one that is not UTF-8 is an error naming the file
/// (escaped) in `validate` and at reload, never a group silently left out.
@Suite struct FaultManifestNameTests {
    @Test func aManifestWhoseNameIsNotUTF8IsAnErrorNamingIt() throws {
        let d = try DaemonHarness(files: [:])
        defer { d.stop(); ProcScan.killAll(marker: d.marker) }
        try d.write("calm.yaml", FaultLimitTests.calm(d))
        try d.start(["--no-watch"])
        let before = d.pids(try d.waitRunning(3))
        // Today's loader repaired the name to U+FFFD, found no such file and skipped it.
        let name = Array((d.jobs + "/extra").utf8) + [0xFF] + Array(".yaml".utf8)
        let text = Array("jobs:\n  - name: x\n    command: [\"sleep\", \"3600\"]\n".utf8)
        let fd = (name + [0]).map { CChar(bitPattern: $0) }.withUnsafeBufferPointer {
            open($0.baseAddress!, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        }
        try #require(fd >= 0)
        #expect(text.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) } == text.count)
        close(fd)
        let expected = d.jobs + "/extra\\xff.yaml:1:1: the file name is not valid UTF-8; rename the file"

        let v = try DirectorBinary.run(["validate", "--jobs", d.jobs])
        #expect(v.status == 1, "validate skipped the file: \(v.stdout)")
        #expect(v.stderr == expected + "\n", "\(v.stderr)")
        let r = try d.cli("reload")
        #expect(r.status == 1, "reload skipped the file: \(r.stdout)")
        #expect(r.stderr.hasPrefix(expected + "\n"), "\(r.stderr)")
        #expect(d.daemonStderr.contains(expected), "the daemon logs it")
        #expect(d.pids(try d.children()) == before, "nothing changed")
    }
}
