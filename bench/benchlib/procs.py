"""Workspaces and /proc reading: what a run started, what it costs, and how it is cleaned up.

Every measurement gets a Workspace: a fresh temp directory holding a private copy of sleep(1)
(the *marker*). A process belongs to the workspace when its exe is the marker (a child) or its
cwd lies inside the directory (a supervisor: every tool is launched with cwd there, and s6/runit
supervise processes run in their service directories). Cleanup kills exactly those pids, never
anything found by name.
"""
import ctypes
import os
import shutil
import signal
import subprocess
import tempfile
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")
SLEEP = shutil.which("sleep") or "/bin/sleep"


def become_subreaper():
    """Orphans of the tools we start are re-parented to us, so we can reap them."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
    except OSError:
        pass


def reap_orphans():
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _pids():
    for name in os.listdir("/proc"):
        if name.isdigit():
            yield int(name)


def _readlink(pid, what):
    try:
        return os.readlink(f"/proc/{pid}/{what}")
    except OSError:
        return None


def environ_of(pid):
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            raw = f.read()
    except OSError:
        return {}
    env = {}
    for item in raw.split(b"\0"):
        key, sep, value = item.partition(b"=")
        if sep:
            env[key.decode(errors="replace")] = value.decode(errors="replace")
    return env


def rss_kb(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def pss_kb(pid):
    """Proportional set size: shared pages divided among the processes sharing them."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def cpu_ticks(pid):
    """utime + stime of PID in clock ticks (0 when it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])
    except (OSError, IndexError, ValueError):
        return 0


class Workspace:
    """A temp directory, a marker copy of sleep, and every process started for one measurement."""

    def __init__(self, root, label):
        self.dir = tempfile.mkdtemp(prefix=f"{label}-", dir=root)
        self.marker = os.path.join(self.dir, "sleep")
        shutil.copy2(SLEEP, self.marker)
        self.launched = []

    def path(self, *parts):
        return os.path.join(self.dir, *parts)

    def launch(self, argv, log_name="tool.log", env=None, stdin=subprocess.DEVNULL):
        """Starts a tool in its own session with cwd inside the workspace."""
        log = open(self.path(log_name), "ab")
        proc = subprocess.Popen(argv, cwd=self.dir, stdin=stdin, stdout=log, stderr=log,
                                start_new_session=True, env=env)
        log.close()
        self.launched.append(proc)
        return proc

    def children(self):
        """Pids running the marker: the workload's children."""
        return [p for p in _pids() if _readlink(p, "exe") == self.marker]

    def supervisors(self):
        """Pids of the tool's own processes: cwd inside the workspace, not the marker."""
        found = []
        for p in _pids():
            cwd = _readlink(p, "cwd")
            if cwd and (cwd == self.dir or cwd.startswith(self.dir + "/")):
                if _readlink(p, "exe") != self.marker:
                    found.append(p)
        return found

    def members(self):
        out = []
        for p in _pids():
            exe, cwd = _readlink(p, "exe"), _readlink(p, "cwd")
            if exe == self.marker or (cwd and (cwd == self.dir or cwd.startswith(self.dir + "/"))):
                out.append(p)
        return out

    def supervisor_rss_kb(self):
        pids = self.supervisors()
        return sum(rss_kb(p) for p in pids), sum(pss_kb(p) for p in pids), len(pids)

    def supervisor_cpu_ticks(self, pids):
        return sum(cpu_ticks(p) for p in pids)

    def cleanup(self, grace=0.0):
        """Stops every launched tool (TERM, then KILL after GRACE s) and kills what is left."""
        for proc in self.launched:
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM if grace else signal.SIGKILL)
                except OSError:
                    pass
        deadline = time.monotonic() + grace
        for proc in self.launched:
            try:
                proc.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
        for _ in range(20):  # bounded: a supervisor may respawn between two passes
            left = [p for p in self.members() if p != os.getpid()]
            if not left:
                break
            for p in left:
                try:
                    os.kill(p, signal.SIGKILL)
                except OSError:
                    pass
            time.sleep(0.05)
            reap_orphans()
        for proc in self.launched:
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        reap_orphans()
        remove_director_cgroups(self.dir)
        shutil.rmtree(self.dir, ignore_errors=True)


def remove_director_cgroups(workspace_dir):
    """Removes the (empty) cgroups of Director daemons whose state directory is inside the
    workspace: a daemon stopped with SIGKILL leaves them for the next daemon on that state
    directory, and a benchmark's state directory has none (layout: ChildCgroups.swift)."""
    try:
        mount = next(l.split(" - ")[0].split()[4] for l in open("/proc/self/mountinfo") if " - cgroup2 " in l)
        own = next(l[3:].strip() for l in open("/proc/self/cgroup") if l.startswith("0::"))
    except (OSError, StopIteration):
        return
    parent = mount if own == "/" else mount + own
    for root, dirs, _files in os.walk(workspace_dir):
        for d in dirs:
            state = os.path.realpath(os.path.join(root, d))
            h = 0xcbf29ce484222325
            for b in state.encode():
                h = ((h ^ b) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
            base = os.path.join(parent, "director-%x" % h)
            if not os.path.isdir(base):
                continue
            for name in os.listdir(base):
                if name.startswith("d-"):
                    try:
                        os.rmdir(os.path.join(base, name))
                    except OSError:
                        pass
            try:
                os.rmdir(base)
            except OSError:
                pass
