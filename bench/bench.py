#!/usr/bin/env python3
"""`make bench`: Director against the floors and the peers. See BENCHMARKS.md for the method.

    bench/.venv/bin/python bench/bench.py [--quick] [--only floor,supervisord,...]

Writes bench/results/latest.json (and machine.json, the plots) and prints a table.
"""
import argparse
import datetime
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from benchlib import director as director_figures  # noqa: E402
from benchlib import probe  # noqa: E402
from benchlib import scale  # noqa: E402
from benchlib.figures import run_tool  # noqa: E402
from benchlib.procs import become_subreaper  # noqa: E402
from benchlib.report import Results, plot  # noqa: E402
from benchlib.tools import PEERS, Floor  # noqa: E402

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")


class Config:
    """How much of each figure to measure; --quick keeps a run under two minutes."""

    def __init__(self, quick):
        self.quick = quick
        self.spawn_ns = [100] if quick else [100, 1000]
        self.spawn_reps = {100: 1} if quick else {100: 3, 1000: 2}
        self.rss_ns = [100] if quick else [100, 1000, 5000]
        self.idle_n = 100 if quick else 1000
        self.idle_s = 2 if quick else 10
        self.settle_before_rss_s = 0.5 if quick else 1.0
        self.restarts = 100 if quick else 500
        self.restarts_slow = 3 if quick else 10
        self.restart_budget_s = 2 if quick else 10
        self.spawn_timeout_s = 60 if quick else 120
        self.storm_children = 50 if quick else 200
        self.storm_s = 5 if quick else 20
        self.reload_children = 100 if quick else 1000
        # Scale: the largest pools that fit (bench/benchlib/scale.py reads the limits), the
        # RssAnon reps, and the /bin/true storm rate against floor_storm.
        self.scale_ns = [2000] if quick else [10000, 30000]
        self.scale_reps = 1 if quick else 3
        self.rate_children = 50
        self.rate_s = 2 if quick else 5
        self.rate_reps = 1 if quick else 5


class Plots:
    def __init__(self):
        self.restart = {}
        self.spawn = {}


def machine(quick):
    cpu = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "mode": "quick" if quick else "full", "nproc": os.cpu_count(), "cpu": cpu,
            "kernel": platform.release(), "loadavg": open("/proc/loadavg").read().split()[:3],
            "peers": peer_versions()}


def peer_versions():
    versions = {}
    venv_python = os.path.join(os.path.dirname(os.path.abspath(__file__)), ".venv", "bin", "python")
    for pkg in ("supervisor", "circus"):
        if not os.access(venv_python, os.X_OK):
            versions[pkg] = None
            continue
        out = subprocess.run([venv_python, "-c", f"import importlib.metadata as m; print(m.version('{pkg}'))"],
                             capture_output=True, text=True)
        versions[pkg] = out.stdout.strip() or None
    for pkg in ("s6", "runit"):
        out = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", pkg], capture_output=True, text=True)
        versions[pkg] = out.stdout.strip() or None
    return versions


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer children and samples (< 2 minutes)")
    parser.add_argument("--only", help="comma-separated: floor,director,scale,storm,ready,supervisord,circus,s6,runit "
                                       "(scale: only the scale figures, floors included; storm: only the "
                                       "crash-storm rate and its floor; ready: only the "
                                       "readiness figures and the 1 000-children start)")
    args = parser.parse_args()
    only = set(args.only.split(",")) if args.only else None
    cfg = Config(args.quick)
    # SIGTERM (or a second Ctrl-C) must still run every workspace's cleanup: turn it into an
    # exception so the `finally` blocks stop the tools and their children.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    become_subreaper()
    os.makedirs(RESULTS, exist_ok=True)
    results, floors, plots = Results(), {}, Plots()
    root = tempfile.mkdtemp(prefix="director-bench-")

    # The floors run first: every ratio in this run divides by them.
    # (`--only scale` skips them: the scale figures measure their own floors.)
    floor = Floor()
    if only not in ({"scale"}, {"storm"}):
        run_tool(floor, cfg, root, results, floors, plots)
        out = subprocess.run([probe.tool("floor_restart"), str(cfg.restarts), _marker_copy(root)],
                             capture_output=True, text=True)
        inproc = json.loads(out.stdout)
        results.add("floor restart p50 (in-process)", "ms", inproc["p50_us"] / 1000.0,
                    samples=[round(s / 1000.0, 4) for s in inproc["samples_us"]], tool="floor",
                    note="timed inside floor_restart, no outside observer")

    director = director_figures.Director()
    # `--only scale`, `storm` or `ready`: one set of Director figures alone. `scale` and
    # `storm` measure their own floors; `ready` is the readiness figures and, beside them,
    # the 1 000-children start without `ready:` (which `ready:` must not slow down).
    focused = {
        "scale": [lambda: scale.run(cfg, root, results)],
        "storm": [lambda: scale.storm_rate(cfg, root, results)],
        "ready": [lambda: director_figures.notify_round_trip(director, cfg, root, results),
                  lambda: director_figures.spawn_without_ready(director, cfg, root, results)],
    }
    mode = next(iter(only)) if only and len(only) == 1 and next(iter(only)) in focused else None
    if mode:
        ok, why = director.available(root)
        if ok:
            for figure in focused[mode]:
                figure()
        else:
            print(f"bench: skipping {mode}: {why}", flush=True)
    elif only is None or "director" in only:
        ok, why = director.available(root)
        if ok:
            run_tool(director, cfg, root, results, floors, plots)
            director_figures.crash_storm(director, cfg, root, results)
            director_figures.lead_commands(director, cfg, root, results)
            director_figures.reader_cost(director, cfg, root, results)
            director_figures.spawn_cost(cfg, root, results)
            director_figures.reload_latency(director, cfg, root, results, jobs_count=10)
            director_figures.reload_latency(director, cfg, root, results, jobs_count=100)
            director_figures.notify_round_trip(director, cfg, root, results)
            scale.run(cfg, root, results)
        else:
            print(f"bench: skipping director: {why}", flush=True)
            for name, unit in (("director spawn 1000 to running", "s"), ("director restart p50", "ms"),
                               ("director RSS at 1000", "MB"), ("director idle CPU at 1000", f"ms/{cfg.idle_s}s"),
                               ("director crash storm lost exits", "exits"), ("director engine events/s", "events/s"),
                               ("director table write throughput", "updates/s"),
                               ("director ps --json at 10000 children", "ms"),
                               ("director reload latency", "s")):
                results.skip(name, unit, why, tool="director")

    for peer in PEERS:
        if only is None or peer.name in only:
            run_tool(peer, cfg, root, results, floors, plots)

    meta = machine(args.quick)
    results.write(os.path.join(RESULTS, "latest.json"), meta)
    plot(results, RESULTS, plots.restart, plots.spawn)
    with open(os.path.join(RESULTS, "latest.md"), "w") as f:
        f.write(results.markdown() + "\n")
    print()
    print(f"{meta['mode']} run, {meta['nproc']} × {meta['cpu']}, Linux {meta['kernel']}, load {' '.join(meta['loadavg'])}")
    print(results.table())
    print(f"\nwritten: {RESULTS}/latest.json, latest.md, restart_latency.png, spawn_scaling.png")
    shutil.rmtree(root, ignore_errors=True)


def _marker_copy(root):
    path = os.path.join(root, "sleep-inproc")
    shutil.copy2(shutil.which("sleep") or "/bin/sleep", path)
    return path


if __name__ == "__main__":
    main()
