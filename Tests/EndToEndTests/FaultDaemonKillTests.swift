import DirectorCore
import Foundation
import Testing

/// The supervisor is killed with SIGKILL mid-storm and started again: the table opens, the
/// dead daemon's process groups are terminated, every child runs exactly once and no event
/// sequence number is reused.
@Suite(.serialized) struct FaultDaemonKillTests {
    @Test func killNineDuringACrashStormThenRestartRunsEveryChildExactlyOnce() throws {
        let d = try DaemonHarness(files: [:])
        try d.write("storm.yaml", CrashStorm.manifest(d.dir.path))
        defer {
            d.stop()
            ProcScan.killAll(marker: d.marker)
        }
        try d.start()
        try CrashStorm.killAndRecover(d, stormMillis: 500)
        #expect(d.daemonStderr.contains("left by a previous daemon"), "the restart reports the leftovers it terminated")
    }
}

/// `make soak`: the same kill -9 at 20 seeded random moments of the storm.
@Suite(.serialized, .enabled(if: soakEnabled)) struct SoakDaemonKillTests {
    @Test func killNineAtTwentySeededRandomMoments() throws {
        let seed = UInt64(ProcessInfo.processInfo.environment["DIRECTOR_SOAK_SEED"] ?? "") ?? 20_261_124
        var random = SplitMix64(seed: seed)
        let d = try DaemonHarness(files: [:])
        try d.write("storm.yaml", CrashStorm.manifest(d.dir.path))
        defer {
            d.stop()
            ProcScan.killAll(marker: d.marker)
        }
        try d.start()
        for round in 0..<20 {
            let moment = random.within(0...2000)
            // Printed so a failing round can be replayed with DIRECTOR_SOAK_SEED.
            print("soak kill -9: round \(round) seed \(seed) moment \(moment) ms")
            try CrashStorm.killAndRecover(d, stormMillis: moment)
        }
    }
}
