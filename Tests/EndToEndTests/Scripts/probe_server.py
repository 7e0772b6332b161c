#!/usr/bin/env python3
"""A small server for the readiness, health and watchdog tests (RunProbeTests).

Options (all optional, files relative to the working directory):
  --go FILE          become ready (notify/fd) or start listening only once FILE exists
  --listen PORT      listen on 127.0.0.1:PORT (after --go); with --http, answer HTTP
  --http             serve GET: the status is the content of --health FILE (default 200)
  --hang             accept connections and never answer nor close them
  --health FILE      file holding the HTTP status to answer (read at each request)
  --notify MESSAGE   send MESSAGE (\\n-separated KEY=VALUE) to $NOTIFY_SOCKET after --go
  --fd N             write a newline on fd N after --go (s6 readiness)
  --watchdog-until FILE  send WATCHDOG=1 every WATCHDOG_USEC/4 until FILE exists, then hang
  --env-out FILE     write pid, NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID as JSON to FILE
"""
import json, os, socket, sys, time, threading
from http.server import BaseHTTPRequestHandler, HTTPServer

args = sys.argv[1:]
def opt(name, default=None):
    return args[args.index(name) + 1] if name in args else default

def wait_for(path):
    while not os.path.exists(path):
        time.sleep(0.02)

def notify(message):
    address = os.environ["NOTIFY_SOCKET"]
    if address.startswith("@"):
        address = "\0" + address[1:]
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.sendto(message.encode(), address)
    s.close()

if opt("--env-out"):
    with open(opt("--env-out") + ".tmp", "w") as f:
        json.dump({"pid": os.getpid(), **{k: os.environ.get(k) for k in ["NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"]}}, f)
    os.rename(opt("--env-out") + ".tmp", opt("--env-out"))

if opt("--go"):
    wait_for(opt("--go"))

class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        status = 200
        if opt("--health") and os.path.exists(opt("--health")):
            with open(opt("--health")) as f:
                status = int(f.read().strip() or "200")
        self.send_response(status)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")
    def log_message(self, *a):
        pass

if opt("--listen"):
    port = int(opt("--listen"))
    if "--http" in args:
        HTTPServer.allow_reuse_address = True
        server = HTTPServer(("127.0.0.1", port), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
    else:
        held = []
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", port))
        listener.listen(16)
        def accept():
            while True:
                c, _ = listener.accept()
                if "--hang" in args:
                    held.append(c)
                else:
                    c.close()
        threading.Thread(target=accept, daemon=True).start()

if opt("--fd"):
    os.write(int(opt("--fd")), b"\n")
if opt("--notify"):
    notify(opt("--notify").replace("\\n", "\n"))

if opt("--watchdog-until"):
    interval = int(os.environ["WATCHDOG_USEC"]) / 1e6 / 4
    while not os.path.exists(opt("--watchdog-until")):
        notify("WATCHDOG=1")
        time.sleep(interval)

while True:
    time.sleep(3600)
