"""Results: the records of latest.json, the printed table and the plots."""
import json
import os
import statistics


class Results:
    def __init__(self):
        self.rows = []

    def add(self, name, unit, value, floor=None, samples=None, tool=None, note=None):
        """One figure. ratio = value / floor when both are known."""
        ratio = None
        if value is not None and floor:
            ratio = round(value / floor, 2)
        row = {"name": name, "tool": tool, "unit": unit,
               "value": None if value is None else round(value, 3),
               "floor": None if floor is None else round(floor, 3),
               "ratio": ratio, "samples": samples or []}
        if value is None:
            row["skipped"] = note or "skipped"
        elif note:
            row["note"] = note
        self.rows.append(row)
        print(f"  {name:<44} {_fmt(row['value']):>12} {unit:<8} {'' if ratio is None else f'{ratio}x floor'}"
              f"{'  (' + row['skipped'] + ')' if value is None else ''}", flush=True)
        return row

    def skip(self, name, unit, why, tool=None):
        return self.add(name, unit, None, tool=tool, note=why)

    def find(self, name):
        for row in self.rows:
            if row["name"] == name and row["value"] is not None:
                return row
        return None

    def write(self, path, meta):
        with open(path + ".tmp", "w") as f:
            json.dump(self.rows, f, indent=1)
            f.write("\n")
        os.replace(path + ".tmp", path)
        with open(os.path.join(os.path.dirname(path), "machine.json"), "w") as f:
            json.dump(meta, f, indent=1)
            f.write("\n")

    def table(self):
        header = ("figure", "value", "unit", "floor", "ratio", "n")
        lines = [header]
        for r in self.rows:
            lines.append((r["name"], _fmt(r["value"]) if r["value"] is not None else "skipped",
                          r["unit"], _fmt(r["floor"]), "" if r["ratio"] is None else f"{r['ratio']}x",
                          str(len(r["samples"])) if r["samples"] else ""))
        widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
        out = []
        for i, line in enumerate(lines):
            out.append("  ".join(cell.ljust(widths[j]) if j in (0, 2) else cell.rjust(widths[j])
                                 for j, cell in enumerate(line)).rstrip())
            if i == 0:
                out.append("  ".join("-" * w for w in widths))
        return "\n".join(out)

    def markdown(self):
        out = ["| figure | value | unit | floor | ratio | samples |", "|---|---:|---|---:|---:|---:|"]
        for r in self.rows:
            value = _fmt(r["value"]) if r["value"] is not None else f"skipped: {r['skipped']}"
            out.append(f"| {r['name']} | {value} | {r['unit']} | {_fmt(r['floor'])} | "
                       f"{'' if r['ratio'] is None else str(r['ratio']) + '×'} | {len(r['samples']) or ''} |")
        return "\n".join(out)


def _fmt(v):
    if v is None:
        return ""
    if abs(v) >= 100:
        return f"{v:.0f}"
    if abs(v) >= 1:
        return f"{v:.2f}"
    return f"{v:.3g}"


def median(xs):
    return statistics.median(xs) if xs else None


def plot(results, out_dir, restart_samples, spawn_points):
    """restart_samples: {tool: [µs]}; spawn_points: {tool: {n: seconds}}. Returns written paths."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("bench: matplotlib missing, no plots")
        return []
    written = []
    if restart_samples:
        fig, ax = plt.subplots(figsize=(8, 4.5))
        names = [t for t in restart_samples if restart_samples[t]]
        data = [[s / 1000.0 for s in restart_samples[t]] for t in names]
        ax.boxplot(data, vert=False, whis=(1, 99), showfliers=True)
        ax.set_yticks(range(1, len(names) + 1), names)
        ax.set_xscale("log")
        ax.set_xlabel("kill -9 → replacement running (ms, log scale); whiskers p1–p99")
        ax.set_title("Restart latency")
        fig.tight_layout()
        path = os.path.join(out_dir, "restart_latency.png")
        fig.savefig(path, dpi=110)
        plt.close(fig)
        written.append(path)
    if spawn_points:
        fig, ax = plt.subplots(figsize=(8, 4.5))
        for t, points in spawn_points.items():
            ns = sorted(points)
            if ns:
                ax.plot(ns, [points[n] for n in ns], marker="o", label=t)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("children")
        ax.set_ylabel("launch → all running (s, log scale)")
        ax.set_title("Spawn scaling")
        ax.legend()
        ax.grid(True, which="both", alpha=0.3)
        fig.tight_layout()
        path = os.path.join(out_dir, "spawn_scaling.png")
        fig.savefig(path, dpi=110)
        plt.close(fig)
        written.append(path)
    return written
