"""Runs a command on a pseudo-terminal, as a person at a terminal would (TerminalTests).

usage: pty_run.py CWD WAIT_FOR COUNT CTRL_C LIMIT -- ARGV...

Reads what the command prints until WAIT_FOR has appeared COUNT times (or LIMIT seconds
passed); then, when CTRL_C is 1, types Ctrl-C (the terminal sends SIGINT to the foreground
process group, as a keyboard would) and reads on until the command exits. A command still
running 30 s later is SIGKILLed by its process group (it is this script's child: pty.fork
makes it a session and group leader). Prints one JSON object: output, exited, status, signal.
"""
import json, os, pty, select, signal, sys, time

cwd, wait_for, count, ctrl_c, limit = sys.argv[1], sys.argv[2].encode(), int(sys.argv[3]), sys.argv[4] == "1", float(sys.argv[5])
argv = sys.argv[sys.argv.index("--") + 1:]
pid, fd = pty.fork()
if pid == 0:
    os.chdir(cwd)
    os.execvp(argv[0], argv)

out = b""
def read_some(timeout, idle=True):
    """False at the end of the output; on a timeout, `idle`."""
    global out
    r, _, _ = select.select([fd], [], [], timeout)
    if not r:
        return idle
    try:
        chunk = os.read(fd, 65536)
    except OSError:
        return False
    out += chunk
    return bool(chunk)

deadline = time.time() + limit
while out.count(wait_for) < count and time.time() < deadline:
    if not read_some(0.1):
        break
if ctrl_c:
    os.write(fd, b"\x03")
status = None
deadline = time.time() + 30
while time.time() < deadline:
    p, st = os.waitpid(pid, os.WNOHANG)
    if p:
        status = st
        break
    read_some(0.05)
if status is None:
    os.killpg(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
while read_some(0.1, idle=False):
    pass
print(json.dumps({
    "output": out.decode("utf-8", "replace"),
    "exited": os.WIFEXITED(status),
    "status": os.WEXITSTATUS(status) if os.WIFEXITED(status) else None,
    "signal": os.WTERMSIG(status) if os.WIFSIGNALED(status) else None,
}))
