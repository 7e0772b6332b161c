#!/usr/bin/env python3
"""A small service for the examples that tells Director when it is ready (sd_notify).

It sends STATUS= while warming up and READY=1 once done, on the datagram socket named by
$NOTIFY_SOCKET (an `@` name is abstract), as sd_notify(3) would; then it answers
GET /healthz on 127.0.0.1:PORT (the first argument, default 8089) for the health check, and
sends WATCHDOG=1 at a quarter of $WATCHDOG_USEC while it is alive."""
import os
import signal
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer


def notify(message: str) -> None:
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return
    if address.startswith("@"):
        address = "\0" + address[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
        s.sendto(message.encode(), address)


class Health(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200 if self.path == "/healthz" else 404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
notify("STATUS=warming up")
port = int(sys.argv[1]) if len(sys.argv) > 1 else 8089
server = HTTPServer(("127.0.0.1", port), Health)
threading.Thread(target=server.serve_forever, daemon=True).start()
time.sleep(1)
notify("STATUS=serving\nREADY=1")
print("service ready", flush=True)
beat = int(os.environ.get("WATCHDOG_USEC", "20000000")) / 4e6
while True:
    notify("WATCHDOG=1")
    time.sleep(beat)
