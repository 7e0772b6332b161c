// `director-bench table [--director PATH]`: the state table's costs, as one JSON object.
//
// (a) Child-state updates per second through `LMDBTable.apply`, 1000 upserts per commit (one
//     busy event-loop turn), against the floor of a raw `mdb_put` loop of values of the same
//     sizes, 1000 per transaction.
// (b) `director ps --json` (and plain `ps`) over tables of 1 000 and 10 000 children, timed
//     as the real binary runs them, next to `mdb_dump -s children` of the same environment:
//     milliseconds per run, median of 5.

import DirectorTable
#if canImport(Glibc)
import Glibc
#endif

func benchTable(_ arguments: [String]) {
    var director = ".build/release/director"
    if let i = arguments.firstIndex(of: "--director"), i + 1 < arguments.count { director = arguments[i + 1] }
    guard access(director, X_OK) == 0 else {
        print("director-bench table: no director binary at \(director) (swift build -c release, or --director PATH)")
        exit(1)
    }
    let now = Int64(time(nil)) * 1000
    let writes = benchTableWrites(now: now)
    let reads = [1_000, 10_000].map { benchPs(children: $0, director: director, now: now) }
    let result = JSONValue.object([
        ("table_writes", writes),
        ("ps", .array(reads)),
        ("runs", .int(5)), ("statistic", .string("median")),
    ])
    print(result.serialized())
}

/// (a): LMDBTable batched upserts vs. raw puts.
func benchTableWrites(now: UnixMillis) -> JSONValue {
    let children = 1_000, batch = 1_000, total = 200_000
    let scratch = ScratchState()
    defer { scratch.remove() }
    let table: LMDBTable
    do { table = try LMDBTable(stateDirectory: scratch.path) } catch { fatalError(error.message) }
    var changes: [TableChange] = []
    changes.reserveCapacity(batch)
    var written = 0
    let clock = ContinuousClock()
    let elapsed = clock.measure {
        while written < total {
            changes.removeAll(keepingCapacity: true)
            for i in 0..<batch {
                let n = written + i
                changes.append(.upsertChild(BenchRecords.child(n % children, restarts: n / children, now: now + Int64(n))))
            }
            do { try table.apply(changes) } catch { fatalError("\(error)") }
            written += batch
        }
    }
    let tableRate = Double(written) / seconds(elapsed)

    // The same keys and value sizes, encoded once up front.
    let keys = (0..<children).map { "bench/pool/\($0)" }
    let values = (0..<children).map { Array(BenchRecords.child($0, restarts: 3, now: now).json.serialized().utf8) }
    let raw = ScratchState()
    defer { raw.remove() }
    mkdir(raw.table, 0o700)
    let rawRate = RawLMDB.putsPerSecond(path: raw.table, keys: keys, values: values, batch: batch, total: total)
    let averageBytes = values.map(\.count).reduce(0, +) / values.count
    return .object([
        ("children", .int(Int64(children))), ("batch", .int(Int64(batch))), ("updates", .int(Int64(total))),
        ("durability", .string("MDB_NOMETASYNC")), ("value_bytes_avg", .int(Int64(averageBytes))),
        ("lmdbtable_updates_per_s", .int(Int64(tableRate))), ("raw_lmdb_puts_per_s", .int(Int64(rawRate))),
        ("lmdbtable_vs_raw", .double((tableRate / rawRate * 100).rounded() / 100)),
    ])
}

/// (b): the CLI and mdb_dump over a table of `children` children.
func benchPs(children: Int, director: String, now: UnixMillis) -> JSONValue {
    let scratch = ScratchState()
    defer { scratch.remove() }
    do {
        let table = try LMDBTable(stateDirectory: scratch.path)
        try BenchRecords.populate(table, children: children, now: now)
    } catch { fatalError("populate: \(error)") }
    func ms(_ argv: [String]) -> JSONValue {
        guard let times = CommandTimer.milliseconds(argv, runs: 5) else { return .null }
        return .double((median(times) * 10).rounded() / 10)
    }
    let dump = CommandTimer.which("mdb_dump").map { ms([$0, "-s", "children", scratch.table]) } ?? .null
    return .object([
        ("children", .int(Int64(children))),
        ("director_ps_json_ms", ms([director, "ps", "--json", "--state", scratch.path])),
        ("director_ps_ms", ms([director, "ps", "--state", scratch.path])),
        ("mdb_dump_children_ms", dump),
    ])
}
