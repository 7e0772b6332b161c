import DirectorCore
import Foundation
import Testing

/// Hostile clients on the control socket of a live daemon: each gets an error reply or is
/// dropped, and another client is served all along.
@Suite(.serialized) struct FaultControlSocketTests {
    static func daemon() throws -> DaemonHarness {
        let d = try DaemonHarness(files: [:])
        try d.write("calm.yaml", """
            group: calm
            jobs:
              - name: sleeper
                command: ["sleep", "3600"]
                env: {FAULT_RUN: "\(d.dir.path)"}
            """)
        try d.start()
        try d.waitRunning(1)
        return d
    }

    /// The well-behaved client: a harmless request is answered.
    static func expectServed(_ d: DaemonHarness, _ context: String) {
        let probe = RawControlClient.probe(state: d.state, timeout: 10)
        #expect(probe?.reply.contains("not_found") == true, "another client must be served (\(context))")
        #expect(d.runningDaemonPID != nil, "the daemon is alive (\(context))")
    }

    @Test func seededRandomBytesGetErrorRepliesAndNeverStopTheDaemon() throws {
        let d = try Self.daemon()
        defer { d.stop(); ProcScan.killAll(marker: d.marker) }
        var random = SplitMix64(seed: 8)
        for round in 0..<30 {
            let client = try RawControlClient(state: d.state)
            let length = random.within(1...20_000)
            var bytes = (0..<length).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            bytes.append(0x0A)
            _ = client.send(bytes)
            // Every complete line is either answered with an error or (for a blank line) skipped.
            if let reply = client.readLine(timeout: 10) {
                #expect(reply.hasPrefix(#"{"ok":false"#), "round \(round): \(reply.prefix(200))")
            }
            Self.expectServed(d, "random bytes round \(round)")
        }
    }

    @Test func deeplyNestedJSONIsRejectedWithoutExhaustingTheStack() throws {
        let d = try Self.daemon()
        defer { d.stop(); ProcScan.killAll(marker: d.marker) }
        let client = try RawControlClient(state: d.state)
        let depth = 200_000
        _ = client.send(String(repeating: "[", count: depth) + String(repeating: "]", count: depth) + "\n")
        let reply = client.readLine(timeout: 10)
        #expect(reply?.contains("bad_json") == true, "\(reply ?? "no reply")")
        Self.expectServed(d, "after deeply nested JSON")
    }

    /// JSON leaves duplicate keys undefined; today's daemon took the first `op` of
    /// `{"op":"shutdown","op":"restart",...}` and shut down. Now: `bad_json`, nothing done.
    @Test func duplicateKeysAndNonFiniteNumbersAreRefusedAndNothingIsDone() throws {
        let d = try Self.daemon()
        defer { d.stop(); ProcScan.killAll(marker: d.marker) }
        let before = d.pids(try d.children())
        let client = try RawControlClient(state: d.state)
        let lines = [
            #"{"op":"shutdown","op":"restart","ids":["calm/sleeper/0"]}"#,
            #"{"op":"restart","ids":["calm/sleeper/0"],"ids":["calm/nope/0"]}"#,
            #"{"op":"scale","job":"calm/sleeper","instances":1e999}"#,
        ]
        for line in lines {
            _ = client.send(line + "\n")
            let reply = client.readLine(timeout: 10)
            #expect(reply?.hasPrefix(#"{"ok":false,"error":{"code":"bad_json""#) == true, "\(line) -> \(reply ?? "no reply")")
        }
        #expect(client.readLine(timeout: 1) == nil, "one reply per line")
        usleep(500_000)
        #expect(d.runningDaemonPID != nil, "the daemon did not shut down")
        #expect(d.pids(try d.children()) == before, "nothing was restarted or scaled")
        Self.expectServed(d, "after duplicate keys")
    }

    @Test func hugeLineIsRefusedAndTheConnectionClosed() throws {
        let d = try Self.daemon()
        defer { d.stop(); ProcScan.killAll(marker: d.marker) }
        let client = try RawControlClient(state: d.state)
        // 3 MiB without a newline: the daemon refuses after its 1 MiB limit (our later sends
        // may fail once it closed; that is the point).
        let chunk = [UInt8](repeating: UInt8(ascii: "a"), count: 64 << 10)
        for _ in 0..<48 { if !client.send(chunk) { break } }
        let reply = client.readLine(timeout: 10)
        #expect(reply?.contains("line_too_long") == true, "\(reply ?? "no reply")")
        Self.expectServed(d, "after a huge line")
    }

    @Test func halfWrittenJSONThenCloseOrSilenceBlocksNobody() throws {
        let d = try Self.daemon()
        defer { d.stop(); ProcScan.killAll(marker: d.marker) }
        // One client leaves half a request hanging and stays connected.
        let silent = try RawControlClient(state: d.state)
        _ = silent.send(#"{"op":"restart","ids":["calm/slee"#)
        Self.expectServed(d, "while a client sits on half a request")
        // Others write half a request and vanish, some half-closing first.
        for i in 0..<20 {
            let c = try RawControlClient(state: d.state)
            _ = c.send(#"{"op":"stop","ids":[""#)
            if i % 2 == 0 { c.finishSending(); _ = c.readLine(timeout: 5) }
        }
        Self.expectServed(d, "after half-written requests")
        // The half request was never completed: nothing was stopped.
        #expect(try d.children().first?.state == "running")
        // Completing the silent client's request later still works, in order.
        _ = silent.send(#"per/0"]}"# + "\n")
        #expect(silent.readLine(timeout: 10)?.contains(#""ok":true"#) == true)
    }

    @Test func clientThatNeverReadsIsDroppedWhileOthersAreServed() throws {
        let d = try Self.daemon()
        defer { d.stop(); ProcScan.killAll(marker: d.marker) }
        let probe = ResponsivenessProbe(state: d.state)
        let flooder = try RawControlClient(state: d.state)
        let request = Array((#"{"op":"restart","ids":["nope"]}"# + "\n").utf8)
        var batch: [UInt8] = []
        for _ in 0..<1000 { batch += request }
        var sentBatches = 0
        // 50 000 requests, never reading a reply: the daemon drops the client after 1 MiB of
        // unread replies, and the send fails (or the socket timeout of 10 s trips).
        while sentBatches < 50, flooder.send(batch) { sentBatches += 1 }
        let result = probe.finish()
        print("fault: never-reading client: sent \(sentBatches)k requests, control max round trip \(result.maxSeconds) s")
        #expect(sentBatches < 50, "the daemon drops a client that never reads")
        #expect(result.missed == 0)
        Self.expectServed(d, "after the flood")
    }

    @Test func idleClientsNeverLockTheOperatorOut() throws {
        let d = try Self.daemon()
        defer { d.stop(); ProcScan.killAll(marker: d.marker) }
        var crowd: [RawControlClient] = []
        for _ in 0..<200 { if let c = try? RawControlClient(state: d.state) { crowd.append(c) } }
        #expect(crowd.count > 128)
        // 200 idle connections hold every slot: the operator is still served (the oldest idle
        // connections make room), with the real answer rather than a closed connection.
        let r = try d.cli("restart", ["fault-probe/nope"])
        #expect(r.status == 1)
        #expect(r.stderr.contains("fault-probe/nope"), "\(r.stderr)")
        #expect(!r.stderr.contains("closed the connection"), "\(r.stderr)")
        #expect(RawControlClient.probe(state: d.state, timeout: 2)?.reply.contains("not_found") == true)
        crowd.removeAll()
    }
}
