"""Director: the common figures through the Tool interface, plus the Director-only figures.

Director is launched as `director run --jobs J --state S --no-watch` with cwd inside the
workspace; its children are found by the marker like every peer's. Every figure is skipped with
the daemon's own message when `director run` does not start children (not built yet).
"""
import json
import os
import shutil
import subprocess
import sys
import time

from .procs import CLK_TCK, Workspace, cpu_ticks, environ_of
from . import probe
from .tools import HERE, Tool

REPO = os.path.dirname(HERE)


def release_bin(name):
    # DIRECTOR_BENCH_BUILD: another build directory (an A/B run against an older build).
    return os.path.join(os.environ.get("DIRECTOR_BENCH_BUILD") or os.path.join(REPO, ".build", "release"), name)


def write_manifest(ws, jobs_yaml, name="bench.yaml"):
    jobs = ws.path("jobs")
    os.makedirs(jobs, exist_ok=True)
    with open(os.path.join(jobs, name), "w") as f:
        f.write("group: bench\nstrategy: one_for_one\nintensity: 100000000\nperiod: 1s\njobs:\n" + jobs_yaml)
    return jobs


def sleep_job(ws, name, n, env=None):
    lines = [f"  - name: {name}", f'    command: ["{ws.marker}", "3600"]', f"    instances: {n}",
             "    restart: permanent"]
    if env:
        lines.append("    env: {" + ", ".join(f'{k}: "{v}"' for k, v in env.items()) + "}")
    return "\n".join(lines) + "\n"


class Director(Tool):
    name = "director"

    def __init__(self):
        self._available = None

    def run_argv(self, ws, jobs):
        return [release_bin("director"), "run", "--jobs", jobs, "--state", ws.path("state"),
                "--intensity", "100000000", "--period", "1s", "--no-watch"]

    def start(self, ws, n):
        jobs = write_manifest(ws, sleep_job(ws, "sleep", n))
        return ws.launch(self.run_argv(ws, jobs), log_name="director.log")

    def available(self, root=None):
        if self._available is not None:
            return self._available
        if not os.access(release_bin("director"), os.X_OK):
            self._available = (False, "director not built yet (no release binary)")
            return self._available
        ws = Workspace(root or "/tmp", "director-smoke")
        try:
            proc = self.start(ws, 1)
            if probe.wait_children(ws, 1, 10):
                self._available = (True, "")
            else:
                time.sleep(0.2)
                with open(ws.path("director.log"), errors="replace") as f:
                    last = (f.read().strip().splitlines() or ["no output"])[-1][:120]
                self._available = (False, f"director not built yet ({last})")
        finally:
            ws.cleanup(grace=2)
        return self._available


def ctl(ws, *args, timeout=60):
    return subprocess.run([release_bin("director"), *args, "--state", ws.path("state")],
                          capture_output=True, text=True, timeout=timeout)


