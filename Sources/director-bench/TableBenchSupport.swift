// Helpers of the `table` benchmark: records like the daemon writes, a raw LMDB put loop for
// the floor, timing of external commands, a scratch directory.

import CLMDB
import DirectorTable
#if canImport(Glibc)
import Glibc
#endif

/// Child records shaped like a busy daemon's: pid, start ticks, a last exit, a spec hash.
enum BenchRecords {
    /// Child `n` of a pool (`bench/pool/n`) after its `restarts`-th restart.
    static func child(_ n: Int, restarts: Int, now: UnixMillis) -> ChildRecord {
        let pid = Int32(100_000 + n % 900_000)
        return ChildRecord(
            id: "bench/pool/\(n)", group: "bench", job: "pool", instance: n, state: .running, pid: pid, pgid: pid,
            startTicks: UInt64(4_000_000 + n), startedAt: now - 1_000, restarts: restarts,
            lastExit: .init(.signal("KILL"), at: now - 1_200, cause: .signal), nextRestartAt: nil, specHash: "0123456789abcdef",
            updatedAt: now)
    }

    /// A table like a daemon's with `children` children in one pool.
    static func populate(_ table: LMDBTable, children: Int, now: UnixMillis) throws {
        var changes: [TableChange] = [
            .upsertGroup(GroupRecord(path: "", strategy: .oneForOne, intensity: 3, periodMillis: 60_000, state: .running)),
            .upsertGroup(GroupRecord(path: "bench", strategy: .oneForOne, intensity: 5, periodMillis: 30_000, state: .running)),
            .putSpec(jobKey: "bench/pool", spec: .object([
                ("name", .string("pool")), ("command", .array([.string("sleep"), .string("3600")])),
                ("instances", .int(Int64(children))),
            ])),
            .setDaemon(DaemonInfo(pid: getpid(), startedAt: now, jobs: "/bench/jobs", version: "bench")),
        ]
        for n in 0..<children {
            changes.append(.upsertChild(child(n, restarts: n % 7, now: now)))
            changes.append(.appendEvent(NewEvent(at: now, id: "bench/pool/\(n)", kind: "start", detail: "pid=\(n)")))
        }
        try table.apply(changes)
    }
}

/// The floor under LMDBTable: `mdb_put` of ready-made values in one transaction per batch,
/// with the daemon's flags (`MDB_NOTLS | MDB_NOMETASYNC`) and no JSON encoding at all.
enum RawLMDB {
    /// Puts `values` (key i → values[i % count]) `total` times, `batch` per transaction;
    /// returns puts per second.
    static func putsPerSecond(path: String, keys: [String], values: [[UInt8]], batch: Int, total: Int) -> Double {
        var env: OpaquePointer?
        must(mdb_env_create(&env), "env_create")
        must(mdb_env_set_maxdbs(env, 8), "set_maxdbs")
        must(mdb_env_set_mapsize(env, 256 << 20), "set_mapsize")
        must(mdb_env_open(env, path, UInt32(MDB_NOTLS | MDB_NOMETASYNC), 0o600), "env_open")
        defer { mdb_env_close(env) }
        var dbi = MDB_dbi()
        var txn: OpaquePointer?
        must(mdb_txn_begin(env, nil, 0, &txn), "txn_begin")
        must(mdb_dbi_open(txn, "children", UInt32(MDB_CREATE), &dbi), "dbi_open")
        must(mdb_txn_commit(txn), "commit")

        let clock = ContinuousClock()
        var written = 0
        let elapsed = clock.measure {
            while written < total {
                must(mdb_txn_begin(env, nil, 0, &txn), "txn_begin")
                for i in 0..<batch {
                    let n = (written + i) % keys.count
                    var key = keys[n]
                    var value = values[n % values.count]
                    key.withUTF8 { k in
                        value.withUnsafeMutableBytes { v in
                            var kv = MDB_val(mv_size: k.count, mv_data: UnsafeMutableRawPointer(mutating: k.baseAddress))
                            var vv = MDB_val(mv_size: v.count, mv_data: v.baseAddress)
                            must(mdb_put(txn, dbi, &kv, &vv, 0), "put")
                        }
                    }
                }
                must(mdb_txn_commit(txn), "commit")
                written += batch
            }
        }
        return Double(written) / seconds(elapsed)
    }

    private static func must(_ rc: Int32, _ what: String) {
        guard rc != 0 else { return }
        fatalError("raw LMDB \(what): \(String(cString: mdb_strerror(rc)))")
    }
}

/// Runs an external command with its output discarded, and times it.
enum CommandTimer {
    /// Milliseconds of each of `runs` runs of `argv` (after one warm-up run); nil when the
    /// command cannot be started or exits non-zero.
    static func milliseconds(_ argv: [String], runs: Int) -> [Double]? {
        guard run(argv) else { return nil }
        var times: [Double] = []
        let clock = ContinuousClock()
        for _ in 0..<runs {
            var ok = false
            let elapsed = clock.measure { ok = run(argv) }
            guard ok else { return nil }
            times.append(seconds(elapsed) * 1000)
        }
        return times
    }

    /// posix_spawn with stdout and stderr on /dev/null; true when it exited 0.
    static func run(_ argv: [String]) -> Bool {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        var cArgs = argv.map { strdup($0) } + [nil]
        defer { for p in cArgs { free(p) } }
        var pid: pid_t = 0
        guard posix_spawn(&pid, argv[0], &actions, nil, &cArgs, environ) == 0 else { return false }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        return status == 0
    }

    /// The absolute path of `name` on the PATH, or nil.
    static func which(_ name: String) -> String? {
        let path = getenv("PATH").map { String(cString: $0) } ?? "/usr/bin:/bin"
        for dir in path.split(separator: ":") where access("\(dir)/\(name)", X_OK) == 0 {
            return "\(dir)/\(name)"
        }
        return nil
    }
}

/// A state directory under /tmp, removed by `remove()` (it holds only `table/`).
struct ScratchState {
    let path: String

    init() {
        var template = Array("/tmp/director-bench-XXXXXX".utf8CString)
        guard let p = mkdtemp(&template) else { fatalError("mkdtemp: \(String(cString: strerror(errno)))") }
        path = String(cString: p)
    }

    var table: String { path + "/table" }

    func remove() {
        for file in ["data.mdb", "lock.mdb"] { unlink(table + "/" + file) }
        rmdir(table)
        rmdir(path)
    }
}

func seconds(_ d: Duration) -> Double {
    Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
}

func median(_ xs: [Double]) -> Double {
    let s = xs.sorted()
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}
