"""Scale figures: one large pool to running, the daemon's anonymous memory per child, and the
crash-storm restart rate; each against a C floor measured in the same run, interleaved.

Two workloads. *Not captured* (`log: {stdout: false, stderr: false}`): the children write to
/dev/null, as the floors' and the peers' do ("output not captured" in BENCHMARKS.md); the
daemon holds no descriptor per child (no pipes, and no pidfd: it collects exits on SIGCHLD).
*Captured* (the default): two pipe ends per child.

What the machine allows is read first (`limits()`): each child costs one pid, and a captured
one two daemon descriptors, so the largest pool is bounded by `pid_max` minus the pids in use
and, captured, by the hard RLIMIT_NOFILE (the daemon raises its soft limit to it; nothing can
raise the hard one without CAP_SYS_RESOURCE). A size that does not fit is recorded as skipped
with the reason, and the largest that fits is run instead.
"""
import json
import os
import resource
import subprocess
import time

from . import probe
from .director import ctl, release_bin, write_manifest
from .procs import CLK_TCK, Workspace, cpu_ticks
from .report import median

FDS_PER_CHILD = 2     # captured: the read ends of its stdout and stderr pipes
UNCAPTURED = "    log: {stdout: false, stderr: false}\n"
FD_RESERVE = 100      # the daemon's own fds (table, socket, epoll, log, inotify) and headroom
PID_RESERVE = 1500    # pids other engineers' builds and tests on this machine may need
TRUE = "/bin/true"


def _read_int(path, default=None):
    try:
        with open(path) as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return default


def limits():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    pid_max = _read_int("/proc/sys/kernel/pid_max", 32768)
    threads_max = _read_int("/proc/sys/kernel/threads-max")
    pids_in_use = sum(1 for name in os.listdir("/proc") if name.isdigit())
    nproc_soft, _ = resource.getrlimit(resource.RLIMIT_NPROC)
    by_fds = (hard - FD_RESERVE) // FDS_PER_CHILD if hard != resource.RLIM_INFINITY else 10 ** 9
    by_pids = pid_max - pids_in_use - PID_RESERVE
    if threads_max:
        by_pids = min(by_pids, threads_max - PID_RESERVE)
    if nproc_soft != resource.RLIM_INFINITY:
        by_pids = min(by_pids, nproc_soft - PID_RESERVE)
    return {"nofile_soft": soft, "nofile_hard": hard, "pid_max": pid_max, "threads_max": threads_max,
            "pids_in_use": pids_in_use, "nproc_soft": nproc_soft,
            "max_children_by_fds": by_fds, "max_children_by_pids": by_pids}


def fits(n, lim, captured=True):
    """None when N children fit, else why not."""
    if captured and n > lim["max_children_by_fds"]:
        return (f"needs {n * FDS_PER_CHILD} daemon fds, hard RLIMIT_NOFILE is {lim['nofile_hard']} "
                f"(at most {lim['max_children_by_fds']} children)")
    if n > lim["max_children_by_pids"]:
        return (f"needs {n} pids, pid_max {lim['pid_max']} with {lim['pids_in_use']} in use "
                f"(at most {lim['max_children_by_pids']} children)")
    return None


