#if canImport(Glibc)
import Glibc
#endif
import DirectorCore
import DirectorTable
import Testing
@testable import DirectorRuntime

@Suite struct DaemonLockTests {
    @Test func aSecondDaemonIsRefusedWithTheHoldersPid() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let first = try DaemonLock(stateDirectory: dir.path)
        #expect(ProcStat.readSmallFile(first.path) == "\(getpid())\n")
        do {
            _ = try DaemonLock(stateDirectory: dir.path)
            Issue.record("took a held lock")
        } catch {
            #expect(error.code == .lockHeld)
            #expect(error.message == "another director daemon (pid \(getpid())) is running for state directory \(dir.path)")
        }
        first.release()
        let second = try DaemonLock(stateDirectory: dir.path)
        second.release()
    }
}

@Suite struct DaemonLogTests {
    @Test(arguments: [
        (Int64(0), "1970-01-01T00:00:00.000Z"),
        (1_795_554_000_123, "2026-11-24T21:00:00.123Z"),
        (951_782_400_000, "2000-02-29T00:00:00.000Z"),
        (4_107_587_696_007, "2100-03-01T12:34:56.007Z"),
        (-1, "1969-12-31T23:59:59.999Z"),
    ])
    func rfc3339(ms: Int64, text: String) {
        #expect(RFC3339.format(ms) == text)
    }

    @Test func textAndJSONLines() throws {
        let text = DaemonLog(format: .text, clock: { 1_795_554_000_123 })
        #expect(text.line(.info, id: "web/api/0", "started pid=123") == "2026-11-24T21:00:00.123Z info web/api/0 started pid=123")
        #expect(text.line(.error, id: "", "cannot read jobs") == "2026-11-24T21:00:00.123Z error cannot read jobs")
        let json = DaemonLog(format: .json, clock: { 1_795_554_000_123 })
        let line = json.line(.warning, id: "web/api/0", "exited \"code=1\"")
        #expect(line == #"{"at":"2026-11-24T21:00:00.123Z","level":"warning","id":"web/api/0","msg":"exited \"code=1\""}"#)
        #expect(try JSONValue.parse(line)["msg"]?.stringValue == "exited \"code=1\"")
    }

    /// Events as data (issue 13): JSON lines carry the engine's structured fields, the
    /// level comes from its severity, never from the text.
    @Test func jsonLinesCarryTheEventsFields() throws {
        let event = EventRecord(
            subject: "web/api/0", kind: .exit, detail: "pid=12 signal=TERM", severity: .info,
            fields: EventFields(pid: 12, status: .signal(.term), cause: .signal, requested: true))
        let json = DaemonLog(format: .json, clock: { 0 })
        let line = try JSONValue.parse(json.line(.info, id: event.subject, "exited", fields: EventWording.fields(event)))
        #expect(line["kind"]?.stringValue == "exit")
        #expect(line["pid"]?.intValue == 12)
        #expect(line["signal"]?.stringValue == "TERM")
        #expect(line["cause"]?.stringValue == "signal")
        #expect(line["requested"]?.boolValue == true)
        #expect(line["code"] == nil)
        let restart = EventRecord(
            subject: "web/api/0", kind: .restart, detail: "", fields: EventFields(restarts: 2, delay: .milliseconds(1500), ruleIndex: 1))
        let fields = Dictionary(uniqueKeysWithValues: EventWording.fields(restart).map { ($0.0, $0.1) })
        #expect(fields["restarts"] == .int(2) && fields["delay_ms"] == .int(1500) && fields["rule"] == .int(1))
    }

    @Test func linesAreWrittenToTheFd() throws {
        let fds = try FileDescriptors.outputPipe()
        defer { close(fds.read); close(fds.write) }
        DaemonLog(format: .text, fd: fds.write, clock: { 0 }).log(.info, id: "a/b/0", "hello")
        #expect(readAll(fds.read, seconds: 1) == "1970-01-01T00:00:00.000Z info a/b/0 hello\n")
    }
}