def crash_storm(director, cfg, root, results):
    """CFG.storm_children children each exiting 20 ms after start, for CFG.storm_s seconds.

    Ground truth: every child appends one line to a file when it starts; after the daemon has
    stopped, every started child has exited, so the exit events seen by `director events
    --follow` must equal the lines in that file."""
    name = f"director crash storm lost exits ({cfg.storm_children} children, {cfg.storm_s}s)"
    ws = Workspace(root, "director-storm")
    try:
        starts = ws.path("starts")
        job = (f"  - name: storm\n    command: [\"/bin/sh\", \"-c\", \"echo >> {starts}; sleep 0.02; exit 1\"]\n"
               f"    instances: {cfg.storm_children}\n    restart: permanent\n")
        daemon = ws.launch(director.run_argv(ws, write_manifest(ws, job)), log_name="director.log")
        time.sleep(0.5)
        events_log = open(ws.path("events.jsonl"), "wb")
        follower = subprocess.Popen([release_bin("director"), "events", "--json", "--follow", "--state", ws.path("state")],
                                    stdout=events_log, stderr=subprocess.DEVNULL, start_new_session=True, cwd=ws.dir)
        ws.launched.append(follower)
        t0, c0 = time.monotonic(), cpu_ticks(daemon.pid)
        time.sleep(cfg.storm_s)
        cpu = (cpu_ticks(daemon.pid) - c0) / CLK_TCK / (time.monotonic() - t0)
        daemon.terminate()
        try:
            daemon.wait(timeout=30)
        except subprocess.TimeoutExpired:
            pass
        time.sleep(2)  # let the follower drain the last transactions
        follower.terminate()
        follower.wait(timeout=10)
        events_log.close()
        expected = sum(1 for _ in open(starts)) if os.path.exists(starts) else 0
        seen = 0
        with open(ws.path("events.jsonl"), errors="replace") as f:
            for line in f:
                try:
                    seen += json.loads(line).get("kind") == "exit"
                except ValueError:
                    pass
        if not expected or not seen:
            results.skip(name, "exits", f"no exits recorded (expected {expected}, seen {seen})", tool="director")
            return
        results.add(name, "exits", max(0, expected - seen), tool="director",
                    note=f"{seen} exit events for {expected} starts")
        results.add("director crash storm CPU share", "% of a core", cpu * 100.0, tool="director")
    finally:
        ws.cleanup(grace=2)


def lead_commands(director, cfg, root, results):
    """`director-bench engine` and `director-bench table`, then `director ps` vs `mdb_dump`."""
    bench = release_bin("director-bench")
    out = _json_of([bench, "engine"])
    if out and "events_per_second" in out:
        results.add("director engine events/s", "events/s", out["events_per_second"], tool="director")
    else:
        results.skip("director engine events/s", "events/s", "director-bench engine printed no JSON", tool="director")
    # `director-bench table` measures both itself: batched LMDBTable writes against a raw
    # mdb_put loop, and the real `director ps` against `mdb_dump -s children` on tables of
    # 1 000 and 10 000 children (medians of 5 runs each).
    out = _json_of([bench, "table", "--director", release_bin("director")])
    if not out or "table_writes" not in out:
        results.skip("director table write throughput", "updates/s", "director-bench table printed no JSON",
                     tool="director")
        return
    w = out["table_writes"]
    results.add("director table write throughput", "updates/s", w["lmdbtable_updates_per_s"],
                floor=w["raw_lmdb_puts_per_s"], tool="director",
                note=f"batches of {w['batch']}, {w['durability']}; floor: raw mdb_put loop (ratio < 1: slower)")
    for row in out.get("ps", []):
        n = row["children"]
        dump = row.get("mdb_dump_children_ms")
        for key, label in (("director_ps_json_ms", "director ps --json"), ("director_ps_ms", "director ps")):
            if row.get(key) is not None:
                results.add(f"{label} at {n} children", "ms", row[key], floor=dump, tool="director",
                            note="median of 5; floor: mdb_dump -s children")


HOLD_READ_TXN = os.path.join(REPO, "Tests", "EndToEndTests", "Scripts", "hold_read_txn.py")


def reader_cost(director, cfg, root, results):
    """Restart latency while another process holds one read transaction on the table for the
    whole measurement (Python's `lmdb`, as a monitoring tool would). The floor is Director's
    own restart p50 of this run without the reader: the ratio is the reader's cost."""
    name = "director restart p50 with a reader holding a read txn"
    ws = Workspace(root, "director-reader")
    try:
        jobs = write_manifest(ws, sleep_job(ws, "one", 1))
        ws.launch(director.run_argv(ws, jobs), log_name="director.log")
        if not probe.wait_children(ws, 1, cfg.spawn_timeout_s):
            results.skip(name, "ms", "the child never ran", tool="director")
            return
        time.sleep(0.3)  # the first commit lands before the reader's snapshot
        reader = subprocess.Popen([sys.executable, HOLD_READ_TXN, ws.path("state", "table"), "3600"],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ws.dir)
        ws.launched.append(reader)
        holding = reader.stdout.readline()
        if '"holding"' not in holding:
            results.skip(name, "ms", "the reader could not open the table", tool="director")
            return
        out = probe.restart_latency(ws, cfg.restarts, cfg.restart_budget_s, 0)
        reader.stdin.close()
        reader.wait(timeout=30)
        if "error" in out or not out["count"]:
            results.skip(name, "ms", out.get("error", "no sample"), tool="director")
            return
        without = results.find("director restart p50")
        results.add(name, "ms", out["p50_us"] / 1000.0, floor=without["value"] if without else None,
                    samples=out["samples_us"], tool="director",
                    note="floor: director restart p50 without the reader (ratio ≈ 1: no cost)")
    finally:
        ws.cleanup(grace=2)


