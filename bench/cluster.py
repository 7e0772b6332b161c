#!/usr/bin/env python3
"""The cluster table's figures (DESIGN §9, issue 17), against a private PostgreSQL.

    python3 bench/cluster.py [--quick] [--reps N]

- restart latency with and without --cluster, in the same run: one daemon supervises a crash
  storm of 200 children (`sh -c 'sleep 1; exit 1'`, about 200 restarts/s) and, beside it, one
  job of one instance running a private copy of sleep (the marker). The C probe
  (`bench/.bin/probe restart MARKER K BUDGET_MS SETTLE_MS`, bench/benchlib/probe.py) kills
  the marker child with -9 K times and times each kill -> the new pid running the marker,
  from /proc. The modes alternate (cluster, plain, plain, cluster, ...) over --reps runs
  (default 3); p50/p99 per mode over every sample, and per run.
- mirror lag during that storm: LMDB event time -> its row committed in PostgreSQL
  (`director_events.mirrored_at - at`, the database's clock; one host, one clock), p50/p99
  over the storm's events from the start of the measurement (after the warm-up) to its end;
- `director ps --cluster` over 3 nodes x 1000 children, median wall time of 5 runs.

Also recorded: the load average before and after, the machine's CPU use during the storm
(/proc/stat: the storm must not saturate the machine, or the latencies measure the
scheduler), and the storm's restarts per second (from the daemon's table).

Writes bench/results/cluster.json and prints the figures. Needs the release `director`
(DIRECTOR_BENCH_BUILD: the directory holding it, default .build/release), the probe
(compiled here when missing) and PostgreSQL server binaries; the server is the tests' own
(Tests/DirectorClusterTests/Scripts/private-postgres.sh: a temporary directory, a Unix
socket only, stopped at the end).
"""
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
DIRECTOR = os.path.join(os.environ.get("DIRECTOR_BENCH_BUILD") or os.path.join(REPO, ".build", "release"), "director")
SCRIPT = os.path.join(REPO, "Tests", "DirectorClusterTests", "Scripts", "private-postgres.sh")
PROBE = os.path.join(HERE, ".bin", "probe")
SLEEP = shutil.which("sleep") or "/bin/sleep"


def pct(values, p):
    values = sorted(values)
    if not values:
        return float("nan")
    k = min(len(values) - 1, max(0, int(round(p / 100.0 * (len(values) - 1)))))
    return values[k]


def loadavg():
    return [float(x) for x in open("/proc/loadavg").read().split()[:3]]


def process_ticks(pid):
    """(own, own + reaped children) CPU ticks of PID: a daemon's reaped children are the storm."""
    try:
        f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    except OSError:
        return 0, 0
    own = int(f[11]) + int(f[12])
    return own, own + int(f[13]) + int(f[14])


def cpu_times():
    """(busy, total) jiffies of the whole machine."""
    fields = [int(x) for x in open("/proc/stat").readline().split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields) - idle, sum(fields)


class Server:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="director-pg-", dir="/tmp")
        subprocess.run(["sh", SCRIPT, "start", self.dir, str(os.getpid())], check=False)
        status = open(os.path.join(self.dir, "start.status")).read().strip() if os.path.exists(os.path.join(self.dir, "start.status")) else "1"
        if status != "0":
            why = open(os.path.join(self.dir, "start.out")).read() if os.path.exists(os.path.join(self.dir, "start.out")) else "?"
            shutil.rmtree(self.dir, ignore_errors=True)
            raise RuntimeError("no private PostgreSQL: " + why.strip())
        self.url = f"postgresql://director@/postgres?host={self.dir}"

    def sql(self, query):
        out = subprocess.run(["psql", "-h", self.dir, "-U", "director", "-d", "postgres", "-At", "-c", query],
                             capture_output=True, text=True, timeout=60)
        return out.stdout.strip()

    def stop(self):
        subprocess.run(["sh", SCRIPT, "stop", self.dir], check=False)


