"""Figures measured the same way for every tool: spawn-to-running, RSS, idle CPU, restart latency."""
import time

from . import probe
from .procs import CLK_TCK, Workspace
from .report import median


def idle_cpu_ms(ws, seconds):
    """CPU time (ms) the tool's own processes used over SECONDS while the children sleep."""
    pids = ws.supervisors()
    before = ws.supervisor_cpu_ticks(pids)
    time.sleep(seconds)
    return (ws.supervisor_cpu_ticks(pids) - before) * 1000.0 / CLK_TCK


def run_tool(tool, cfg, root, results, floors, plots):
    """Every common figure for TOOL. FLOORS maps ("spawn", n) / "restart_p50" / "restart_p99" to
    the floor's values; the floor itself fills them."""
    label = tool.name
    ok, why = tool.available()
    if not ok:
        print(f"bench: skipping {label}: {why}", flush=True)
        for n in cfg.spawn_ns:
            results.skip(f"{label} spawn {n} to running", "s", why, tool=label)
        results.skip(f"{label} restart p50", "ms", why, tool=label)
        return
    print(f"bench: {label}", flush=True)
    is_floor = label == "floor"
    for n in sorted(set(cfg.spawn_ns) | set(cfg.rss_ns if tool.name == "director" else [])):
        times, note = [], None
        reps = cfg.spawn_reps.get(n, 1) if n in cfg.spawn_ns else 1
        for rep in range(reps):
            ws = Workspace(root, f"{label}-{n}")
            try:
                secs, count, proc = probe.spawn_to_running(ws, lambda: tool.start(ws, n), n, cfg.spawn_timeout_s)
                if secs is None:
                    note = f"timeout after {cfg.spawn_timeout_s}s with {count}/{n} running"
                    if proc.poll() is not None:
                        note += f"; {label} exited with status {proc.returncode}"
                    break
                times.append(secs)
                if rep == reps - 1 and not is_floor:
                    time.sleep(cfg.settle_before_rss_s)
                    rss, pss, nproc = ws.supervisor_rss_kb()
                    how = (f"VmRSS summed over {nproc} processes (PSS sum {pss / 1024.0:.1f} MB)"
                           if nproc > 1 else f"PSS {pss / 1024.0:.1f} MB")
                    if n in cfg.rss_ns or tool.name != "director":
                        results.add(f"{label} RSS at {n}", "MB", rss / 1024.0, tool=label, note=how)
                    if n == cfg.idle_n and cfg.idle_s:
                        results.add(f"{label} idle CPU at {n}", f"ms/{cfg.idle_s}s",
                                    idle_cpu_ms(ws, cfg.idle_s), tool=label,
                                    note=f"summed over {nproc} processes" if nproc > 1 else None)
            finally:
                ws.cleanup(grace=0)
        if n not in cfg.spawn_ns:
            continue
        value = median(times)
        if value is not None:
            plots.spawn.setdefault(label, {})[n] = value
            if is_floor:
                floors[("spawn", n)] = value
        results.add(f"{label} spawn {n} to running", "s", value,
                    floor=None if is_floor else floors.get(("spawn", n)),
                    samples=[round(t, 4) for t in times], tool=label, note=note)

    ws = Workspace(root, f"{label}-restart")
    try:
        secs, count, proc = probe.spawn_to_running(ws, lambda: tool.start(ws, 1), 1, cfg.spawn_timeout_s)
        if secs is None:
            results.skip(f"{label} restart p50", "ms", "the single child never ran", tool=label)
            return
        k = cfg.restarts if not (tool.settle_ms or tool.restart_s) else cfg.restarts_slow
        budget = cfg.restart_budget_s + k * (tool.settle_ms / 1000.0 + tool.restart_s)
        out = probe.restart_latency(ws, k, budget, tool.settle_ms)
        if "error" in out or not out["count"]:
            results.skip(f"{label} restart p50", "ms", out.get("error", "no sample"), tool=label)
            return
        samples = out["samples_us"]
        plots.restart[label] = samples
        p50, p99 = out["p50_us"] / 1000.0, out["p99_us"] / 1000.0
        if is_floor:
            floors["restart_p50"], floors["restart_p99"] = p50, p99
        note = f"{out['timeouts']} restarts not seen within 10 s" if out["timeouts"] else None
        if tool.settle_ms:
            note = (note + "; " if note else "") + f"each child ran {tool.settle_ms} ms before the kill"
        results.add(f"{label} restart p50", "ms", p50, floor=None if is_floor else floors.get("restart_p50"),
                    samples=[round(s / 1000.0, 4) for s in samples], tool=label, note=note)
        results.add(f"{label} restart p99", "ms", p99, floor=None if is_floor else floors.get("restart_p99"),
                    tool=label)
    finally:
        ws.cleanup(grace=0)
