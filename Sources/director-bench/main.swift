// Release-mode benchmarks: `swift run -c release director-bench engine|table`.
//
// `engine`: 10 000 children (10 groups × a pool of 1 000), then 100 000 exits, each
// answered by the runtime's `.started` for the restart. Prints exit events per second.
//
// `table [--director PATH]`: the state table's write throughput and the cost of `director ps`
// (TableBench.swift); prints one JSON object.

import DirectorCore
import DirectorManifest

func benchEngine() {
    let groups = (0..<10).map { g in
        GroupSpec(
            name: "g\(g)", strategy: .oneForOne, intensity: 1_000_000, period: .seconds(1),
            children: [.job(JobSpec(name: "pool", command: .argv(["/bin/worker", "{{instance}}"]), instances: 1_000))])
    }
    var engine = Engine(manifest: Manifest(groups: groups), seed: 42)
    var now = Instant.zero
    var pids: [ChildID: Int32] = [:]
    var nextPid: Int32 = 1

    func acknowledge(_ effects: [Effect]) -> [ChildID] {
        effects.compactMap { if case .spawn(let launch) = $0 { launch.id } else { nil } }
    }
    for id in acknowledge(engine.start(at: now)) {
        nextPid += 1
        pids[id] = nextPid
        _ = engine.handle(.started(id, pid: nextPid), at: now)
    }
    let ids = engine.children.map(\.id)
    precondition(ids.count == 10_000, "expected 10 000 children")

    let exits = 100_000
    var effectCount = 0
    let clock = ContinuousClock()
    let elapsed = clock.measure {
        for n in 0..<exits {
            let id = ids[(n &* 7_919) % ids.count]
            now = now + .milliseconds(1)
            let effects = engine.handle(.exited(id, pid: pids[id]!, status: .code(1)), at: now)
            effectCount += effects.count
            for spawned in acknowledge(effects) {
                nextPid &+= 1
                pids[spawned] = nextPid
                effectCount += engine.handle(.started(spawned, pid: nextPid), at: now).count
            }
        }
    }
    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    let rate = Int(Double(exits) / seconds)
    print("engine: \(exits) exits over \(ids.count) children in \(String(seconds)) s")
    print("engine: \(rate) exit events/s (each also answered with .started), \(effectCount) effects")
    // The last line is JSON for bench/bench.py.
    print("{\"events_per_second\":\(rate),\"children\":\(ids.count),\"exits\":\(exits)}")
}

let args = CommandLine.arguments.dropFirst()
switch args.first ?? "engine" {
case "engine": benchEngine()
case "table": benchTable(Array(args.dropFirst()))
default:
    print("usage: director-bench engine | table [--director PATH]")
}