class Daemon:
    def __init__(self, root, name, manifest, cluster=None, node=None):
        self.dir = os.path.join(root, name)
        os.makedirs(os.path.join(self.dir, "jobs"))
        with open(os.path.join(self.dir, "jobs", "bench.yaml"), "w") as f:
            f.write(manifest)
        argv = [DIRECTOR, "run", "--jobs", os.path.join(self.dir, "jobs"), "--state", os.path.join(self.dir, "state"), "--no-watch"]
        if cluster:
            argv += ["--cluster", cluster, "--node", node]
        self.log = open(os.path.join(self.dir, "daemon.log"), "wb")
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=self.log, start_new_session=True, cwd=self.dir)

    def children(self):
        out = subprocess.run([DIRECTOR, "ps", "--json", "--state", os.path.join(self.dir, "state")], capture_output=True, text=True)
        try:
            return json.loads(out.stdout)
        except ValueError:
            return []

    def restarts(self):
        return sum(c.get("restarts", 0) for c in self.children())

    def stop(self):
        groups = {c.get("pgid") for c in self.children() if c.get("pgid")}
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for g in groups:
            try:
                os.killpg(g, signal.SIGKILL)
            except OSError:
                pass


def storm_manifest(n, marker):
    return ("group: storm\nintensity: 100000000\nperiod: 1s\njobs:\n"
            f"  - name: crash\n    command: [\"/bin/sh\", \"-c\", \"sleep 1; exit 1\"]\n    instances: {n}\n"
            f"  - name: probe\n    command: [{json.dumps(marker)}, \"3600\"]\n    instances: 1\n")


def probe(*args, timeout=600):
    out = subprocess.run([PROBE, *map(str, args)], capture_output=True, text=True, timeout=timeout)
    try:
        return json.loads(out.stdout)
    except ValueError:
        return {"error": (out.stdout + out.stderr).strip()[:200] or f"probe exit {out.returncode}"}


def storm_run(root, server, mode, rep, k, warmup_s):
    """One daemon with the storm and the marker job; returns this run's figures."""
    ws = os.path.join(root, f"run{rep}-{mode}")
    os.makedirs(ws)
    marker = os.path.join(ws, "sleep")
    shutil.copy2(SLEEP, marker)
    node = f"storm{rep}"
    d = Daemon(ws, "daemon", storm_manifest(200, marker), cluster=server.url if mode == "cluster" else None, node=node)
    run = {"mode": mode, "rep": rep}
    try:
        if probe("wait-running", marker, 1, 60000).get("reached_ns") is None:
            run["error"] = "the marker child never ran"
            return run
        time.sleep(warmup_s)  # the storm reaches its steady rate (the 200 first starts are done)
        t_db = server.sql("SELECT extract(epoch FROM clock_timestamp()) * 1000") if mode == "cluster" else None
        r0, c0, p0, t0 = d.restarts(), cpu_times(), process_ticks(d.proc.pid), time.monotonic()
        out = probe("restart", marker, k, 120000, 100)
        r1, c1, p1, t1 = d.restarts(), cpu_times(), process_ticks(d.proc.pid), time.monotonic()
        hz = os.sysconf("SC_CLK_TCK")
        run["storm restarts/s"] = round((r1 - r0) / (t1 - t0), 1)
        run["machine cpu busy %"] = round(100.0 * (c1[0] - c0[0]) / max(1, c1[1] - c0[1]), 1)
        # Of one core: the daemon alone, and with the storm's processes it reaped.
        run["daemon cpu %"] = round(100.0 * (p1[0] - p0[0]) / hz / (t1 - t0), 1)
        run["daemon and storm cpu %"] = round(100.0 * (p1[1] - p0[1]) / hz / (t1 - t0), 1)
        run["loadavg"] = loadavg()[0]
        if "error" in out or not out.get("count"):
            run["error"] = out.get("error", "no sample")
        else:
            run["samples_us"] = out["samples_us"]
            run["p50 ms"] = round(out["p50_us"] / 1000.0, 3)
            run["p99 ms"] = round(out["p99_us"] / 1000.0, 3)
            run["timeouts"] = out.get("timeouts", 0)
        if mode == "cluster":
            # What the mirror had sent by the end of the measurement (a second for the last batch).
            time.sleep(1)
            lags = [float(x) for x in server.sql(
                f"SELECT extract(epoch FROM mirrored_at - at) * 1000 FROM director_events "
                f"WHERE node = '{node}' AND extract(epoch FROM at) * 1000 >= {t_db}").split() if x]
            run["lags_ms"] = lags
    finally:
        d.stop()
    return run