def spawn_cost(cfg, root, results):
    """One spawn call: Director's shim against glibc's posix_spawn with the options Director
    used to pass it (`bench/c/spawn_cost.c`), alternating, with no other fds open and with
    3 000 (the daemon's two pipes and pidfd per child at 1 000 children). The floor is
    posix_spawn, so a ratio below 1 is the shim's gain."""
    k = 100 if cfg.quick else 500
    binary = probe.tool("spawn_cost")
    ws = Workspace(root, "spawn-cost")
    try:
        for extra in (0, 3000):
            name = f"director spawn call with {extra} other fds open"
            if not os.access(binary, os.X_OK):
                results.skip(name, "us", "spawn_cost not built", tool="director")
                continue
            out = subprocess.run([binary, str(k), str(extra), ws.marker], capture_output=True, text=True,
                                 cwd=ws.dir, timeout=300)
            if out.returncode != 0:
                results.skip(name, "us", (out.stderr.strip() or "failed")[:120], tool="director")
                continue
            row = json.loads(out.stdout)
            results.add(name, "us", row["director_spawn_p50_us"], floor=row["posix_spawn_p50_us"], tool="director",
                        note=f"p50 of {k}; floor: glibc posix_spawn with the same options, same run, alternating")
        spawn_cost_cgroup(binary, k, ws, results)
    finally:
        ws.cleanup(grace=2)


def _writable_cgroup2_dir(name):
    """A new cgroup NAME under this process's own cgroup2 group, or None."""
    try:
        mount = next(l.split(" - ")[0].split()[4] for l in open("/proc/self/mountinfo") if " - cgroup2 " in l)
        own = next(l.strip()[3:] for l in open("/proc/self/cgroup") if l.startswith("0::"))
    except (StopIteration, OSError, IndexError):
        return None
    path = os.path.join(mount + ("" if own == "/" else own), name)
    try:
        os.mkdir(path)
    except OSError:
        return None
    return path


def spawn_cost_cgroup(binary, k, ws, results):
    """The cgroup per child's share of one spawn call: `director_spawn` alternating with no
    cgroup (the floor), born in the child's cgroup (clone3 with CLONE_INTO_CGROUP, the daemon's
    way on Linux 5.7+) and moved there by the child's write to cgroup.procs (the fallback)."""
    names = ["director spawn call into its cgroup (clone3)",
             "director spawn call into its cgroup (cgroup.procs write, the fallback)"]
    if not os.access(binary, os.X_OK):
        for name in names:
            results.skip(name, "us", "spawn_cost not built", tool="director")
        return
    cgroup = _writable_cgroup2_dir(f"director-bench-spawn-{os.getpid()}")
    if cgroup is None:
        for name in names:
            results.skip(name, "us", "no writable cgroup2 hierarchy", tool="director")
        return
    try:
        out = subprocess.run([binary, str(k), "0", ws.marker, cgroup], capture_output=True, text=True,
                             cwd=ws.dir, timeout=300)
    finally:
        os.rmdir(cgroup)
    if out.returncode != 0:
        for name in names:
            results.skip(name, "us", (out.stderr.strip() or "failed")[:120], tool="director")
        return
    row = json.loads(out.stdout)
    note = f"p50 of {k}; floor: director_spawn without a cgroup, same run, alternating"
    results.add(names[0], "us", row["clone3_p50_us"], floor=row["plain_p50_us"], tool="director",
                note=note + ("" if row["clone3_used"] else "; clone3 refused here: the fallback ran"))
    results.add(names[1], "us", row["procs_write_p50_us"], floor=row["plain_p50_us"], tool="director", note=note)


