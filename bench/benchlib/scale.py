"""Scale figures: one large pool to running, the daemon's anonymous memory per child, and the
crash-storm restart rate; each against a C floor measured in the same run, interleaved.

What the machine allows is read first (`limits()`): every Director child costs the daemon three
descriptors (two pipe ends and a pidfd) and one pid, so the largest pool that can run is bounded
by the hard RLIMIT_NOFILE (the daemon raises its soft limit to it, nothing can raise the hard
one without CAP_SYS_RESOURCE) and by `pid_max` minus the pids already in use. A size that does
not fit is recorded as skipped with the reason, and the largest that fits is run instead.
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

FDS_PER_CHILD = 3
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


def fits(n, lim):
    """None when N children fit, else why not."""
    if n > lim["max_children_by_fds"]:
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


def _director_pool(ws, n, command=None):
    cmd = command or [ws.marker, "3600"]
    job = (f"  - name: pool\n    command: [{', '.join(json.dumps(c) for c in cmd)}]\n"
           f"    instances: {n}\n    restart: permanent\n")
    jobs = write_manifest(ws, job)
    return [release_bin("director"), "run", "--jobs", jobs, "--state", ws.path("state"),
            "--intensity", "100000000", "--period", "1s", "--no-watch", "--max-children", str(max(n, 1000))]


def _spawn_once(ws, argv_or_start, n, timeout_s):
    secs, count, proc = probe.spawn_to_running(ws, argv_or_start, n, timeout_s)
    return secs, count, proc


def spawn_scale(cfg, root, results, lim):
    """The largest pool that fits (CFG.scale_ns, e.g. 10 000 and 30 000), floor and Director
    interleaved; Director's RssAnon is read after each of its runs."""
    from .tools import Floor
    floor = Floor()
    ran = []
    for n in cfg.scale_ns:
        why = fits(n, lim)
        if why:
            for tool in ("floor", "director"):
                results.skip(f"{tool} spawn {n} to running", "s", why, tool=tool)
            continue
        ran.append(n)
    largest = min(max(cfg.scale_ns), lim["max_children_by_fds"], lim["max_children_by_pids"])
    largest = largest // 100 * 100
    if largest not in ran and largest > 1000:
        ran.append(largest)
    anon_by_n = {}
    for n in ran:
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
                argv = _director_pool(ws, n)
                secs, count, proc = probe.spawn_to_running(
                    ws, lambda: ws.launch(argv, log_name="director.log"), n, cfg.spawn_timeout_s * 3)
                if secs is None:
                    results.skip(f"director spawn {n} to running", "s",
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
        results.add(f"floor spawn {n} to running", "s", f, samples=[round(t, 4) for t in floor_t], tool="floor")
        if d is not None:
            ratios = [round(b / a, 3) for a, b in zip(floor_t, dir_t)]
            results.add(f"director spawn {n} to running", "s", d, floor=f, samples=[round(t, 4) for t in dir_t],
                        tool="director", note=f"per-rep ratios {ratios}")
        if anon:
            anon_by_n[n] = min(anon)
    return anon_by_n


def anon_per_child(cfg, root, results, anon_by_n):
    """RssAnon of the daemon with 1 child, 1 000 and the scale sizes; per child is the
    difference to the 1-child daemon divided by the extra children."""
    for n in [1, 1000]:
        vals = []
        for rep in range(cfg.scale_reps):
            ws = Workspace(root, f"director-anon-{n}")
            try:
                argv = _director_pool(ws, n)
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
            anon_by_n[n] = min(vals)
    base = anon_by_n.get(1)
    if base is None:
        results.skip("director RssAnon per child at 1000", "KB", "the 1-child daemon never ran", tool="director")
        return
    results.add("director RssAnon with 1 child", "MB", base / 1024.0, tool="director",
                note="minimum over the reps")
    for n in sorted(k for k in anon_by_n if k > 1):
        per = (anon_by_n[n] - base) / (n - 1)
        results.add(f"director RssAnon at {n}", "MB", anon_by_n[n] / 1024.0, tool="director")
        results.add(f"director RssAnon per child at {n}", "KB", per, tool="director",
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


def storm_rate(cfg, root, results):
    """CFG.rate_children children of /bin/true, restarted at once on every exit, for
    CFG.rate_s seconds: restarts per second of Director against floor_storm (C: waitpid(-1) +
    posix_spawn), alternating, CFG.rate_reps times each (the machine's load moves both by
    ±30 % between reps, so each rep's ratio is recorded). Director's count is the sum of the
    table's `restarts` between two `director ps --json` (the table commits within 5 ms); its CPU
    share is the daemon's utime + stime over the same interval."""
    n, secs = cfg.rate_children, cfg.rate_s
    floor_rates, floor_cpu, dir_rates, dir_cpu = [], [], [], []
    for rep in range(cfg.rate_reps):
        out = subprocess.run([probe.tool("floor_storm"), str(n), str(secs), TRUE],
                             capture_output=True, text=True, timeout=secs + 60)
        try:
            doc = json.loads(out.stdout)
            floor_rates.append(doc["restarts_per_s"])
            floor_cpu.append(doc["cpu_share"] * 100.0)
        except (ValueError, KeyError):
            pass
        ws = Workspace(root, "director-rate")
        try:
            argv = _director_pool(ws, n, command=[TRUE])
            proc = ws.launch(argv, log_name="director.log")
            time.sleep(1.0)  # start-up and the first commits
            r0, c0, t0 = _sum_restarts(ws), cpu_ticks(proc.pid), time.monotonic()
            time.sleep(secs)
            r1, c1, t1 = _sum_restarts(ws), cpu_ticks(proc.pid), time.monotonic()
            if r0 is not None and r1 is not None and proc.poll() is None:
                dir_rates.append((r1 - r0) / (t1 - t0))
                dir_cpu.append((c1 - c0) / CLK_TCK / (t1 - t0) * 100.0)
        finally:
            ws.cleanup(grace=2)
    name = f"storm restarts/s ({n} children of /bin/true, {secs}s)"
    fr = median(floor_rates)
    results.add(f"floor {name}", "restarts/s", fr, samples=[round(x) for x in floor_rates], tool="floor",
                note=f"floor CPU share {', '.join(f'{c:.0f}' for c in floor_cpu)} % of a core")
    if not dir_rates:
        results.skip(f"director {name}", "restarts/s", "no restarts counted", tool="director")
        return
    ratios = [round(d / f, 3) for f, d in zip(floor_rates, dir_rates)]
    results.add(f"director {name}", "restarts/s", median(dir_rates), floor=fr,
                samples=[round(x) for x in dir_rates], tool="director",
                note=f"per-rep ratios {ratios}, median {median(ratios)}")
    results.add(f"director storm CPU share ({n} children of /bin/true)", "% of a core", median(dir_cpu),
                samples=[round(x, 1) for x in dir_cpu], tool="director",
                note=f"floor_storm used {median(floor_cpu):.0f} % of a core")


def run(cfg, root, results):
    lim = limits()
    results.add("machine hard RLIMIT_NOFILE", "fds", lim["nofile_hard"], tool="machine",
                note=f"soft {lim['nofile_soft']}; Director needs {FDS_PER_CHILD} per child: "
                     f"at most {lim['max_children_by_fds']} children")
    results.add("machine pid_max", "pids", lim["pid_max"], tool="machine",
                note=f"{lim['pids_in_use']} in use at the start, threads-max {lim['threads_max']}, "
                     f"RLIMIT_NPROC {lim['nproc_soft']}: at most {lim['max_children_by_pids']} children")
    anon = spawn_scale(cfg, root, results, lim)
    anon_per_child(cfg, root, results, anon)
    storm_rate(cfg, root, results)
