"""The floor and the peers: how each one is configured to run N `sleep 3600` children.

Every tool gets the same workload: N copies of the workspace's marker sleep with argument 3600,
restarted at once when they die, no output capture. `start(ws, n)` writes the tool's config into
the workspace and launches it; the harness observes the result from outside with the probe.
"""
import os
import shutil
import subprocess

from . import probe

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV_BIN = os.path.join(HERE, ".venv", "bin")


class Tool:
    name = ""
    settle_ms = 0          # how long a child must have run before a kill restarts it at once
    restart_s = 0.0        # a restart's known built-in delay: such tools get fewer samples
    multi_process = False  # True when RSS/CPU sum several supervisor processes

    def available(self):
        """(True, "") or (False, why it is skipped)."""
        return True, ""

    def start(self, ws, n):
        raise NotImplementedError


class Floor(Tool):
    name = "floor"

    def start(self, ws, n):
        if n == 1:
            return ws.launch([probe.tool("floor_restart"), "--serve", ws.marker])
        return ws.launch([probe.tool("floor_spawn"), str(n), ws.marker], stdin=subprocess.PIPE)


class Supervisord(Tool):
    name = "supervisord"
    restart_s = 1.0  # the main loop notices a dead child on its next 1 s tick

    def available(self):
        exe = os.path.join(VENV_BIN, "supervisord")
        return (True, "") if os.access(exe, os.X_OK) else (False, "supervisord not installed in bench/.venv")

    def start(self, ws, n):
        conf = ws.path("supervisord.conf")
        with open(conf, "w") as f:
            f.write(f"""[supervisord]
nodaemon=true
logfile={ws.path('supervisord.log')}
pidfile={ws.path('supervisord.pid')}
childlogdir={ws.dir}
minfds=1024
minprocs=200

[program:bench]
command={ws.marker} 3600
numprocs={n}
process_name=%(program_name)s_%(process_num)05d
autostart=true
autorestart=true
startsecs=0
startretries=1000000
stopsignal=KILL
stdout_logfile=NONE
stderr_logfile=NONE
""")
        return ws.launch([os.path.join(VENV_BIN, "supervisord"), "-n", "-c", conf])


class Circus(Tool):
    name = "circus"
    restart_s = 5.0  # dead processes are reaped and replaced by the check_delay loop (default 5 s)

    def available(self):
        exe = os.path.join(VENV_BIN, "circusd")
        return (True, "") if os.access(exe, os.X_OK) else (False, "circus not installed in bench/.venv")

    def start(self, ws, n):
        conf = ws.path("circus.ini")
        with open(conf, "w") as f:
            f.write(f"""[circus]
endpoint = ipc://{ws.path('circus.sock')}
pubsub_endpoint = ipc://{ws.path('circus-pub.sock')}
stats_endpoint = ipc://{ws.path('circus-stats.sock')}
statsd = False

[watcher:bench]
cmd = {ws.marker}
args = 3600
numprocesses = {n}
respawn = True
check_flapping = False
warmup_delay = 0
copy_env = False
""")
        return ws.launch([os.path.join(VENV_BIN, "circusd"), conf])


def _service_dirs(ws, n):
    """N service directories each with `run`: the usual `#!/bin/sh` + exec wrapper."""
    scan = ws.path("scan")
    os.makedirs(scan)
    for i in range(n):
        svc = os.path.join(scan, f"svc{i:05d}")
        os.makedirs(svc)
        run = os.path.join(svc, "run")
        with open(run, "w") as f:
            f.write(f"#!/bin/sh\nexec {ws.marker} 3600\n")
        os.chmod(run, 0o755)
    return scan


class S6(Tool):
    name = "s6"
    settle_ms = 1050  # s6-supervise waits 1 s between two launches of ./run
    restart_s = 1.0   # observed: ~1 s per restart even after the child ran > 1 s
    multi_process = True

    def available(self):
        return (True, "") if shutil.which("s6-svscan") else (False, "s6-svscan not found (apt-get install s6)")

    def start(self, ws, n):
        scan = _service_dirs(ws, n)
        return ws.launch([shutil.which("s6-svscan"), "-c", str(max(n + 16, 64)), "-t", "0", scan])


class Runit(Tool):
    name = "runit"
    settle_ms = 1050  # runsv sleeps 1 s before restarting a service that ran less than 1 s
    restart_s = 0.01
    multi_process = True

    def available(self):
        return (True, "") if shutil.which("runsvdir") else (False, "runsvdir not found (apt-get install runit)")

    def start(self, ws, n):
        scan = _service_dirs(ws, n)
        return ws.launch([shutil.which("runsvdir"), scan])


PEERS = [Supervisord(), Circus(), S6(), Runit()]