def reload_latency(director, cfg, root, results, jobs_count=10):
    """JOBS_COUNT jobs × N/JOBS_COUNT children; one job's command changes (to a second copy of sleep) and
    `director reload` is run: the figure is the time from the reload command until all that
    job's children run the new binary, observed by the C probe like every other figure. Also
    counts the other jobs' pids that survived (all should)."""
    per_job = cfg.reload_children // jobs_count
    name = f"director reload latency (1 of {jobs_count} jobs changed, {per_job} of {cfg.reload_children} children)"
    ws = Workspace(root, "director-reload")
    try:
        marker2 = ws.path("sleep-v2")
        shutil.copy2(ws.marker, marker2)

        def manifest(changed):
            jobs = ""
            for i in range(jobs_count):
                binary = marker2 if (changed and i == 0) else ws.marker
                jobs += (f"  - name: j{i}\n    command: [\"{binary}\", \"3600\"]\n    instances: {per_job}\n"
                         "    restart: permanent\n")
            return jobs
        jobs = write_manifest(ws, manifest(False))
        ws.launch(director.run_argv(ws, jobs), log_name="director.log")
        if not probe.wait_children(ws, cfg.reload_children, cfg.spawn_timeout_s):
            results.skip(name, "s", "children never all ran", tool="director")
            return
        untouched = {p for p in ws.children() if environ_of(p).get("DIRECTOR_JOB") != "j0"}
        write_manifest(ws, manifest(True))
        t0 = time.monotonic_ns()
        reload = subprocess.Popen([release_bin("director"), "reload", "--state", ws.path("state")],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        out = subprocess.run([probe.tool("probe"), "wait-running", marker2, str(per_job), "60000"],
                             capture_output=True, text=True)
        reload.wait(timeout=60)
        reached = json.loads(out.stdout)["reached_ns"]
        if reached is None:
            results.skip(name, "s", f"changed job never came back ({reload.stderr.read().strip()[:80]})",
                         tool="director")
            return
        alive = set(ws.children())
        kept = len(untouched & alive)
        results.add(name, "s", (reached - t0) / 1e9, tool="director",
                    note=f"from `director reload` (a process start included) to {per_job} new children "
                         f"running; {kept}/{len(untouched)} untouched pids kept")
        results.add(f"director reload untouched pids lost ({jobs_count} jobs)", "pids", len(untouched) - kept,
                    tool="director")
    finally:
        ws.cleanup(grace=2)


def _json_of(argv):
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=300)
        return json.loads(out.stdout.strip().splitlines()[-1]) if out.returncode == 0 and out.stdout.strip() else None
    except (OSError, ValueError, subprocess.TimeoutExpired, IndexError):
        return None


