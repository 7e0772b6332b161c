#!/usr/bin/env python3
"""The cluster table's figures (DESIGN §9, issue 17), against a private PostgreSQL.

    python3 bench/cluster.py [--quick]

- mirror lag: LMDB event time -> its row committed in PostgreSQL (`director_events.mirrored_at`,
  the database's clock; one host, one clock), p50/p99, during a crash storm of 200 children;
- restart latency of a crashing child with and without --cluster in the same run: the child
  writes a timestamp (ns) just before it exits and the next instance one as it starts;
- `director ps --cluster` over 3 nodes x 1000 children, median wall time of 5 runs.

Writes bench/results/cluster.json and prints a table. Needs the release `director` and
PostgreSQL server binaries; the server is the tests' own (Tests/DirectorClusterTests/Scripts/
private-postgres.sh: a temporary directory, a Unix socket only, stopped at the end).
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


def pct(values, p):
    values = sorted(values)
    if not values:
        return float("nan")
    k = min(len(values) - 1, max(0, int(round(p / 100.0 * (len(values) - 1)))))
    return values[k]


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
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=self.log, start_new_session=True)

    def children(self):
        out = subprocess.run([DIRECTOR, "ps", "--json", "--state", os.path.join(self.dir, "state")], capture_output=True, text=True)
        try:
            return json.loads(out.stdout)
        except ValueError:
            return []

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


def storm_manifest(n, stamp_dir=None):
    stamp = f'echo "$(date +%s%N) start" >> {stamp_dir}/$(echo $DIRECTOR_ID | tr / _); sleep 0.2; echo "$(date +%s%N) end" >> {stamp_dir}/$(echo $DIRECTOR_ID | tr / _); exit 1' \
        if stamp_dir else "sleep 0.2; exit 1"
    return ("group: storm\nintensity: 100000000\nperiod: 1s\njobs:\n  - name: crash\n"
            f"    command: [\"/bin/sh\", \"-c\", {json.dumps(stamp)}]\n    instances: {n}\n")


def restart_gaps(stamp_dir):
    gaps = []
    for name in os.listdir(stamp_dir):
        last_end = None
        for line in open(os.path.join(stamp_dir, name)):
            parts = line.split()
            if len(parts) != 2:
                continue
            t, what = int(parts[0]), parts[1]
            if what == "start" and last_end is not None:
                gaps.append((t - last_end) / 1e6)
            if what == "end":
                last_end = t
    return gaps


def main():
    quick = "--quick" in sys.argv
    if not os.access(DIRECTOR, os.X_OK):
        print("cluster bench: skipped: no release director (swift build -c release)")
        return 0
    try:
        server = Server()
    except RuntimeError as e:
        print(f"cluster bench: skipped: {e}")
        return 0
    root = tempfile.mkdtemp(prefix="director-cbench-", dir="/tmp")
    results = {"date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "loadavg": open("/proc/loadavg").read().split()[:3], "quick": quick}
    storm_s = 5 if quick else 20
    try:
        # 1. Mirror lag during a storm of 200 children, and restart latency with --cluster.
        # 2. The same storm without --cluster: restart latency, same run.
        for mode in ["cluster", "plain"]:
            stamps = os.path.join(root, f"stamps-{mode}")
            os.makedirs(stamps)
            d = Daemon(root, f"storm-{mode}", storm_manifest(200, stamps),
                       cluster=server.url if mode == "cluster" else None, node="storm")
            time.sleep(storm_s)
            d.stop()
            gaps = restart_gaps(stamps)
            results[f"restart latency {mode} p50 ms"] = round(pct(gaps, 50), 2)
            results[f"restart latency {mode} p99 ms"] = round(pct(gaps, 99), 2)
            results[f"restarts {mode}"] = len(gaps)
        lags = [float(x) for x in server.sql(
            "SELECT extract(epoch FROM mirrored_at - at) * 1000 FROM director_events WHERE node = 'storm'").split() if x]
        results["mirror lag p50 ms"] = round(pct(lags, 50), 1)
        results["mirror lag p99 ms"] = round(pct(lags, 99), 1)
        results["mirror lag events"] = len(lags)
        # 3. ps --cluster over 3 nodes x 1000 children.
        n = 200 if quick else 1000
        sleepers = "group: {g}\njobs:\n  - name: svc\n    command: [sleep, \"3600\"]\n    instances: " + str(n) + "\n"
        daemons = [Daemon(root, f"node{i}", sleepers.format(g=f"g{i}"), cluster=server.url, node=f"node{i}") for i in range(3)]
        deadline = time.time() + 180
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
        for d in daemons:
            d.stop()
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    with open(os.path.join(HERE, "results", "cluster.json"), "w") as f:
        json.dump(results, f, indent=2)
    for k, v in results.items():
        print(f"cluster: {k}: {v}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
