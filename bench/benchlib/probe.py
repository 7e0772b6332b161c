"""Python side of the C probe (bench/c/probe.c): spawn-to-running and restart latency."""
import json
import os
import subprocess
import time

BIN = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), ".bin")


def tool(name):
    return os.path.join(BIN, name)


def spawn_to_running(ws, start, n, timeout_s):
    """Seconds from START() (which launches the tool) until N children run the marker.

    Returns (seconds or None on timeout, children seen, the started process)."""
    t0 = time.monotonic_ns()
    proc = start()
    out = subprocess.run([tool("probe"), "wait-running", ws.marker, str(n), str(int(timeout_s * 1000))],
                         capture_output=True, text=True)
    result = json.loads(out.stdout)
    if result["reached_ns"] is None:
        return None, result["count"], proc
    return (result["reached_ns"] - t0) / 1e9, result["count"], proc


def restart_latency(ws, k, budget_s, settle_ms):
    """Kill -9 the one child K times; returns the probe's JSON (samples_us, p50_us, p99_us)."""
    out = subprocess.run([tool("probe"), "restart", ws.marker, str(k), str(int(budget_s * 1000)), str(settle_ms)],
                         capture_output=True, text=True, timeout=budget_s + 60)
    return json.loads(out.stdout)


def wait_children(ws, n, timeout_s):
    out = subprocess.run([tool("probe"), "wait-running", ws.marker, str(n), str(int(timeout_s * 1000))],
                         capture_output=True, text=True)
    return json.loads(out.stdout)["count"] >= n
