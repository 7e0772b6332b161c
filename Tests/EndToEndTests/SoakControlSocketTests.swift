import DirectorCore
import Foundation
import Testing

/// `make soak`: thousands of seeded hostile requests against one live daemon — random bytes,
/// valid requests with bytes flipped, cut or repeated — while a well-behaved client is served
/// after every batch.
@Suite(.serialized, .enabled(if: soakEnabled)) struct SoakControlSocketTests {
    static let valid = [
        #"{"op":"restart","ids":["calm/sleeper/0"]}"#, #"{"op":"stop","ids":["nope"]}"#,
        #"{"op":"scale","job":"calm/sleeper","instances":1}"#, #"{"op":"delete","ids":["x/y/0"]}"#,
        #"{"op":"restart","ids":[]}"#,
    ]

    /// One hostile line from `random`: a mutated valid request or raw bytes.
    static func hostileLine(_ random: inout SplitMix64) -> [UInt8] {
        var bytes = Array(valid[random.within(0...(valid.count - 1))].utf8)
        switch random.within(0...4) {
        case 0:  // flip bytes
            for _ in 0..<random.within(1...8) {
                bytes[random.within(0...(bytes.count - 1))] = UInt8(truncatingIfNeeded: random.next())
            }
        case 1:  // cut
            bytes = Array(bytes.prefix(random.within(1...(bytes.count - 1))))
        case 2:  // repeat a slice
            let start = random.within(0...(bytes.count - 1))
            let slice = bytes[start...]
            for _ in 0..<random.within(1...200) { bytes += slice }
        case 3:  // deep nesting
            let depth = random.within(1...5000)
            bytes = Array(repeating: UInt8(ascii: "["), count: depth) + Array(repeating: UInt8(ascii: "]"), count: depth)
        default:  // raw bytes
            bytes = (0..<random.within(1...4096)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
        }
        return bytes.filter { $0 != 0x0A } + [0x0A]
    }

    @Test func twentyThousandSeededHostileLines() throws {
        let seed = UInt64(ProcessInfo.processInfo.environment["DIRECTOR_SOAK_SEED"] ?? "") ?? 5
        var random = SplitMix64(seed: seed)
        let d = try FaultControlSocketTests.daemon()
        defer { d.stop(); ProcScan.killAll(marker: d.marker) }
        for batch in 0..<200 {
            let client = try RawControlClient(state: d.state)
            for _ in 0..<100 {
                guard client.send(Self.hostileLine(&random)) else { break }
                // Read what comes back so the client is not dropped for not reading; a reply
                // that is not a JSON error object would be a bug (valid mutations may succeed).
                if let reply = client.readLine(timeout: 10) {
                    #expect(reply.hasPrefix(#"{"ok":"#), "batch \(batch), seed \(seed): \(reply.prefix(200))")
                } else {
                    break  // closed after a line that was too long: a new client next batch
                }
            }
            FaultControlSocketTests.expectServed(d, "batch \(batch), seed \(seed)")
        }
    }
}