def rss_anon_kb(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("RssAnon:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def _director_pool(ws, n, command=None, captured=True):
    cmd = command or [ws.marker, "3600"]
    job = (f"  - name: pool\n    command: [{', '.join(json.dumps(c) for c in cmd)}]\n"
           f"    instances: {n}\n    restart: permanent\n") + ("" if captured else UNCAPTURED)
    jobs = write_manifest(ws, job)
    return [release_bin("director"), "run", "--jobs", jobs, "--state", ws.path("state"),
            "--intensity", "100000000", "--period", "1s", "--no-watch", "--max-children", str(max(n, 1000))]


def _spawn_once(ws, argv_or_start, n, timeout_s):
    secs, count, proc = probe.spawn_to_running(ws, argv_or_start, n, timeout_s)
    return secs, count, proc


def _sizes(ns, lim, captured):
    """The sizes of NS that fit, and the largest that fits when one does not."""
    by_fds = lim["max_children_by_fds"] if captured else 10 ** 9
    ran = [n for n in ns if n <= by_fds and n <= lim["max_children_by_pids"]]
    largest = min(max(ns), by_fds, lim["max_children_by_pids"]) // 100 * 100
    if largest not in ran and largest > 1000:
        ran.append(largest)
    return ran


def _label(n, captured):
    return f"director spawn {n} to running" + ("" if captured else " (output not captured)")


def spawn_scale(cfg, root, results, lim):
    """The scale sizes (CFG.scale_ns, e.g. 10 000 and 30 000) with output not captured, and the
    largest captured pool that fits; floor and Director interleaved; Director's RssAnon is read
    after each of its runs. Returns {(n, captured): minimum RssAnon KB}."""
    from .tools import Floor
    floor = Floor()
    for n in cfg.scale_ns:
        why = fits(n, lim, captured=False)
        if why:
            results.skip(f"floor spawn {n} to running", "s", why, tool="floor")
            results.skip(_label(n, False), "s", why, tool="director")
        why = fits(n, lim, captured=True)
        if why:
            results.skip(_label(n, True), "s", why, tool="director")
    runs = [(n, False) for n in _sizes(cfg.scale_ns, lim, captured=False)]
    runs += [(n, True) for n in _sizes(cfg.scale_ns, lim, captured=True)]
    anon_by_n = {}
    for n, captured in runs:
        floor_t, dir_t, anon = [], [], []
        for rep in range(cfg.scale_reps):
            ws = Workspace(root, f"floor-{n}")
            try:
                secs, count, _ = probe.spawn_to_running(ws, lambda: floor.start(ws, n), n, cfg.spawn_timeout_s * 3)
                if secs is not None:
                    floor_t.append(secs)
            finally:
                ws.cleanup(grace=0)
            ws = Workspace(root, f"director-{n}")
            try:
                argv = _director_pool(ws, n, captured=captured)
                secs, count, proc = probe.spawn_to_running(
                    ws, lambda: ws.launch(argv, log_name="director.log"), n, cfg.spawn_timeout_s * 3)
                if secs is None:
                    results.skip(_label(n, captured), "s",
                                 f"timeout with {count}/{n} running" +
                                 (f"; exited {proc.returncode}" if proc.poll() is not None else ""), tool="director")
                    break
                dir_t.append(secs)
                time.sleep(cfg.settle_before_rss_s)
                a = rss_anon_kb(proc.pid)
                if a:
                    anon.append(a)
            finally:
                ws.cleanup(grace=0)
        f, d = median(floor_t), median(dir_t)
        # A size run both ways (where the fds allow) has two sets of floor reps, two rows.
        both = captured and (n, False) in runs
        results.add(f"floor spawn {n} to running" + (" (beside the captured run)" if both else ""),
                    "s", f, samples=[round(t, 4) for t in floor_t], tool="floor")
        if d is not None:
            ratios = [round(b / a, 3) for a, b in zip(floor_t, dir_t)]
            results.add(_label(n, captured), "s", d, floor=f, samples=[round(t, 4) for t in dir_t],
                        tool="director", note=f"per-rep ratios {ratios}")
        if anon:
            anon_by_n[(n, captured)] = min(anon)
    return anon_by_n


def anon_per_child(cfg, root, results, anon_by_n):
    """RssAnon of the daemon with 1 child, 1 000 and the scale sizes, both workloads; per child
    is the difference to the 1-child daemon (of the same workload) divided by the extra
    children."""
    for n, captured in [(1, True), (1000, True), (1, False), (1000, False)]:
        vals = []
        for rep in range(cfg.scale_reps):
            ws = Workspace(root, f"director-anon-{n}")
            try:
                argv = _director_pool(ws, n, captured=captured)
                proc = ws.launch(argv, log_name="director.log")
                if not probe.wait_children(ws, n, cfg.spawn_timeout_s):
                    break
                time.sleep(cfg.settle_before_rss_s)
                a = rss_anon_kb(proc.pid)
                if a:
                    vals.append(a)
            finally:
                ws.cleanup(grace=0)
        if vals:
            anon_by_n[(n, captured)] = min(vals)
    for captured in (True, False):
        suffix = "" if captured else " (output not captured)"
        base = anon_by_n.get((1, captured))
        if base is None:
            results.skip(f"director RssAnon per child at 1000{suffix}", "KB", "the 1-child daemon never ran", tool="director")
            continue
        results.add(f"director RssAnon with 1 child{suffix}", "MB", base / 1024.0, tool="director",
                    note="minimum over the reps")
        for n in sorted(k for k, c in anon_by_n if k > 1 and c == captured):
            per = (anon_by_n[(n, captured)] - base) / (n - 1)
            results.add(f"director RssAnon at {n}{suffix}", "MB", anon_by_n[(n, captured)] / 1024.0, tool="director")
            results.add(f"director RssAnon per child at {n}{suffix}", "KB", per, tool="director",
                        note=f"(RssAnon at {n} - RssAnon with 1 child) / {n - 1}; minimum over {cfg.scale_reps} reps")


def _sum_restarts(ws):
    out = ctl(ws, "ps", "--json", timeout=30)
    if out.returncode != 0:
        return None
    total = 0
    for line in out.stdout.splitlines():
        line = line.strip()
        if not line:
            continue
        try:
            doc = json.loads(line)
        except ValueError:
            continue
        rows = doc if isinstance(doc, list) else doc.get("children", [doc]) if isinstance(doc, dict) else []
        for row in rows:
            if isinstance(row, dict) and isinstance(row.get("restarts"), int):
                total += row["restarts"]
    return total


def _director_storm(ws, n, secs, captured):
    """Restarts per second and CPU share of one Director storm run, or None."""
    argv = _director_pool(ws, n, command=[TRUE], captured=captured)
    proc = ws.launch(argv, log_name="director.log")
    time.sleep(1.0)  # start-up and the first commits
    r0, c0, t0 = _sum_restarts(ws), cpu_ticks(proc.pid), time.monotonic()
    time.sleep(secs)
    r1, c1, t1 = _sum_restarts(ws), cpu_ticks(proc.pid), time.monotonic()
    if r0 is None or r1 is None or proc.poll() is not None:
        return None
    return (r1 - r0) / (t1 - t0), (c1 - c0) / CLK_TCK / (t1 - t0) * 100.0


def storm_rate(cfg, root, results):
    """CFG.rate_children children of /bin/true, restarted at once on every exit, for
    CFG.rate_s seconds: restarts per second of Director, its children's output captured and
    not, against floor_storm (C: waitpid(-1) + posix_spawn, no pipes), the three alternating,
    CFG.rate_reps times each (the machine's load moves them by ±30 % between reps, so each
    rep's ratio is recorded). Director's count is the sum of the table's `restarts` between two
    `director ps --json` (the table commits within 5 ms); its CPU share is the daemon's
    utime + stime over the same interval."""
    n, secs = cfg.rate_children, cfg.rate_s
    floor_rates, floor_cpu = [], []
    runs = {True: ([], []), False: ([], [])}
    for rep in range(cfg.rate_reps):
        out = subprocess.run([probe.tool("floor_storm"), str(n), str(secs), TRUE],
                             capture_output=True, text=True, timeout=secs + 60)
        try:
            doc = json.loads(out.stdout)
            floor_rates.append(doc["restarts_per_s"])
            floor_cpu.append(doc["cpu_share"] * 100.0)
        except (ValueError, KeyError):
            floor_rates.append(None)
        for captured in (True, False):
            ws = Workspace(root, "director-rate")
            try:
                got = _director_storm(ws, n, secs, captured)
            finally:
                ws.cleanup(grace=2)
            runs[captured][0].append(got[0] if got else None)
            runs[captured][1].append(got[1] if got else None)
    name = f"storm restarts/s ({n} children of /bin/true, {secs}s)"
    fr = median([x for x in floor_rates if x is not None])
    results.add(f"floor {name}", "restarts/s", fr, samples=[round(x) for x in floor_rates if x is not None], tool="floor",
                note=f"floor CPU share {', '.join(f'{c:.0f}' for c in floor_cpu)} % of a core")
    for captured in (True, False):
        suffix = "" if captured else ", output not captured"
        rates, cpu = runs[captured]
        label = f"director storm restarts/s ({n} children of /bin/true{suffix}, {secs}s)"
        if not any(r is not None for r in rates):
            results.skip(label, "restarts/s", "no restarts counted", tool="director")
            continue
        ratios = [round(d / f, 3) for f, d in zip(floor_rates, rates) if f and d is not None]
        results.add(label, "restarts/s", median([r for r in rates if r is not None]), floor=fr,
                    samples=[round(x) for x in rates if x is not None], tool="director",
                    note=f"per-rep ratios {ratios}, median {median(ratios)}")
        results.add(f"director storm CPU share ({n} children of /bin/true{suffix})", "% of a core",
                    median([c for c in cpu if c is not None]), samples=[round(x, 1) for x in cpu if x is not None],
                    tool="director", note=f"floor_storm used {median(floor_cpu):.0f} % of a core")


def run(cfg, root, results):
    lim = limits()
    results.add("machine hard RLIMIT_NOFILE", "fds", lim["nofile_hard"], tool="machine",
                note=f"soft {lim['nofile_soft']}; Director needs {FDS_PER_CHILD} per child with output captured "
                     f"(at most {lim['max_children_by_fds']} children), none without")
    results.add("machine pid_max", "pids", lim["pid_max"], tool="machine",
                note=f"{lim['pids_in_use']} in use at the start, threads-max {lim['threads_max']}, "
                     f"RLIMIT_NPROC {lim['nproc_soft']}: at most {lim['max_children_by_pids']} children")
    anon = spawn_scale(cfg, root, results, lim)
    anon_per_child(cfg, root, results, anon)
    storm_rate(cfg, root, results)