def notify_round_trip(director, cfg, root, results):
    """`ready: {notify: true}`: a chain of K jobs, each held back by Director until the one
    before it said READY=1 (bench/c/notify_ready.c, a C child that sends it at its first
    instruction). Per link: from the child's sendto(READY=1) to the next child's first
    instruction, i.e. the datagram, the daemon's attribution and engine step, and the next
    spawn (an upper bound of the notify round trip itself); and from a child's own start to
    that point (spawn to READY=1 seen, the child's own work being nil)."""
    k = 50 if cfg.quick else 300
    name = "director notify round trip p50 (READY=1 sent → next child running)"
    binary = probe.tool("notify_ready")
    if not os.access(binary, os.X_OK):
        results.skip(name, "ms", "notify_ready not built", tool="director")
        return
    ws = Workspace(root, "director-notify")
    try:
        log = ws.path("ready.log")
        jobs = "".join(
            f"  - name: r{i}\n    command: [\"{binary}\", \"{log}\", \"{i}\"]\n    cwd: {ws.dir}\n"
            "    ready: {notify: true, timeout: 30s}\n" for i in range(k))
        ws.launch(director.run_argv(ws, write_manifest(ws, jobs)), log_name="director.log")
        deadline = time.monotonic() + cfg.spawn_timeout_s
        rows = {}
        while time.monotonic() < deadline and len(rows) < k:
            time.sleep(0.1)
            rows = _ready_log(log)
        if len(rows) < k:
            results.skip(name, "ms", f"only {len(rows)}/{k} children said READY=1", tool="director")
            return
        trip, whole = _chain_links(rows, k)
        floor_trip, floor_whole = _floor_notify_chain(binary, ws, k)
        load = open("/proc/loadavg").read().split()[0]
        if floor_trip:
            results.add("floor notify round trip p50 (READY=1 sent → next child running)", "ms",
                        floor_trip[len(floor_trip) // 2], samples=[round(s, 4) for s in floor_trip], tool="floor",
                        note=f"bench/c/floor_notify.c: recvmsg with SO_PASSCRED, then posix_spawn; {k - 1} links; load {load}")
        results.add(name, "ms", trip[len(trip) // 2], samples=[round(s, 4) for s in trip], tool="director",
                    floor=floor_trip[len(floor_trip) // 2] if floor_trip else None,
                    note=f"{k - 1} links; p90 {trip[int(len(trip) * 0.9)]:.3f} ms; includes the next spawn; load {load}")
        results.add("director spawn to READY=1 seen p50 (next child running)", "ms", whole[len(whole) // 2],
                    samples=[round(s, 4) for s in whole], tool="director",
                    floor=floor_whole[len(floor_whole) // 2] if floor_whole else None,
                    note=f"a child's first instruction → the next child's, {k - 1} links; load {load}")
    finally:
        ws.cleanup(grace=2)


def _ready_log(path):
    """notify_ready's log: {index: (start_ns, sent_ns)} ({} while it does not exist)."""
    rows = {}
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                parts = line.split()
                if len(parts) == 3:
                    rows[int(parts[0])] = (int(parts[1]), int(parts[2]))
    return rows


def _chain_links(rows, k):
    """Per link of a READY=1 chain: sent → next child's first instruction, and a child's first
    instruction → the next one's; both sorted."""
    trip = sorted((rows[i + 1][0] - rows[i][1]) / 1e6 for i in range(k - 1))
    whole = sorted((rows[i + 1][0] - rows[i][0]) / 1e6 for i in range(k - 1))
    return trip, whole


def _floor_notify_chain(binary, ws, k):
    """The same chain run by bench/c/floor_notify.c (nothing but recvmsg and posix_spawn)."""
    floor = probe.tool("floor_notify")
    log = ws.path("floor-ready.log")
    if not os.access(floor, os.X_OK):
        return None, None
    out = subprocess.run([floor, str(k), binary, log], capture_output=True, text=True, timeout=120)
    if out.returncode != 0:
        return None, None
    rows = _ready_log(log)
    if len(rows) < k:
        return None, None
    return _chain_links(rows, k)


def spawn_without_ready(director, cfg, root, results):
    """The 1 000-children start without `ready:` as run_tool measures it (spawn to running by
    the C probe), for `--only ready`: readiness must leave it as it was."""
    n = 1000
    ws = Workspace(root, "director-spawn-noready")
    try:
        secs, count, _ = probe.spawn_to_running(ws, lambda: director.start(ws, n), n, cfg.spawn_timeout_s)
        if secs is None or count < n:
            results.skip(f"director spawn {n} to running (no ready:)", "s", f"{count}/{n} running", tool="director")
            return
        results.add(f"director spawn {n} to running (no ready:)", "s", secs, tool="director",
                    note=f"load {open('/proc/loadavg').read().split()[0]}")
    finally:
        ws.cleanup(grace=2)