def main():
    quick = "--quick" in sys.argv
    reps = int(sys.argv[sys.argv.index("--reps") + 1]) if "--reps" in sys.argv else 3
    if not os.access(DIRECTOR, os.X_OK):
        print(f"cluster bench: skipped: no release director at {DIRECTOR} (swift build -c release --product director)")
        return 0
    if not os.access(PROBE, os.X_OK):
        os.makedirs(os.path.dirname(PROBE), exist_ok=True)
        subprocess.run(["cc", "-O2", "-Wall", "-o", PROBE, os.path.join(HERE, "c", "probe.c")], check=True)
    try:
        server = Server()
    except RuntimeError as e:
        print(f"cluster bench: skipped: {e}")
        return 0
    root = tempfile.mkdtemp(prefix="director-cbench-", dir="/tmp")
    results = {"date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "director": DIRECTOR,
               "loadavg before": loadavg(), "quick": quick, "reps": reps}
    k = 20 if quick else 60
    runs = []
    try:
        # 1. The storm beside the marker job, with and without --cluster, alternating.
        for rep in range(reps):
            order = ["cluster", "plain"] if rep % 2 == 0 else ["plain", "cluster"]
            for mode in order:
                run = storm_run(root, server, mode, rep, k, warmup_s=3)
                runs.append(run)
                print(f"cluster: run {rep} {mode}: " + ", ".join(
                    f"{key} {v}" for key, v in run.items() if key not in ("samples_us", "lags_ms", "mode", "rep")), flush=True)
        for mode in ["cluster", "plain"]:
            samples = [s / 1000.0 for r in runs if r["mode"] == mode for s in r.get("samples_us", [])]
            results[f"restart latency {mode} p50 ms"] = round(pct(samples, 50), 3)
            results[f"restart latency {mode} p99 ms"] = round(pct(samples, 99), 3)
            results[f"restart latency {mode} samples"] = len(samples)
            results[f"restart latency {mode} p50 ms per run"] = [r.get("p50 ms") for r in runs if r["mode"] == mode]
            results[f"storm restarts/s {mode}"] = [r.get("storm restarts/s") for r in runs if r["mode"] == mode]
            for key in ("machine cpu busy %", "daemon cpu %", "daemon and storm cpu %"):
                results[f"{key} {mode}"] = [r.get(key) for r in runs if r["mode"] == mode]
        lags = [x for r in runs for x in r.get("lags_ms", [])]
        results["mirror lag p50 ms"] = round(pct(lags, 50), 1)
        results["mirror lag p99 ms"] = round(pct(lags, 99), 1)
        results["mirror lag events"] = len(lags)
        results["mirror lag p50 ms per run"] = [round(pct(r["lags_ms"], 50), 1) for r in runs if "lags_ms" in r]
        errors = [f"{r['mode']} {r['rep']}: {r['error']}" for r in runs if "error" in r]
        if errors:
            results["errors"] = errors
        # 2. ps --cluster over 3 nodes x 1000 children (the storm's stopped nodes removed first).
        server.sql("DELETE FROM director_children WHERE node LIKE 'storm%'; DELETE FROM director_nodes WHERE node LIKE 'storm%'")
        n = 200 if quick else 1000
        sleepers = "group: {g}\njobs:\n  - name: svc\n    command: [sleep, \"3600\"]\n    instances: " + str(n) + "\n"
        daemons = [Daemon(root, f"node{i}", sleepers.format(g=f"g{i}"), cluster=server.url, node=f"node{i}") for i in range(3)]
        try:
            deadline = time.time() + 300
            while time.time() < deadline:
                count = server.sql("SELECT count(*) FROM director_children WHERE node LIKE 'node%' AND record->>'state' = 'running'")
                if count == str(3 * n):
                    break
                time.sleep(1)
            times = []
            for _ in range(5):
                t0 = time.monotonic()
                out = subprocess.run([DIRECTOR, "ps", "--cluster", server.url], capture_output=True, text=True)
                times.append((time.monotonic() - t0) * 1000)
            results[f"ps --cluster 3 nodes x {n} children median ms"] = round(statistics.median(times), 1)
            results["ps --cluster rows"] = len(out.stdout.splitlines()) - 1
        finally:
            for d in daemons:
                d.stop()
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)
    results["loadavg after"] = loadavg()
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    with open(os.path.join(HERE, "results", "cluster.json"), "w") as f:
        json.dump({"summary": results, "runs": [{k2: v for k2, v in r.items() if k2 != "lags_ms"} for r in runs]}, f, indent=2)
    for key, v in results.items():
        print(f"cluster: {key}: {v}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
